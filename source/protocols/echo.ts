import { map, type OperatorFunction } from 'rxjs';
import { copyBytes } from '../buffer-view.js';
import { allocateReply } from '../server/reply-memory.js';
import { clock, TIMESTAMP_LENGTH } from './clock.js';

const ECHO = Buffer.from('] Echo: ');
const ECHO_LENGTH = ECHO.length;
const OVERHEAD = 1 + TIMESTAMP_LENGTH + ECHO_LENGTH + 1; // '[' … '\n'

/**
 * The reference protocol's handler: answers each frame with
 * `[<RFC 3339 timestamp>] Echo: <frame>\n`, the frame's bytes unchanged
 * (so bytes that are not UTF-8 come back exactly as they were sent).
 *
 * Each reply is written in place into memory from {@link allocateReply}, so
 * the replies to one read go out as one write without being copied again;
 * no string is built. Replies produced from one read share a timestamp
 * (see {@link Clock}).
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
  const length = frame.length;
  const reply = allocateReply(OVERHEAD + length);
  reply[0] = 0x5b; // [
  let offset = clock.write(reply, 1);
  offset = copyBytes(reply, offset, ECHO, ECHO_LENGTH);
  offset = copyBytes(reply, offset, frame, length);
  reply[offset] = 0x0a;
  return reply;
}
