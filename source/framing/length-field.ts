import type { OperatorFunction, Subscriber } from 'rxjs';
import { FrameTooLongError, IncompleteFrameError, MalformedFrameError } from '../errors.js';
import { FrameDecoder, framing, type FramingOptions } from './frame-decoder.js';

/** Sizes a length field may have, in bytes. */
export type LengthFieldSize = 1 | 2 | 3 | 4 | 8;

/** Options of {@link lengthField}: Netty's `LengthFieldBasedFrameDecoder`'s, under shorter names. */
export interface LengthFieldOptions extends FramingOptions {
  /** Where the length field begins in the frame (`lengthFieldOffset`). Default 0. */
  offset?: number;
  /** Size of the length field in bytes (`lengthFieldLength`); unsigned, except 8 bytes, which is signed. Default 4. */
  length?: LengthFieldSize;
  /**
   * Added to the field's value to get the length of what follows the field
   * (`lengthAdjustment`): -4 when a 4-byte field counts itself, say. Default 0.
   */
  adjustment?: number;
  /** Bytes cut from the start of each frame before it is emitted, the header usually (`initialBytesToStrip`). Default 0. */
  strip?: number;
  /** Default `'big'` (network order). */
  byteOrder?: 'big' | 'little';
  /** Longest frame accepted, header included, before `strip`. Default 64 KiB. */
  maxFrameLength?: number;
  /**
   * Refuse a frame as soon as its length field says it is too long (`true`,
   * the default), or only once all its bytes have arrived, skipping them
   * without holding any (`false`), so that the peer has finished sending it
   * when it reads the error.
   */
  failFast?: boolean;
}

/**
 * Splits a byte stream into frames whose length is given by a field in
 * their header, with the semantics of Netty's `LengthFieldBasedFrameDecoder`:
 * a frame is `offset + length + value + adjustment` bytes long, where
 * `value` is what the length field holds, and is emitted without its first
 * `strip` bytes.
 *
 * A length that makes a frame shorter than its header, or one that cannot
 * hold the bytes to strip, or a negative 8-byte field errors the stream
 * with a {@link MalformedFrameError} (`ERR malformed frame`); a frame longer
 * than `maxFrameLength` with a {@link FrameTooLongError} (`ERR frame too
 * long`) without buffering it (see `failFast`); input that ends in the middle
 * of a frame with an {@link IncompleteFrameError} once every complete frame
 * has been delivered. Every frame is the pipeline's to keep unless
 * `borrowed` is set (see {@link FramingOptions}). Pair it with
 * {@link lengthPrefixed} for the replies.
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs';
 * import { lengthField, lengthPrefixed, serve } from 'tcp-rx';
 *
 * // A 2-byte big-endian length, then the body: each body comes back upper-cased, framed the same way.
 * const upper = pipe(
 *   lengthField({ length: 2, strip: 2 }),
 *   map((body) => body.toString().toUpperCase()),
 *   lengthPrefixed({ length: 2 }),
 * );
 * await serve({ port: 7000 }, upper);
 * ```
 */
export function lengthField({
  offset = 0,
  length = 4,
  adjustment = 0,
  strip = 0,
  byteOrder = 'big',
  maxFrameLength = 64 * 1024,
  failFast = true,
  ...options
}: LengthFieldOptions = {}): OperatorFunction<Buffer, Buffer> {
  if (![1, 2, 3, 4, 8].includes(length)) throw new RangeError(`lengthField: length must be 1, 2, 3, 4 or 8 bytes, not ${length}`);
  for (const [name, value] of Object.entries({ offset, strip, maxFrameLength })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`lengthField: ${name} must be a whole number of bytes, not ${value}`);
  }
  if (!Number.isSafeInteger(adjustment)) throw new RangeError(`lengthField: adjustment must be a whole number, not ${adjustment}`);
  if (offset + length > maxFrameLength) throw new RangeError(`lengthField: the length field (ending at ${offset + length}) lies beyond maxFrameLength (${maxFrameLength})`);
  const layout: Layout = { offset, size: length, adjustment, strip, littleEndian: byteOrder === 'little', maxFrameLength, failFast };
  return framing((out) => new LengthFieldDecoder(out, options, layout));
}

