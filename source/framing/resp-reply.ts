import { allocateReply } from '../server/reply-memory.js';

/**
 * A value {@link respReply.array} encodes: a string or bytes as a bulk
 * string, a number or bigint as an integer, `null` as the null bulk string,
 * an array as a nested array.
 */
export type RespValue = string | Uint8Array | number | bigint | null | readonly RespValue[];

const CR = 0x0d;
const LF = 0x0a;

/**
 * Encoders of RESP2 replies, the replies of {@link resp}'s commands. Each
 * returns a reply written into reply memory, so that the replies to one read
 * go out together as one write. Strings are written as UTF-8 unless an
 * encoding is given (`'latin1'` for the strings `resp({ encoding: 'latin1' })`
 * decoded, to send the same bytes back).
 *
 * A simple string or error holding `\r` or `\n`, or an integer that is not
 * one, throws a `TypeError`: it would break the framing of every reply after it.
 *
 * @example
 * ```ts
 * respReply.simple('OK');                 // +OK\r\n
 * respReply.error('ERR no such key');     // -ERR no such key\r\n
 * respReply.integer(42);                  // :42\r\n
 * respReply.bulk('héllo');                // $6\r\nhéllo\r\n
 * respReply.null();                       // $-1\r\n
 * respReply.array(['a', 1, null, ['b']]); // *4\r\n$1\r\na\r\n:1\r\n$-1\r\n*1\r\n$1\r\nb\r\n
 * ```
 */
export const respReply = {
  /** `+text\r\n`: a status such as `OK` or `PONG`. */
  simple(text: string): Buffer {
    // A status repeats (OK, PONG): its encoded bytes are kept, and copying them is most of what is left.
    let bytes = statuses.get(text);
    if (bytes === undefined) {
      bytes = line(0x2b /* + */, text, Buffer.allocUnsafe);
      if (statuses.size >= 64) statuses.clear();
      statuses.set(text, bytes);
    }
    const reply = allocateReply(bytes.length);
    reply.set(bytes);
    return reply;
  },
  /** `-message\r\n`: by convention the message begins with an error code, `ERR` or `WRONGTYPE`. */
  error(message: string): Buffer {
    return line(0x2d /* - */, message);
  },
  /** `:value\r\n`. */
  integer(value: number | bigint): Buffer {
    const reply = allocateReply(sizeOfInteger(value));
    writeInteger(reply, 0, value);
    return reply;
  },
  /** `$length\r\nbytes\r\n`, or for `null` the null bulk string `$-1\r\n`. */
  bulk(value: string | Uint8Array | null, encoding: BufferEncoding = 'utf8'): Buffer {
    if (value === null) return respReply.null();
    const length = typeof value === 'string' ? Buffer.byteLength(value, encoding) : value.length;
    const reply = allocateReply(sizeOfBulk(length));
    writeBulk(reply, 0, value, length, encoding);
    return reply;
  },
  /** `$-1\r\n`: the null bulk string, Redis's reply for a missing key. */
  null(): Buffer {
    const reply = allocateReply(5);
    reply.write('$-1\r\n', 0, 'latin1');
    return reply;
  },
  /** `*count\r\n` and each item (see {@link RespValue}); for `null` the null array `*-1\r\n`. */
  array(items: readonly RespValue[] | null, encoding: BufferEncoding = 'utf8'): Buffer {
    if (items === null) {
      const reply = allocateReply(5);
      reply.write('*-1\r\n', 0, 'latin1');
      return reply;
    }
    const reply = allocateReply(sizeOf(items, encoding));
    write(reply, 0, items, encoding);
    return reply;
  },
};

/** Simple strings encoded, by text; at most 64, forgotten all at once past that. */
const statuses = new Map<string, Buffer>();

function line(type: number, text: string, allocate = allocateReply): Buffer {
  if (text.includes('\r') || text.includes('\n')) throw new TypeError(`a RESP simple string or error cannot hold \\r or \\n: ${JSON.stringify(text)}`);
  const length = Buffer.byteLength(text);
  const reply = allocate(length + 3);
  reply[0] = type;
  reply.write(text, 1, 'utf8');
  reply[length + 1] = CR;
  reply[length + 2] = LF;
  return reply;
}

/** Decimal digits of a non-negative safe integer. */
function digits(value: number): number {
  let count = 1;
  while (value >= 10) {
    value = Math.floor(value / 10);
    count++;
  }
  return count;
}

/** Writes `prefix`, the non-negative `value`, `\r\n` at `offset`; returns the offset after them. */
function writeHeader(reply: Buffer, offset: number, prefix: number, value: number): number {
  reply[offset] = prefix;
  const end = offset + 1 + digits(value);
  for (let at = end - 1; at > offset; at--) {
    reply[at] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  reply[end] = CR;
  reply[end + 1] = LF;
  return end + 2;
}

const sizeOfBulk = (length: number): number => 1 + digits(length) + 2 + length + 2;

function writeBulk(reply: Buffer, offset: number, value: string | Uint8Array, length: number, encoding: BufferEncoding): number {
  offset = writeHeader(reply, offset, 0x24 /* $ */, length);
  if (typeof value === 'string') reply.write(value, offset, length, encoding);
  else reply.set(value, offset);
  offset += length;
  reply[offset] = CR;
  reply[offset + 1] = LF;
  return offset + 2;
}

function checkInteger(value: number | bigint): string {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new TypeError(`a RESP integer must be a safe integer, not ${value}`);
  return String(value);
}

const sizeOfInteger = (value: number | bigint): number => checkInteger(value).length + 3;

function writeInteger(reply: Buffer, offset: number, value: number | bigint): number {
  const text = checkInteger(value);
  reply[offset] = 0x3a; // :
  reply.write(text, offset + 1, 'latin1');
  offset += 1 + text.length;
  reply[offset] = CR;
  reply[offset + 1] = LF;
  return offset + 2;
}

function sizeOf(value: RespValue, encoding: BufferEncoding): number {
  if (value === null) return 5;
  if (typeof value === 'string') return sizeOfBulk(Buffer.byteLength(value, encoding));
  if (value instanceof Uint8Array) return sizeOfBulk(value.length);
  if (typeof value === 'number' || typeof value === 'bigint') return sizeOfInteger(value);
  let size = 1 + digits(value.length) + 2;
  for (const item of value) size += sizeOf(item, encoding);
  return size;
}

function write(reply: Buffer, offset: number, value: RespValue, encoding: BufferEncoding): number {
  if (value === null) return offset + reply.write('$-1\r\n', offset, 'latin1');
  if (typeof value === 'string') return writeBulk(reply, offset, value, Buffer.byteLength(value, encoding), encoding);
  if (value instanceof Uint8Array) return writeBulk(reply, offset, value, value.length, encoding);
  if (typeof value === 'number' || typeof value === 'bigint') return writeInteger(reply, offset, value);
  offset = writeHeader(reply, offset, 0x2a /* * */, value.length);
  for (const item of value) offset = write(reply, offset, item, encoding);
  return offset;
}
