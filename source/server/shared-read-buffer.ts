import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { lend } from '../borrowed-memory.js';
import { bufferView } from '../buffer-view.js';

/**
 * As large as Node's own read buffers: one read takes whatever the kernel
 * holds, up to this. A read shorter than this therefore says the kernel held
 * nothing more at that moment (a drain relies on it).
 */
export const READ_BUFFER_SIZE = 64 * 1024;
const memory = new ArrayBuffer(READ_BUFFER_SIZE);
const readBuffer = Buffer.from(memory);
lend(memory);

/** What reading into the shared buffer relies on in Node's `net.Socket`: its handle, and its `onread` slots. */
interface AcceptedSocket extends Socket {
  _handle: { readStart?: unknown; useUserBuffer?: (buffer: Uint8Array) => void; reading?: boolean } | null;
  [slot: symbol]: unknown;
}

/**
 * `tls.TLSSocket.prototype`, looked up when a socket that is not a plain one
 * first comes: node:tls (and node:crypto with it) costs a process ~2.4 MiB,
 * which a server without TLS does not pay (perf/NOTES.md, issue 15). A TLS
 * socket only exists once node:tls is loaded, so looking it up then loads
 * nothing more.
 */
let tlsSocketPrototype: object | undefined;

function tlsSocketProto(): object {
  return (tlsSocketPrototype ??= (createRequire(import.meta.url)('node:tls') as typeof import('node:tls')).TLSSocket.prototype);
}

/**
 * Where a `net.Socket` keeps its `onread` option: the buffer and the
 * callback, under symbols private to Node's `net` module. They are found
 * once, by their values on a socket given the option, rather than by name;
 * `undefined` where a Node keeps them otherwise.
 */
const slots = findReadSlots();

function findReadSlots(): { buffer: symbol; callback: symbol } | undefined {
  const callback = (): void => {};
  const probe = new Socket({ onread: { buffer: readBuffer, callback } } as ConstructorParameters<typeof Socket>[0]) as AcceptedSocket;
  const plain = new Socket() as AcceptedSocket;
  const keys = Object.getOwnPropertySymbols(probe);
  const bufferSlot = keys.find((key) => probe[key] === readBuffer);
  const callbackSlot = keys.find((key) => probe[key] === callback);
  // Both must be empty slots on a socket without the option, as on one the server accepted.
  const found = bufferSlot !== undefined && callbackSlot !== undefined && plain[bufferSlot] === null && plain[callbackSlot] === null;
  probe.destroy();
  plain.destroy();
  return found ? { buffer: bufferSlot, callback: callbackSlot } : undefined;
}

/**
 * Makes an accepted socket read into one buffer shared by every connection
 * of the process, through `onRead`, and returns `true`; or returns `false`,
 * leaving the socket as it is, where that cannot apply (a handle of another
 * kind, a socket that has data buffered already, a Node whose sockets lack
 * what this relies on), so that the caller reads through Node's own path.
 *
 * Node otherwise allocates a buffer for every read (64 KiB for TCP, the
 * record's size for TLS), wraps it and pushes it through the socket's
 * Readable machinery (measured: about a seventh of a plain `net` echo
 * server's user CPU at one request per read). Reads run one at a time on
 * the event loop, so one buffer serves all: `onRead` must consume the bytes
 * (or copy what it keeps) before it returns — they are borrowed.
 *
 * This is the documented `onread` option of `net.Socket`, which
 * `net.Server` does not pass to the sockets it accepts. The socket is given
 * what its constructor would have set from the option (the buffer and the
 * callback in its own slots, and the buffer to its handle), before its first
 * read: it arrives paused (`pauseOnConnect`). Re-homing the handle in a second
 * `Socket` built with the option did the same at the cost of a whole socket
 * of garbage per connection (perf/NOTES.md, issue 15).
 *
 * A server-side `TLSSocket` takes it too, once its handshake is done: its
 * handle (Node's TLSWrap) hands each record it decrypts to the stream's
 * reader through the same two calls (allocate, read) as a TCP handle does,
 * so each record lands in the shared buffer instead of a buffer of its own.
 * Two differences for the caller: a TLS read is one record (at most 16 KiB),
 * so a short read says nothing of what the kernel holds; and the records one
 * network read brought all come, one call each, even after `pause()` (which
 * stops the next network read, not the records already decrypted).
 */
export function readIntoSharedBuffer(socket: Socket, onRead: (this: Socket, bytes: number) => void): boolean {
  const accepted = socket as AcceptedSocket;
  const handle = accepted._handle;
  if (slots === undefined || handle == null) return false;
  if (accepted[slots.buffer] === readBuffer) {
    // Reading into it already (a PROXY header was read so): from now on the reads are `onRead`'s.
    accepted[slots.callback] = onRead;
    return true;
  }
  if (!adoptable(accepted)) return false;
  accepted[slots.buffer] = readBuffer;
  accepted[slots.callback] = onRead;
  handle.useUserBuffer!(readBuffer);
  return true;
}

/**
 * Whether `socket` can read into a buffer of ours from now on: a plain TCP
 * socket not yet reading, or a TLS socket (whose handle has read its
 * handshake, none of it data) with no data buffered yet.
 */
function adoptable(socket: AcceptedSocket): boolean {
  const handle = socket._handle;
  const prototype = Object.getPrototypeOf(socket) as object;
  const tls = prototype !== Socket.prototype && prototype === tlsSocketProto();
  return (
    (prototype === Socket.prototype || tls) &&
    handle != null &&
    typeof handle.readStart === 'function' &&
    typeof handle.useUserBuffer === 'function' &&
    (tls || handle.reading !== true) &&
    socket.readableLength === 0 &&
    socket[slots!.buffer] === null &&
    !socket.destroyed
  );
}

/** The first `bytes` bytes of the shared buffer (what the read being delivered brought), borrowed. */
export function sharedRead(bytes: number): Buffer {
  return bufferView(memory, 0, bytes);
}
