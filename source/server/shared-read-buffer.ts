import { Socket } from 'node:net';
import { lend } from '../borrowed-memory.js';
import { bufferView } from '../buffer-view.js';

/** As large as Node's own read buffers: one read takes whatever the kernel holds, up to this. */
const READ_BUFFER_SIZE = 64 * 1024;
const memory = new ArrayBuffer(READ_BUFFER_SIZE);
const readBuffer = Buffer.from(memory);
lend(memory);

/** The fields of Node's `net.Socket` that adoption moves: its handle and the server that counts it. */
interface AcceptedSocket extends Socket {
  _handle: object | null;
  _server: unknown;
}

/**
 * Re-homes an accepted socket's handle in a socket that reads into one
 * buffer shared by every connection of the process, through `onRead`.
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
 * Pausing and resuming work as usual (they stop and start the handle).
 */
export function readIntoSharedBuffer(socket: Socket, onRead: (this: Socket, bytes: number) => void): Socket {
  const accepted = socket as AcceptedSocket;
  const adopted = new Socket({
    handle: accepted._handle,
    allowHalfOpen: socket.allowHalfOpen,
    onread: { buffer: readBuffer, callback: onRead },
  } as ConstructorParameters<typeof Socket>[0]) as AcceptedSocket;
  accepted._handle = null;
  adopted._server = accepted._server;
  accepted._server = null;
  return adopted;
}

/** The first `bytes` bytes of the shared buffer (what the read being delivered brought), borrowed. */
export function sharedRead(bytes: number): Buffer {
  return bufferView(memory, 0, bytes);
}
