import { map, type OperatorFunction } from 'rxjs';
import { clock, TIMESTAMP_LENGTH } from './clock.js';

const OPEN = Buffer.from('[');
const ECHO = Buffer.from('] Echo: ');
const OVERHEAD = OPEN.length + TIMESTAMP_LENGTH + ECHO.length + 1; // + '\n'

/**
 * The reference protocol's handler: answers each frame with
 * `[<RFC 3339 timestamp>] Echo: <frame>\n`, the frame's bytes unchanged
 * (so bytes that are not UTF-8 come back exactly as they were sent).
 *
 * One buffer per reply, stamped in place; no string is built.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs';
 * import { echo, lines, serve } from 'tcp-rx';
 *
 * await serve({ port: 8080 }, pipe(lines(), echo()));
 * ```
 */
export function echo(): OperatorFunction<Buffer, Buffer> {
  return map(echoReply);
}

/** The reference reply to one frame. */
export function echoReply(frame: Buffer): Buffer {
  const reply = Buffer.allocUnsafe(OVERHEAD + frame.length);
  let offset = OPEN.copy(reply, 0);
  offset = clock.write(reply, offset);
  offset += ECHO.copy(reply, offset);
  offset += frame.copy(reply, offset);
  reply[offset] = 0x0a;
  return reply;
}
