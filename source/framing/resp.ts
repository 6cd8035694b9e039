import type { OperatorFunction, Subscriber } from 'rxjs';
import { bufferView } from '../buffer-view.js';
import { FrameTooLongError, IncompleteFrameError, MalformedFrameError } from '../errors.js';
import { FrameDecoder, framing, SKIP, type FramingOptions } from './frame-decoder.js';

/** Options of {@link resp}. */
export interface RespOptions {
  /** Most arguments in a command, its name included. Default 65,536. */
  maxArrayLength?: number;
  /** Longest argument, in bytes. Default 1 MiB. */
  maxBulkLength?: number;
  /** Longest command, in bytes as sent. Default 4 MiB. */
  maxLength?: number;
  /** Longest inline command (a line of text, as from telnet), its line end included. Default 64 KiB. */
  maxInlineLength?: number;
  /**
   * Emit each argument as a string in this encoding instead of a `Buffer`.
   * `'latin1'` maps every byte to one character and back, so binary keys
   * and values survive (write them back with the same encoding).
   */
  encoding?: BufferEncoding;
  /** Where a command that spans reads is kept. Default: the process-wide pool of 4 KiB blocks. */
  pool?: FramingOptions['pool'];
}

/**
 * Decodes the requests of Redis's protocol, RESP2, into commands: each an
 * array of its arguments, the command's name first, as `Buffer`s (views of
 * one copy per read: the pipeline's to keep) or, with `encoding`, strings.
 *
 * It reads what Redis reads: arrays of bulk strings (`*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n`,
 * what every client library and `redis-cli` send) and inline commands
 * (`ECHO hi\r\n`, with Redis's quoting: `"a b\x41\n"`, `'it''s'`). Requests
 * are flat, as in Redis: an array inside a command, or any type but a bulk
 * string, is a protocol error. Empty commands (`*0`, an empty line) are
 * skipped without a reply, as Redis does.
 *
 * Bad input errors the stream with a {@link MalformedFrameError}, input past
 * a limit with a {@link FrameTooLongError} (refused as soon as the length
 * that breaks the limit arrives, never buffered), and input that ends in the
 * middle of a command with an {@link IncompleteFrameError}; their replies
 * are RESP errors in Redis's words (`-ERR Protocol error: invalid bulk
 * length`), sent before the connection closes. Each read is scanned once,
 * however many commands it holds or however many reads a command spans.
 *
 * Reply with the encoders of {@link respReply}. It keeps the framing
 * contract of `ConnectionContext` (one frame per command).
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs';
 * import { resp, respReply, serve } from 'tcp-rx';
 *
 * // Answers PING, and ECHO with its argument: `redis-cli -p 6380 ping` prints PONG.
 * const ping = pipe(
 *   resp({ encoding: 'utf8' }),
 *   map(([name = '', ...args]) =>
 *     name.toUpperCase() === 'PING' ? respReply.simple('PONG')
 *     : name.toUpperCase() === 'ECHO' && args.length === 1 ? respReply.bulk(args[0]!)
 *     : respReply.error(`ERR unknown command '${name}'`),
 *   ),
 * );
 * await serve({ port: 6380 }, ping);
 * ```
 */
export function resp(options: RespOptions & { encoding: BufferEncoding }): OperatorFunction<Buffer, string[]>;
export function resp(options?: RespOptions & { encoding?: undefined }): OperatorFunction<Buffer, Buffer[]>;
export function resp({
  maxArrayLength = 65_536,
  maxBulkLength = 1024 * 1024,
  maxLength = 4 * 1024 * 1024,
  maxInlineLength = 64 * 1024,
  encoding,
  pool,
}: RespOptions = {}): OperatorFunction<Buffer, string[] | Buffer[]> {
  for (const [name, value] of Object.entries({ maxArrayLength, maxBulkLength, maxLength, maxInlineLength })) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`resp: ${name} must be a whole number, at least 1, not ${value}`);
  }
  if (encoding !== undefined && !Buffer.isEncoding(encoding)) throw new RangeError(`resp: unknown encoding '${encoding}'`);
  const limits: Limits = { maxArrayLength, maxBulkLength, maxLength, maxInlineLength };
  // Each command is all strings or all Buffers, as `encoding` says: the overloads tell the caller which.
  return framing<Array<string | Buffer>>((out) => new RespDecoder(out, pool === undefined ? {} : { pool }, limits, encoding)) as OperatorFunction<Buffer, string[] | Buffer[]>;
}

interface Limits {
  readonly maxArrayLength: number;
  readonly maxBulkLength: number;
  readonly maxLength: number;
  readonly maxInlineLength: number;
}

// Where the scanner is in a command.
const START = 0; // its first byte: `*` begins an array, anything else an inline command
const INLINE = 1; // an inline command, up to its `\n`
const COUNT = 2; // the digits of `*<count>\r\n`
const COUNT_LF = 3;
const DOLLAR = 4; // the `$` of the next argument
const SIZE = 5; // the digits of `$<size>\r\n`
const SIZE_LF = 6;
const BODY = 7; // the argument's bytes
const BODY_CR = 8;
const BODY_LF = 9;

