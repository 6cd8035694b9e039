import { defer, map, type OperatorFunction } from 'rxjs';
import { connectionContext } from '../connection-context.js';
import { allocateReply } from '../server/reply-memory.js';
import { clock, TIMESTAMP_LENGTH } from './clock.js';

const ECHO = Buffer.from('] Echo: ');
const OVERHEAD = 1 + TIMESTAMP_LENGTH + ECHO.length + 1; // '[' … '\n'

/**
 * The reference protocol's handler: answers each frame with
 * `[<RFC 3339 timestamp>] Echo: <frame>\n`, the frame's bytes unchanged
 * (so bytes that are not UTF-8 come back exactly as they were sent).
 *
 * Each reply is written in place into memory from {@link allocateReply}, so
 * the replies to one read go out as one write without being copied again;
 * no string is built. Inside a server the timestamp is the arrival of the
 * read that carried the request.
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
  return (frames) =>
    defer(() => {
      // Inside a server, stamp with the arrival of the read that carried the request:
      // the connection has read the clock already, once for the whole read.
      const context = connectionContext();
      return frames.pipe(map(context ? (frame) => echoReply(frame, context.receivedAt) : (frame) => echoReply(frame)));
    });
}

/** The reference reply to one frame, stamped with the time `at` (a `performance.now()` time; default: now). */
export function echoReply(frame: Uint8Array, at?: number): Buffer {
  const reply = allocateReply(OVERHEAD + frame.length);
  reply[0] = 0x5b; // [
  let offset = clock.write(reply, 1, at);
  reply.set(ECHO, offset);
  offset += ECHO.length;
  reply.set(frame, offset);
  reply[offset + frame.length] = 0x0a;
  return reply;
}
