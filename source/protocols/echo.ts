import { map, type OperatorFunction } from 'rxjs';
import { clock, TIMESTAMP_LENGTH } from './clock.js';

const ECHO = Buffer.from('] Echo: ');
const OVERHEAD = 1 + TIMESTAMP_LENGTH + ECHO.length + 1; // '[' … '\n'

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
export function echoReply(frame: Uint8Array): Buffer {
  const reply = Buffer.allocUnsafe(OVERHEAD + frame.length);
  reply[0] = 0x5b; // [
  let offset = clock.write(reply, 1);
  reply.set(ECHO, offset);
  offset += ECHO.length;
  reply.set(frame, offset);
  reply[offset + frame.length] = 0x0a;
  return reply;
}