const CR = 0x0d;
const LF = 0x0a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
/** Digits past which a count or size cannot be under any limit (and would lose precision). */
const MAX_DIGITS = 15;

const protocolError = (message: string): string => `-ERR Protocol error: ${message}\r\n`;

class RespDecoder extends FrameDecoder<Array<string | Buffer>> {
  readonly #limits: Limits;
  readonly #encoding: BufferEncoding | undefined;
  #state = START;
  /** The number being read (a count or a size), its digit count, its sign. */
  #number = 0;
  #digits = 0;
  #negative = false;
  /** The command's argument count (0: an empty command, -1: an inline one), and how many have been read. */
  #count = 0;
  #read = 0;
  /** Bytes of the current argument still to come. */
  #remaining = 0;
  /** Where each argument of the command lies in it. Created with the first command: an idle connection holds none. */
  #starts: number[] | undefined;
  #lengths: number[] | undefined;

  constructor(out: Subscriber<Array<string | Buffer>>, options: FramingOptions, limits: Limits, encoding: BufferEncoding | undefined) {
    super(out, options, encoding === undefined);
    this.#limits = limits;
    this.#encoding = encoding;
  }

  protected scan(chunk: Buffer, from: number, held: number): number {
    const length = chunk.length;
    const shift = held - from; // chunk[i] is byte i + shift of the command
    let i = from;
    while (i < length) {
      switch (this.#state) {
        case START:
          if (chunk[i] === 0x2a /* * */) {
            this.#startNumber();
            this.#state = COUNT;
            i++;
          } else {
            this.#state = INLINE;
          }
          break;
        case INLINE: {
          const newline = chunk.indexOf(LF, i);
          const end = newline === -1 ? length : newline + 1;
          if (end + shift > this.#limits.maxInlineLength) throw new FrameTooLongError(this.#limits.maxInlineLength, protocolError('too big inline request'));
          if (newline === -1) return -1;
          this.#state = START;
          this.#count = -1;
          return end;
        }
        case COUNT:
        case SIZE: {
          const byte = chunk[i++]!;
          if (byte === CR) this.#state++;
          else if (!this.#digit(byte)) throw this.#badNumber();
          break;
        }
        case COUNT_LF: {
          if (chunk[i++] !== LF) throw this.#badNumber();
          const count = this.#endNumber();
          if (count > this.#limits.maxArrayLength) throw new FrameTooLongError(this.#limits.maxArrayLength, protocolError('invalid multibulk length'));
          this.#read = 0;
          if (count <= 0) {
            this.#count = 0;
            this.#state = START;
            return i; // empty: skipped
          }
          this.#count = count;
          this.#state = DOLLAR;
          break;
        }
        case DOLLAR: {
          const byte = chunk[i++]!;
          if (byte !== 0x24 /* $ */) throw new MalformedFrameError(protocolError(`expected '$', got '${String.fromCharCode(byte)}'`));
          this.#startNumber();
          this.#state = SIZE;
          break;
        }
        case SIZE_LF: {
          if (chunk[i++] !== LF) throw this.#badNumber();
          const size = this.#endNumber();
          if (size < 0) throw new MalformedFrameError(protocolError('invalid bulk length'));
          if (size > this.#limits.maxBulkLength) throw new FrameTooLongError(this.#limits.maxBulkLength, protocolError('invalid bulk length'));
          const start = i + shift;
          if (start + size + 2 > this.#limits.maxLength) throw new FrameTooLongError(this.#limits.maxLength, protocolError('too big request'));
          (this.#starts ??= [])[this.#read] = start;
          (this.#lengths ??= [])[this.#read] = size;
          this.#remaining = size;
          this.#state = BODY;
          break;
        }
        case BODY: {
          const taken = Math.min(this.#remaining, length - i);
          i += taken;
          this.#remaining -= taken;
          if (this.#remaining === 0) this.#state = BODY_CR;
          break;
        }
        case BODY_CR:
          if (chunk[i++] !== CR) throw new MalformedFrameError(protocolError('expected CRLF after a bulk string'));
          this.#state = BODY_LF;
          break;
        default: // BODY_LF
          if (chunk[i++] !== LF) throw new MalformedFrameError(protocolError('expected CRLF after a bulk string'));
          if (++this.#read === this.#count) {
            this.#state = START;
            return i;
          }
          this.#state = DOLLAR;
      }
    }
    return -1;
  }

  protected frame(source: Buffer, start: number, end: number): Array<string | Buffer> | typeof SKIP {
    const count = this.#count;
    if (count < 0) return this.#inline(this.view(source, start, end));
    if (count === 0) return SKIP;
    const starts = this.#starts!;
    const lengths = this.#lengths!;
    const args = new Array<string | Buffer>(count);
    const encoding = this.#encoding;
    if (encoding !== undefined) {
      for (let i = 0; i < count; i++) {
        const at = start + starts[i]!;
        args[i] = source.toString(encoding, at, at + lengths[i]!);
      }
    } else {
      const memory = source.buffer;
      const offset = source.byteOffset + start;
      for (let i = 0; i < count; i++) args[i] = bufferView(memory, offset + starts[i]!, lengths[i]!);
    }
    return args;
  }

  protected incomplete(): IncompleteFrameError {
    return new IncompleteFrameError(protocolError('unfinished command'));
  }

  /** An inline command: its line split into arguments as Redis splits it. */
  #inline(line: Buffer): Array<string | Buffer> | typeof SKIP {
    const args = splitInline(line);
    if (args === undefined) throw new MalformedFrameError(protocolError('unbalanced quotes in request'));
    if (args.length === 0) return SKIP;
    const encoding = this.#encoding;
    return encoding === undefined ? args : args.map((arg) => arg.toString(encoding));
  }

  #startNumber(): void {
    this.#number = 0;
    this.#digits = 0;
    this.#negative = false;
  }

  /** Takes one byte of a number; false if it cannot be one. */
  #digit(byte: number): boolean {
    if (byte === MINUS && this.#digits === 0 && !this.#negative) return (this.#negative = true);
    if (byte < ZERO || byte > NINE || this.#digits === MAX_DIGITS) return false;
    // Redis's string2ll: no leading zeros, no "-0".
    if (this.#digits === 1 && this.#number === 0) return false;
    this.#number = this.#number * 10 + (byte - ZERO);
    this.#digits++;
    return !(this.#number === 0 && this.#negative);
  }

  #endNumber(): number {
    if (this.#digits === 0) throw this.#badNumber();
    return this.#negative ? -this.#number : this.#number;
  }

  #badNumber(): MalformedFrameError {
    return new MalformedFrameError(protocolError(this.#state <= COUNT_LF ? 'invalid multibulk length' : 'invalid bulk length'));
  }
}

const SPACE = 0x20;
const TAB = 0x09;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;

/** Redis's `isspace`: space, \t, \n, \v, \f, \r. */
const isSpace = (byte: number | undefined): boolean => byte === SPACE || (byte !== undefined && byte >= TAB && byte <= CR);

/** The hex digit's value, or -1. */
function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= ZERO && byte <= NINE) return byte - ZERO;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

const ESCAPES: Record<number, number> = { 0x6e: LF, 0x72: CR, 0x74: TAB, 0x62: 0x08, 0x61: 0x07 }; // \n \r \t \b \a

/**
 * Splits an inline command's line (its `\n` included) into arguments, with
 * the rules of Redis's `sdssplitargs`: blanks separate arguments; "double
 * quotes" take the escapes \n \r \t \b \a \xHH and \<any>; 'single quotes'
 * take \' alone; a closing quote must be followed by a blank or the end; a
 * NUL byte ends the line. Returns undefined for unbalanced quotes.
 */
export function splitInline(line: Buffer): Buffer[] | undefined {
  let end = line.indexOf(0);
  if (end === -1) end = line.length;
  const args: Buffer[] = [];
  let p = 0;
  for (;;) {
    while (p < end && isSpace(line[p])) p++;
    if (p === end) return args;
    const bytes: number[] = [];
    let quote = 0;
    for (let done = false; !done; ) {
      const byte = p < end ? line[p] : undefined;
      if (quote === DOUBLE_QUOTE) {
        if (byte === undefined) return undefined; // unterminated
        if (byte === BACKSLASH && line[p + 1] === 0x78 /* x */ && p + 3 < end && hexValue(line[p + 2]) >= 0 && hexValue(line[p + 3]) >= 0) {
          bytes.push(hexValue(line[p + 2]) * 16 + hexValue(line[p + 3]));
          p += 3;
        } else if (byte === BACKSLASH && p + 1 < end) {
          p++;
          bytes.push(ESCAPES[line[p]!] ?? line[p]!);
        } else if (byte === DOUBLE_QUOTE) {
          if (p + 1 < end && !isSpace(line[p + 1])) return undefined; // a closing quote must be followed by a blank
          done = true;
        } else {
          bytes.push(byte);
        }
      } else if (quote === SINGLE_QUOTE) {
        if (byte === undefined) return undefined;
        if (byte === BACKSLASH && line[p + 1] === SINGLE_QUOTE && p + 1 < end) {
          p++;
          bytes.push(SINGLE_QUOTE);
        } else if (byte === SINGLE_QUOTE) {
          if (p + 1 < end && !isSpace(line[p + 1])) return undefined;
          done = true;
        } else {
          bytes.push(byte);
        }
      } else if (byte === undefined || byte === SPACE || byte === LF || byte === CR || byte === TAB) {
        done = true;
      } else if (byte === DOUBLE_QUOTE || byte === SINGLE_QUOTE) {
        quote = byte;
      } else {
        bytes.push(byte);
      }
      if (p < end) p++;
    }
    args.push(Buffer.from(bytes));
  }
}
