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

/** What adoption relies on in Node's `net.Socket`: its handle, and the server that counts it. */
interface AcceptedSocket extends Socket {
  _handle: { readStart?: unknown; useUserBuffer?: unknown } | null;
  _server: unknown;
}

/** TCP options that the adopted socket must know it has, so that `setNoDelay`/`setKeepAlive` keep working. */
export interface AdoptionOptions {
  readonly noDelay: boolean;
  /** Keep-alive probe delay in ms; 0 = off. */
  readonly keepAlive: number;
}

/**
 * Re-homes an accepted socket's handle in a socket that reads into one
 * buffer shared by every connection of the process, through `onRead`; or
 * returns `undefined`, leaving the socket as it is, where that cannot apply
 * (a TLS socket, a handle of another kind, a Node whose sockets lack what
 * this relies on), so that the caller reads through Node's own path.
 *
 * Node otherwise allocates a 64 KiB buffer for every read, trims it, wraps it
 * in an ArrayBuffer and pushes it through the socket's Readable machinery
 * (measured: about a seventh of a plain `net` echo server's user CPU at one
 * request per read). Reads run one at a time on the event loop, so one
 * buffer serves all: `onRead` must consume the bytes (or copy what it keeps)
 * before it returns — they are borrowed. This is the documented `onread`
 * option of `net.Socket`; the handle of a connection a `net.Server`
 * accepted is reached through `_handle`, and `_server` keeps the server's
 * connection count (for `close()`) with the socket that now owns the handle.
 * The new socket is told the TCP options the kernel already has for the
 * handle, since `setNoDelay`/`setKeepAlive` skip a change to what they
 * believe is the current state, and takes over the accepted socket's
 * 'close' listeners, since that socket will never close.
 */
export function readIntoSharedBuffer(socket: Socket, onRead: (this: Socket, bytes: number) => void, options: AdoptionOptions): Socket | undefined {
  const accepted = socket as AcceptedSocket;
  const handle = accepted._handle;
  if (!adoptable(accepted) || handle === null) return undefined;
  const adopted = new Socket({
    handle,
    allowHalfOpen: socket.allowHalfOpen,
    noDelay: options.noDelay,
    keepAlive: options.keepAlive > 0,
    keepAliveInitialDelay: options.keepAlive,
    onread: { buffer: readBuffer, callback: onRead },
  } as ConstructorParameters<typeof Socket>[0]) as AcceptedSocket;
  if (adopted._handle !== handle) {
    // Not what this Node does with a handle: leave the socket as it was.
    adopted._handle = null;
    return undefined;
  }
  accepted._handle = null;
  adopted._server = accepted._server;
  accepted._server = null;
  // The adopted socket is the connection now: whoever waits for its close (the per-address count) waits on it.
  if (accepted.listenerCount('close') > 0) {
    for (const listener of accepted.listeners('close')) adopted.once('close', listener as (hadError: boolean) => void);
    accepted.removeAllListeners('close');
  }
  return adopted;
}

/** Whether `socket` is a plain TCP socket whose handle can read into a buffer of ours. */
function adoptable(socket: AcceptedSocket): boolean {
  const handle = socket._handle;
  return (
    Object.getPrototypeOf(socket) === Socket.prototype &&
    '_server' in socket &&
    handle != null &&
    typeof handle.readStart === 'function' &&
    typeof handle.useUserBuffer === 'function' &&
    !socket.destroyed
  );
}

/** The first `bytes` bytes of the shared buffer (what the read being delivered brought), borrowed. */
export function sharedRead(bytes: number): Buffer {
  return bufferView(memory, 0, bytes);
}
