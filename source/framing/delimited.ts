import type { OperatorFunction, Subscriber } from 'rxjs';
import { FrameTooLongError, IncompleteFrameError } from '../errors.js';
import { FrameDecoder, framing, type FramingOptions } from './frame-decoder.js';

/** Options of {@link delimited}. */
export interface DelimitedOptions extends FramingOptions {
  /** Longest frame accepted, in bytes, not counting its delimiter. Default 64 KiB. */
  maxLength?: number;
  /** Leave the delimiter out of each frame. Default `true`. */
  stripDelimiter?: boolean;
}

/**
 * Splits a byte stream at delimiters: NUL-terminated messages, `\r\n`, or
 * any other byte sequences (Netty's `DelimiterBasedFrameDecoder`).
 *
 * A frame ends at the first delimiter found; of several delimiters that end
 * at the same byte, the longest is taken, so the shortest match wins (given
 * `\r\n` and `\n`, `a\r\n` is the frame `a`, and `a\nb\r\n` the frames `a`
 * and `b`). The outcome never depends on how the input was split into reads.
 * Each read is scanned once: a delimiter that straddles two reads is found
 * without going back over what was held.
 *
 * A frame longer than `maxLength` errors the stream with a
 * {@link FrameTooLongError} (`ERR frame too long`) as soon as that is known,
 * without buffering the rest of it; input that ends in the middle of a frame
 * errors it with an {@link IncompleteFrameError} (`ERR incomplete frame`)
 * once every complete frame has been delivered. Every frame is the
 * pipeline's to keep unless `borrowed` is set (see {@link FramingOptions}).
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs';
 * import { delimited, serve } from 'tcp-rx';
 *
 * // NUL-terminated messages, each answered with its length.
 * const lengths = pipe(delimited('\0', { maxLength: 4096 }), map((frame) => `${frame.length}\0`));
 * await serve({ port: 7000 }, lengths);
 * ```
 */
export function delimited(
  delimiters: string | Uint8Array | ReadonlyArray<string | Uint8Array>,
  { maxLength = 64 * 1024, stripDelimiter = true, ...options }: DelimitedOptions = {},
): OperatorFunction<Buffer, Buffer> {
  const list = (typeof delimiters === 'string' || delimiters instanceof Uint8Array ? [delimiters] : [...delimiters]).map((delimiter) =>
    Buffer.from(delimiter),
  );
  if (list.length === 0 || list.some((delimiter) => delimiter.length === 0)) throw new RangeError('delimited: give at least one delimiter, none empty');
  if (!(maxLength >= 0)) throw new RangeError(`delimited: maxLength must be a length in bytes, not ${maxLength}`);
  // Longest first: at a tie (the same end), the first found is the longest, so the frame is the shortest.
  list.sort((a, b) => b.length - a.length);
  return framing((out) => new DelimiterDecoder(out, options, list, maxLength, stripDelimiter));
}

class DelimiterDecoder extends FrameDecoder<Buffer> {
  readonly #delimiters: Buffer[];
  readonly #longest: number;
  readonly #maxLength: number;
  readonly #strip: boolean;
  /**
   * Per delimiter, where its next occurrence in the current chunk starts
   * (-1: none in the rest of the chunk), so that a delimiter that is absent
   * is searched for once per chunk, not once per frame.
   */
  readonly #next: number[];
  /** How long the delimiter that ended the latest frame was. */
  #found = 0;

  constructor(out: Subscriber<Buffer>, options: FramingOptions, delimiters: Buffer[], maxLength: number, strip: boolean) {
    super(out, options, true);
    this.#delimiters = delimiters;
    this.#longest = delimiters[0]!.length;
    this.#maxLength = maxLength;
    this.#strip = strip;
    this.#next = delimiters.map(() => -1);
  }

  protected scan(chunk: Buffer, from: number, held: number): number {
    const delimiters = this.#delimiters;
    const next = this.#next;
    let end = -1;
    // A delimiter that begins in the held bytes and ends in this chunk (first call of a chunk only: from is 0).
    if (held > 0 && this.#longest > 1) end = this.#straddling(chunk, held);
    for (let i = 0; i < delimiters.length; i++) {
      const delimiter = delimiters[i]!;
      let at = next[i]!;
      // Search again unless the known next occurrence is still ahead (-1 holds for the rest of the chunk, except on a new one).
      if (from === 0 || (at !== -1 && at < from)) next[i] = at = chunk.indexOf(delimiter, from);
      if (at !== -1 && (end === -1 || at + delimiter.length < end)) {
        end = at + delimiter.length;
        this.#found = delimiter.length;
      }
    }
    const length = end === -1 ? held + chunk.length - from : held + end - this.#found - from;
    // Unfinished, the frame may end with all but the last byte of a delimiter.
    if (length > this.#maxLength + (end === -1 ? this.#longest - 1 : 0)) throw new FrameTooLongError(this.#maxLength, 'ERR frame too long\n');
    return end;
  }

  protected frame(source: Buffer, start: number, end: number): Buffer {
    return this.view(source, start, this.#strip ? end - this.#found : end);
  }

  protected incomplete(): IncompleteFrameError {
    return new IncompleteFrameError('ERR incomplete frame\n');
  }

  /** The earliest end in `chunk` of a delimiter that begins in the `held` bytes (the longest, at a tie), or -1. */
  #straddling(chunk: Buffer, held: number): number {
    for (let end = 1; end < this.#longest && end <= chunk.length; end++) {
      for (const delimiter of this.#delimiters) {
        const length = delimiter.length;
        const inHeld = length - end; // how many of its bytes would be held
        if (inHeld <= 0 || inHeld > held) continue;
        let index = 0;
        while (index < inHeld && delimiter[index] === this.heldByte(held - inHeld + index)) index++;
        if (index < inHeld) continue;
        while (index < length && delimiter[index] === chunk[index - inHeld]) index++;
        if (index === length) {
          this.#found = length;
          return end;
        }
      }
    }
    return -1;
  }
}
