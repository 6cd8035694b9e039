const LF = 0x0a;
const CR = 0x0d;

/**
 * Cuts a stream of chunks into lines for the client: each line is its own
 * buffer (not a view of a chunk), without its `\n` or a `\r` before it, so a
 * caller may keep it as long as it likes. The unfinished tail of a chunk is
 * carried to the next one.
 */
export class LineSplitter {
  #partial: Buffer | undefined;

  /** Calls `line` for each line completed by `chunk`, in order. */
  push(chunk: Buffer, line: (line: Buffer) => void): void {
    const data = this.#partial === undefined ? chunk : Buffer.concat([this.#partial, chunk]);
    this.#partial = undefined;
    let start = 0;
    for (let newline = data.indexOf(LF); newline !== -1; newline = data.indexOf(LF, start)) {
      const end = newline > start && data[newline - 1] === CR ? newline - 1 : newline;
      line(Buffer.from(data.subarray(start, end)));
      start = newline + 1;
    }
    if (start < data.length) this.#partial = Buffer.from(data.subarray(start));
  }
}
