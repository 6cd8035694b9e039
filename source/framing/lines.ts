import { Observable, type Observer, type OperatorFunction, type Subscriber, type Unsubscribable } from 'rxjs';
import { bufferView } from '../buffer-view.js';
import { connectionContext, type ConnectionContext } from '../connection-context.js';
import { FrameTooLongError, IncompleteFrameError } from '../errors.js';
import { defaultBufferPool, type BufferPool } from './buffer-pool.js';
import { FrameAccumulator } from './frame-accumulator.js';

const LF = 0x0a;
const CR = 0x0d;

/** Options of {@link lines}. */
export interface LinesOptions {
  /** Longest line accepted, in bytes, not counting `\r\n`. Default 64 KiB. */
  maxLength?: number;
  /** Where partial lines are kept between reads. Default: the process-wide pool of 4 KiB blocks. */
  pool?: BufferPool;
}

/**
 * Splits a byte stream into lines: the framing of the reference protocol.
 *
 * Each `\n` ends a frame and a `\r` before it is dropped. Input that ends in
 * the middle of a line errors the stream with an {@link IncompleteFrameError}
 * (`ERR incomplete line`) after every complete line has been delivered, so
 * a request is never silently dropped. A line that lies inside
 * one chunk is delivered as a view of that chunk, without copying; the
 * unfinished tail of a chunk waits in pooled blocks until its `\n` arrives.
 *
 * Frames are **borrowed**: a frame is valid while the `next` call that
 * delivers it runs. Decode it there (as `frame.toString()` does), or keep a
 * copy (`Buffer.from(frame)`) if an asynchronous step needs the bytes later.
 *
 * A line longer than `maxLength` errors the stream with a
 * {@link FrameTooLongError} as soon as that is known (without buffering the
 * rest of it); the server answers `ERR line too long` and closes that
 * connection.
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs';
 * import { lines, serve } from 'tcp-rx';
 *
 * const upper = pipe(lines({ maxLength: 1024 }), map((line) => line.toString().toUpperCase() + '\n'));
 * await serve({ port: 7000 }, upper);
 * ```
 */
export function lines({ maxLength = 64 * 1024, pool = defaultBufferPool }: LinesOptions = {}): OperatorFunction<Buffer, Buffer> {
  return (source) =>
    new Observable<Buffer>((subscriber) => {
      const splitter = new LineSplitter(subscriber, maxLength, new FrameAccumulator(pool), connectionContext());
      splitter.source = source.subscribe(splitter);
      return splitter;
    });
}

/** One subscription's state: observes chunks, emits lines (a class, not closures: it exists per connection). */
class LineSplitter implements Observer<Buffer>, Unsubscribable {
  /** The subscription to the chunks. */
  source: Unsubscribable | undefined;
  readonly #lines: Subscriber<Buffer>;
  readonly #maxLength: number;
  readonly #partial: FrameAccumulator;
  readonly #context: ConnectionContext | undefined;

  constructor(lines: Subscriber<Buffer>, maxLength: number, partial: FrameAccumulator, context: ConnectionContext | undefined) {
    this.#lines = lines;
    this.#maxLength = maxLength;
    this.#partial = partial;
    this.#context = context;
  }

  next(chunk: Buffer): void {
    const partial = this.#partial;
    const memory = chunk.buffer; // read once: TypedArray accessors are builtin calls
    const base = chunk.byteOffset;
    let start = 0;
    let frames = 0;
    for (let newline = chunk.indexOf(LF); newline !== -1; newline = chunk.indexOf(LF, start)) {
      const held = partial.length;
      const frame =
        held === 0
          ? bufferView(memory, base + start, (newline > start && chunk[newline - 1] === CR ? newline - 1 : newline) - start)
          : withoutCR(partial.complete(chunk, start, newline));
      if (frame.length > this.#maxLength) return this.#tooLong(frames);
      frames++;
      this.#lines.next(frame);
      if (held > 0) partial.release();
      if (this.#lines.closed) return;
      start = newline + 1;
    }
    // maxLength + 1: the held tail may end with the `\r` of a line of exactly maxLength.
    if (partial.length + chunk.length - start > this.#maxLength + 1) return this.#tooLong(frames);
    partial.append(chunk, start, chunk.length);
    this.#context?.decoded(frames, partial.length > 0);
  }

  error(error: unknown): void {
    this.release();
    this.#lines.error(error);
  }

  complete(): void {
    if (this.#partial.length > 0) {
      this.release();
      this.#lines.error(new IncompleteFrameError());
    } else {
      this.#lines.complete();
    }
  }

  /** The subscriber to the lines is gone: stop taking chunks, give the blocks back. */
  unsubscribe(): void {
    this.source?.unsubscribe();
    this.release();
  }

  /** Gives the partial line's pooled blocks back. */
  release(): void {
    this.#partial.release();
  }

  #tooLong(frames: number): void {
    this.#context?.decoded(frames, false);
    this.release();
    this.#lines.error(new FrameTooLongError(this.#maxLength));
  }
}

function withoutCR(frame: Buffer): Buffer {
  return frame.length > 0 && frame[frame.length - 1] === CR ? frame.subarray(0, frame.length - 1) : frame;
}
