import type { OperatorFunction, Subscriber } from 'rxjs';
import { IncompleteFrameError } from '../errors.js';
import { FrameDecoder, framing, type FramingOptions } from './frame-decoder.js';

/**
 * Splits a byte stream into frames of exactly `length` bytes (Netty's
 * `FixedLengthFrameDecoder`), however the input was split into reads.
 *
 * Input that ends in the middle of a frame errors the stream with an
 * {@link IncompleteFrameError} (`ERR incomplete frame`) once every complete
 * frame has been delivered. Every frame is the pipeline's to keep unless
 * `borrowed` is set (see {@link FramingOptions}).
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs';
 * import { fixedLength, serve } from 'tcp-rx';
 *
 * // 8-byte records, each answered with its bytes reversed.
 * const reverse = pipe(fixedLength(8), map((record) => Buffer.from(record).reverse()));
 * await serve({ port: 7000 }, reverse);
 * ```
 */
export function fixedLength(length: number, options: FramingOptions = {}): OperatorFunction<Buffer, Buffer> {
  if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`fixedLength: the length must be a whole number of bytes, at least 1, not ${length}`);
  return framing((out) => new FixedLengthDecoder(out, options, length));
}

class FixedLengthDecoder extends FrameDecoder<Buffer> {
  readonly #length: number;

  constructor(out: Subscriber<Buffer>, options: FramingOptions, length: number) {
    super(out, options, true);
    this.#length = length;
  }

  protected scan(chunk: Buffer, from: number, held: number): number {
    const end = from + this.#length - held;
    return end <= chunk.length ? end : -1;
  }

  protected frame(source: Buffer, start: number, end: number): Buffer {
    return this.view(source, start, end);
  }

  protected incomplete(): IncompleteFrameError {
    return new IncompleteFrameError('ERR incomplete frame\n');
  }
}
