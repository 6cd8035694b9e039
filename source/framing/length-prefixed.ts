import { map, type OperatorFunction } from 'rxjs';
import { allocateReply } from '../server/reply-memory.js';
import type { LengthFieldSize } from './length-field.js';

/** Options of {@link lengthPrefixed}. */
export interface LengthPrefixedOptions {
  /** Size of the length field in bytes. Default 4. */
  length?: LengthFieldSize;
  /** Default `'big'` (network order). */
  byteOrder?: 'big' | 'little';
  /** The length counts the field itself too. Default `false`: it counts the body only. */
  includeHeader?: boolean;
}

/**
 * Prefixes each reply with its length (Netty's `LengthFieldPrepender`): the
 * encoder that matches {@link lengthField}. Text is sent as UTF-8. Header and
 * body are written side by side into reply memory, so the replies to one
 * read still go out as one write.
 *
 * A reply too long for the field errors the stream with a `RangeError`
 * (the connection ends with `ERR internal`): that is the protocol's bug, not
 * the peer's.
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs';
 * import { lengthField, lengthPrefixed, serve } from 'tcp-rx';
 *
 * // Echo over 4-byte length-prefixed frames, the length counting itself.
 * const echo = pipe(
 *   lengthField({ length: 4, adjustment: -4, strip: 4 }),
 *   lengthPrefixed({ length: 4, includeHeader: true }),
 * );
 * await serve({ port: 7000 }, echo);
 * ```
 */
export function lengthPrefixed({ length = 4, byteOrder = 'big', includeHeader = false }: LengthPrefixedOptions = {}): OperatorFunction<string | Uint8Array, Buffer> {
  if (![1, 2, 3, 4, 8].includes(length)) throw new RangeError(`lengthPrefixed: length must be 1, 2, 3, 4 or 8 bytes, not ${length}`);
  const overhead = includeHeader ? length : 0;
  // An 8-byte field holds any length a Buffer can have.
  const largest = length === 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * length) - 1;
  const littleEndian = byteOrder === 'little';
  return map((body) => {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const value = size + overhead;
    if (value > largest) throw new RangeError(`lengthPrefixed: a reply of ${size} bytes does not fit a ${length}-byte length field`);
    const reply = allocateReply(length + size);
    let rest = value;
    for (let i = 0; i < length; i++) {
      reply[littleEndian ? i : length - 1 - i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    if (typeof body === 'string') reply.write(body, length, 'utf8');
    else reply.set(body, length);
    return reply;
  });
}
