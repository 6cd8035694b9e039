import type { OperatorFunction, Subscriber, Unsubscribable } from 'rxjs';
import { isBorrowed } from '../borrowed-memory.js';
import { bufferView } from '../buffer-view.js';
import { connectionContext, type ConnectionContext } from '../connection-context.js';
import { FrameTooLongError, IncompleteFrameError } from '../errors.js';
import { defaultBufferPool, type BufferPool } from './buffer-pool.js';
import { FrameAccumulator } from './frame-accumulator.js';
import { framing, type ChunkDecoder } from './frame-decoder.js';

const LF = 0x0a;
const CR = 0x0d;

/** Options of {@link lines}. */
export interface LinesOptions {
  /** Longest line accepted, in bytes, not counting `\r\n`. Default 64 KiB. */
  maxLength?: number;
  /** Where partial lines are kept between reads. Default: the process-wide pool of 4 KiB blocks. */
  pool?: BufferPool;
  /**
   * Emit *borrowed* frames: views of memory that the next read overwrites,
   * valid only while the `next` call that delivers them runs. Saves a copy
   * per read, and is safe only for a pipeline that consumes each frame
   * synchronously (a `map` that decodes or answers it there, as the
   * reference echo does); a frame that reaches a `delay`, a `concatMap`, a
   * buffer or a promise would show another connection's bytes. A borrowed
   * frame replied as it is, is copied by the writer. Default `false`: every
   * frame is the pipeline's to keep.
   */
  borrowed?: boolean;
}

/**
 * Splits a byte stream into lines: the framing of the reference protocol.
 *
 * Each `\n` ends a frame and a `\r` before it is dropped. Input that ends in
 * the middle of a line errors the stream with an {@link IncompleteFrameError}
 * (`ERR incomplete line`) after every complete line has been delivered, so
 * a request is never silently dropped. The lines of one read are copied
 * out of the read buffer at once and delivered as views of that copy; the
 * unfinished tail of a chunk waits in pooled blocks until its `\n` arrives.
 * Every frame is the pipeline's to keep, through any asynchronous step;
 * `borrowed: true` skips the copy for pipelines that consume each frame
 * synchronously (see {@link LinesOptions.borrowed}).
 *
 * It keeps the framing contract of {@link ConnectionContext}: it stops
 * between two lines when the connection is full, so that a read full of
 * requests never makes more replies than the connection has room for.
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
export function lines({ maxLength = 64 * 1024, pool = defaultBufferPool, borrowed = false }: LinesOptions = {}): OperatorFunction<Buffer, Buffer> {
  return framing((subscriber) => new LineSplitter(subscriber, maxLength, new FrameAccumulator(pool), connectionContext(), borrowed));
}

/** One subscription's state: observes chunks, emits lines (a class, not closures: it exists per connection). */
class LineSplitter implements ChunkDecoder {
  /** The subscription to the chunks. */
  source: Unsubscribable | undefined;
  readonly #lines: Subscriber<Buffer>;
  readonly #maxLength: number;
  readonly #partial: FrameAccumulator;
  readonly #context: ConnectionContext | undefined;
  readonly #borrowed: boolean;

  constructor(lines: Subscriber<Buffer>, maxLength: number, partial: FrameAccumulator, context: ConnectionContext | undefined, borrowed: boolean) {
    this.#lines = lines;
    this.#maxLength = maxLength;
    this.#partial = partial;
    this.#context = context;
    this.#borrowed = borrowed;
  }

  next(chunk: Buffer): void {
    const partial = this.#partial;
    const context = this.#context;
    const owned = !this.#borrowed;
    let memory = chunk.buffer; // read once: TypedArray accessors are builtin calls
    let base = chunk.byteOffset;
    let start = 0;
    let frames = 0;
    const size = chunk.length;
    let newline = nextLF(chunk, 0, size);
    if (newline !== -1 && owned && isBorrowed(chunk)) {
      // The frames must outlive this call: one copy of the part of the chunk that holds whole lines.
      const copy = Buffer.allocUnsafe(chunk.lastIndexOf(LF) + 1);
      chunk.copy(copy, 0, 0, copy.length);
      memory = copy.buffer;
      base = copy.byteOffset;
    }
    for (; newline !== -1; newline = nextLF(chunk, start, size)) {
      const held = partial.length;
      const frame =
        held === 0
          ? bufferView(memory, base + start, (newline > start && chunk[newline - 1] === CR ? newline - 1 : newline) - start)
          : withoutCR(partial.complete(chunk, start, newline, owned));
      if (frame.length > this.#maxLength) return this.#tooLong(frames);
      frames++;
      this.#lines.next(frame);
      if (held > 0) partial.release();
      start = newline + 1;
      if (this.#lines.closed) return context?.decoded(frames, false);
      // The connection is full: the rest of the chunk waits with it.
      if (context !== undefined && context.full(frames)) return context.decoded(frames, false, start);
    }
    // maxLength + 1: the held tail may end with the `\r` of a line of exactly maxLength.
    if (partial.length + size - start > this.#maxLength + 1) return this.#tooLong(frames);
    partial.append(chunk, start, size);
    context?.decoded(frames, partial.length > 0);
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

/** Up to this many bytes from where a search starts, {@link nextLF} looks itself. */
const SCANNED_INLINE = 64;

/**
 * Index of the first `\n` in `chunk[from, size)`, or -1. A request line is
 * short, so the first bytes are looked at here: `Buffer#indexOf` is a call
 * into C++ of ~220 instructions on Node 20 (callgrind), several times the
 * scan of a short line. Past them, memchr (through it) takes a long line.
 */
function nextLF(chunk: Buffer, from: number, size: number): number {
  const near = Math.min(size, from + SCANNED_INLINE);
  for (let index = from; index < near; index++) if (chunk[index] === LF) return index;
  return near === size ? -1 : chunk.indexOf(LF, near);
}

function withoutCR(frame: Buffer): Buffer {
  return frame.length > 0 && frame[frame.length - 1] === CR ? frame.subarray(0, frame.length - 1) : frame;
}