interface Layout {
  readonly offset: number;
  readonly size: LengthFieldSize;
  readonly adjustment: number;
  readonly strip: number;
  readonly littleEndian: boolean;
  readonly maxFrameLength: number;
  readonly failFast: boolean;
}

class LengthFieldDecoder extends FrameDecoder<Buffer> {
  readonly #layout: Layout;
  /** Where the length field ends: the frame's length is known once this many bytes are. */
  readonly #headerLength: number;
  /** The frame in progress's length, -1 until its length field has arrived. */
  #frameLength = -1;
  /** Bytes of a refused frame still to skip (`failFast: false`). */
  #discard = 0;

  constructor(out: Subscriber<Buffer>, options: FramingOptions, layout: Layout) {
    super(out, options, true);
    this.#layout = layout;
    this.#headerLength = layout.offset + layout.size;
  }

  protected override get discarding(): boolean {
    return this.#discard > 0;
  }

  protected scan(chunk: Buffer, from: number, held: number): number {
    if (this.#discard > 0) return this.#skip(chunk, from);
    let frameLength = this.#frameLength;
    if (frameLength < 0) {
      if (held + chunk.length - from < this.#headerLength) return -1;
      frameLength = this.#lengthOf(chunk, from, held);
      if (this.#discard > 0) return this.#skip(chunk, from);
      this.#frameLength = frameLength;
    }
    const end = from + frameLength - held;
    if (end > chunk.length) return -1;
    this.#frameLength = -1;
    return end;
  }

  protected frame(source: Buffer, start: number, end: number): Buffer {
    return this.view(source, start + this.#layout.strip, end);
  }

  protected incomplete(): IncompleteFrameError {
    return new IncompleteFrameError('ERR incomplete frame\n');
  }

  /** The frame's length from its length field (which has arrived), checked. */
  #lengthOf(chunk: Buffer, from: number, held: number): number {
    const { offset, size, adjustment, strip, littleEndian, maxFrameLength, failFast } = this.#layout;
    let value = 0;
    for (let i = 0; i < size; i++) {
      const index = offset + (littleEndian ? size - 1 - i : i); // most significant byte first
      const byte = index < held ? this.heldByte(index) : chunk[from + index - held]!;
      if (i === 0 && size === 8 && byte >= 0x80) throw new MalformedFrameError('ERR malformed frame: negative length field\n');
      value = value * 256 + byte; // exact below 2^53; anything larger is refused as too long anyway
    }
    const frameLength = value + adjustment + this.#headerLength;
    if (frameLength < this.#headerLength) {
      throw new MalformedFrameError(`ERR malformed frame: length ${frameLength} is shorter than the header (${this.#headerLength})\n`);
    }
    if (frameLength > maxFrameLength) {
      if (failFast) throw this.#tooLong();
      // Skip it: what has arrived now, the rest as it comes.
      this.#discard = frameLength - held;
      return frameLength;
    }
    if (strip > frameLength) throw new MalformedFrameError(`ERR malformed frame: length ${frameLength} is shorter than the bytes to strip (${strip})\n`);
    return frameLength;
  }

  /** Skips the refused frame's bytes; refuses it once the last has arrived. */
  #skip(chunk: Buffer, from: number): number {
    const skipped = Math.min(this.#discard, chunk.length - from);
    this.#discard -= skipped;
    if (this.#discard === 0) throw this.#tooLong();
    return -1;
  }

  #tooLong(): FrameTooLongError {
    return new FrameTooLongError(this.#layout.maxFrameLength, 'ERR frame too long\n');
  }
}
