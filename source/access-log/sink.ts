/**
 * Where the access log's lines go, a batch at a time: a file (see
 * `FileSink`), a stream, or a function.
 */
export interface LineSink {
  /**
   * Writes `lines` (each without its line feed), then calls `done` once with
   * how many of them were wholly written and, if it stopped short, why.
   * The access log hands it one batch at a time: the next waits for `done`.
   */
  write(lines: readonly string[], done: (written: number, error?: unknown) => void): void;
  /** Opens its file again at the same path (after a rotation); resolves once new lines go there. */
  reopen(): Promise<void>;
  /** Lets go of what it holds (the file); a batch still being written is left to finish. */
  close(): void;
}

/** A stream of the user's: lines are written to it, and a batch is done when the stream says so. */
export class StreamSink implements LineSink {
  readonly #stream: NodeJS.WritableStream;

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
    // Its errors reach the write callbacks (and are counted there); unheard, an 'error' event would end the process.
    stream.on('error', ignore);
  }

  write(lines: readonly string[], done: (written: number, error?: unknown) => void): void {
    try {
      this.#stream.write(joinLines(lines), (error?: Error | null) => (error ? done(0, error) : done(lines.length)));
    } catch (error) {
      done(0, error);
    }
  }

  async reopen(): Promise<void> {}

  close(): void {
    this.#stream.off('error', ignore);
  }
}

/** A function of the user's, called once per line; a line it throws on is counted as dropped. */
export class FunctionSink implements LineSink {
  readonly #write: (line: string) => void;

  constructor(write: (line: string) => void) {
    this.#write = write;
  }

  write(lines: readonly string[], done: (written: number, error?: unknown) => void): void {
    let written = 0;
    let failure: unknown;
    for (const line of lines) {
      try {
        this.#write(line);
        written++;
      } catch (error) {
        failure ??= error;
      }
    }
    done(written, failure);
  }

  async reopen(): Promise<void> {}

  close(): void {}
}

/** The lines as the text of a file: each ends with a line feed. */
export function joinLines(lines: readonly string[]): string {
  return lines.join('\n') + '\n';
}

function ignore(): void {}
