import { close, open, write } from 'node:fs';
import { joinLines, type LineSink } from './sink.js';

/** A write the pipe or terminal could not take yet (a non-blocking descriptor) is tried again after this long (ms). */
const RETRY_DELAY = 50;

/**
 * Lines appended to a file, or to standard output, through the file
 * descriptor itself: `fs.write` runs on libuv's thread pool, so a slow disk
 * or a pipe nobody reads stalls that write, never the event loop (where
 * `process.stdout` writes to a file or a terminal synchronously). A write
 * the descriptor refuses for now (EAGAIN: a non-blocking pipe that is full)
 * is tried again shortly, while the access log counts what its buffer cannot
 * hold; a write that fails (ENOSPC) is reported to the log with how many
 * whole lines got out, and the next batch is tried afresh: a disk with room
 * again takes lines again.
 */
export class FileSink implements LineSink {
  /** The file by its path (opened again on {@link reopen}), or `undefined` for standard output. */
  readonly #path: string | undefined;
  #fd: number;
  /** The descriptor a batch is being written to, while one is. */
  #writing: number | undefined;
  #closed = false;

  private constructor(path: string | undefined, fd: number) {
    this.#path = path;
    this.#fd = fd;
  }

  /** Opens `path` for appending (created if missing), or takes standard output for `-`; rejects as `open` does (ENOENT, EACCES…). */
  static async open(path: string): Promise<FileSink> {
    return path === '-' ? new FileSink(undefined, 1) : new FileSink(path, await openForAppend(path));
  }

  write(lines: readonly string[], done: (written: number, error?: unknown) => void): void {
    const fd = this.#fd;
    const chunk = Buffer.from(joinLines(lines));
    let offset = 0;
    const finish = (error?: unknown): void => {
      this.#writing = undefined;
      if (fd !== this.#fd || this.#closed) this.#release(fd); // reopened or closed meanwhile: done with
      done(wholeLines(lines, offset), error);
    };
    const next = (): void => {
      if (this.#closed) return finish(new Error('the access log was closed before its lines could be written'));
      write(fd, chunk, offset, chunk.length - offset, null, (error, bytes) => {
        if (error?.code === 'EAGAIN') return void setTimeout(next, RETRY_DELAY);
        if (error) return finish(error);
        offset += bytes;
        if (offset < chunk.length) next();
        else finish();
      });
    };
    this.#writing = fd;
    next();
  }

  /**
   * Opens the path again, as logrotate expects after it renamed the file:
   * lines from now on go to the new file; a batch being written finishes in
   * the old one, which is then closed. Nothing is lost between the two. If
   * the path cannot be opened, rejects, and lines go on to the file in use.
   */
  async reopen(): Promise<void> {
    if (this.#path === undefined || this.#closed) return;
    const fd = await openForAppend(this.#path);
    if (this.#closed) return this.#release(fd);
    const old = this.#fd;
    this.#fd = fd;
    if (this.#writing !== old) this.#release(old);
  }

  /** Closes the file, or leaves it to the batch still being written (a write on the thread pool cannot be called back). */
  close(): void {
    this.#closed = true;
    if (this.#writing === undefined) this.#release(this.#fd);
  }

  /** Closes `fd`, unless it is standard output. */
  #release(fd: number): void {
    if (this.#path !== undefined) close(fd, ignore);
  }
}

function openForAppend(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'a', (error, fd) => (error ? reject(error) : resolve(fd))));
}

/** How many of `lines` lie wholly within the first `bytes` bytes of their file text. */
function wholeLines(lines: readonly string[], bytes: number): number {
  let count = 0;
  for (let end = 0; count < lines.length; count++) {
    end += Buffer.byteLength(lines[count]!) + 1;
    if (end > bytes) break;
  }
  return count;
}

function ignore(): void {}
