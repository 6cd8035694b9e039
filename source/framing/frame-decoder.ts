import { Observable, type Observer, type OperatorFunction, type Subscriber, type Unsubscribable } from 'rxjs';
import { isBorrowed } from '../borrowed-memory.js';
import { bufferView } from '../buffer-view.js';
import { connectionContext, type ConnectionContext } from '../connection-context.js';
import type { ProtocolError } from '../errors.js';
import { defaultBufferPool, type BufferPool } from './buffer-pool.js';
import { FrameAccumulator } from './frame-accumulator.js';

/** Options every framing operator built on {@link FrameDecoder} takes. */
export interface FramingOptions {
  /** Where partial frames are kept between reads. Default: the process-wide pool of 4 KiB blocks. */
  pool?: BufferPool;
  /**
   * Emit *borrowed* frames: views of memory that the next read overwrites,
   * valid only while the `next` call that delivers them runs. Saves a copy
   * per read, and is safe only for a pipeline that consumes each frame
   * synchronously. Default `false`: every frame is the pipeline's to keep.
   */
  borrowed?: boolean;
}

/** What {@link FrameDecoder.frame} returns for a frame that carries no request (an empty RESP command): nothing is emitted. */
export const SKIP: unique symbol = Symbol('skip');

/**
 * The machinery every framing operator shares, so that a codec holds only
 * its own parsing: taking the chunks (lent straight from the connection, or
 * subscribed), handing out owned or borrowed frames, carrying the unfinished
 * frame between reads in pooled blocks, stopping at a frame boundary when
 * the connection is full, reporting each chunk through `decoded`, and giving
 * the blocks back on completion, error and teardown. It keeps the framing
 * contract of {@link ConnectionContext}.
 *
 * A codec implements two steps. {@link scan} finds where the frame in
 * progress ends, keeping whatever small state it needs between reads (a
 * length read from a header, how far a delimiter search has got), so no
 * byte is scanned twice; it throws a {@link ProtocolError} for bad input or
 * a frame past its limit, as soon as that is known. {@link frame} turns the
 * frame's bytes, contiguous, into what is emitted.
 *
 * A frame inside one chunk is a view of it (of one copy of the chunk's
 * frames, when the chunk is borrowed and frames are owned); only a frame
 * that spans reads is assembled from the pooled blocks.
 */
export abstract class FrameDecoder<T> implements ChunkDecoder {
  /** The subscription to the chunks. */
  source: Unsubscribable | undefined;
  readonly #out: Subscriber<T>;
  readonly #partial: FrameAccumulator;
  readonly #context: ConnectionContext | undefined;
  /** Frames are views of the bytes they came from and must outlive the call: copy lent bytes. */
  readonly #copies: boolean;

  /**
   * `views`: whether what {@link frame} returns shares the bytes it is given
   * (a `Buffer` view does; decoded strings do not, and need no copy).
   */
  constructor(out: Subscriber<T>, { pool = defaultBufferPool, borrowed = false }: FramingOptions, views: boolean) {
    this.#out = out;
    this.#partial = new FrameAccumulator(pool);
    this.#context = connectionContext();
    this.#copies = views && !borrowed;
  }

  /**
   * Where the frame in progress ends: the index in `chunk` just past its
   * last byte, or -1 if it goes on past the chunk. The frame began `held`
   * bytes before `chunk[from]` (they are held, see {@link heldByte}); its
   * bytes from `chunk[from]` on have not been scanned before. A chunk's first
   * call has `from` 0, every later call a larger `from`. On returning an end,
   * the codec is ready for the next frame.
   */
  protected abstract scan(chunk: Buffer, from: number, held: number): number;

  /**
   * What to emit for the frame that lies in `source[start, end)`, contiguous.
   * `source` is the chunk, a copy of it (frames owned), or the frame
   * assembled from the pooled blocks (then valid during this call only unless
   * frames are owned); see {@link view}.
   */
  protected abstract frame(source: Buffer, start: number, end: number): T | typeof SKIP;

  /** The error for input that ends in the middle of a frame. */
  protected abstract incomplete(): ProtocolError;

  /**
   * The codec is skipping the bytes of a frame it has refused (a length
   * field's `failFast: false`): they are neither held nor emitted.
   */
  protected get discarding(): boolean {
    return false;
  }

  /** A Buffer over `source[start, end)`, sharing its memory. */
  protected view(source: Buffer, start: number, end: number): Buffer {
    return bufferView(source.buffer, source.byteOffset + start, end - start);
  }

  /** Byte `index` of the frame in progress, `index` < the `held` given to {@link scan}. */
  protected heldByte(index: number): number {
    return this.#partial.at(index);
  }

  next(chunk: Buffer): void {
    const out = this.#out;
    if (out.closed) return; // a synchronous source may go on after its subscriber left
    const partial = this.#partial;
    const context = this.#context;
    const copies = this.#copies;
    let source: Buffer | undefined; // where the chunk's frames are read, once one is found
    let shift = 0; // source[i + shift] is chunk[i]
    let start = 0;
    let frames = 0;
    try {
      for (;;) {
        const held = partial.length;
        const end = this.scan(chunk, start, held);
        if (end < 0) break;
        let value: T | typeof SKIP;
        if (held > 0) {
          const whole = partial.complete(chunk, start, end, copies);
          value = this.frame(whole, 0, whole.length);
        } else {
          if (source === undefined) {
            if (copies && isBorrowed(chunk)) {
              // The frames must outlive this call: one copy of the rest of the chunk serves them all.
              source = Buffer.allocUnsafe(chunk.length - start);
              chunk.copy(source, 0, start);
              shift = -start;
            } else {
              source = chunk;
            }
          }
          value = this.frame(source, start + shift, end + shift);
        }
        start = end;
        if (value === SKIP) {
          partial.release();
          continue;
        }
        frames++;
        out.next(value);
        partial.release(); // after next: a borrowed frame may be a view of the blocks
        if (out.closed) return context?.decoded(frames, false);
        // The connection is full: the rest of the chunk waits with it.
        if (context !== undefined && context.full(frames)) return context.decoded(frames, false, start);
      }
      if (this.discarding) partial.release();
      else partial.append(chunk, start, chunk.length);
      context?.decoded(frames, partial.length > 0 || this.discarding);
    } catch (error) {
      context?.decoded(frames, false);
      this.#fail(error);
    }
  }

  error(error: unknown): void {
    this.#fail(error);
  }

  complete(): void {
    if (this.#partial.length > 0 || this.discarding) this.#fail(this.incomplete());
    else this.#out.complete();
  }

  /** The subscriber to the frames is gone: stop taking chunks, give the blocks back. */
  unsubscribe(): void {
    this.source?.unsubscribe();
    this.#partial.release();
  }

  #fail(error: unknown): void {
    this.#partial.release();
    this.#out.error(error);
  }
}

/** What {@link framing} subscribes to the chunks: a decoder that keeps the framing contract. */
export interface ChunkDecoder extends Observer<Buffer>, Unsubscribable {
  /** The subscription to the chunks, set by {@link framing}. */
  source: Unsubscribable | undefined;
}

/**
 * The operator for a framing (every codec, and `lines`): each subscription
 * creates its decoder, which takes the chunks borrowed when it is applied
 * straight to a connection's.
 */
export function framing<T>(create: (out: Subscriber<T>) => ChunkDecoder): OperatorFunction<Buffer, T> {
  return (source) =>
    new Observable<T>((out) => {
      const decoder = create(out);
      const context = connectionContext();
      decoder.source = context !== undefined && source === context.chunks ? context.lend(decoder) : source.subscribe(decoder);
      return decoder;
    });
}
