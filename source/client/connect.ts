import { connect as connectSocket } from 'node:net';
import { formatAddress, parseAddress, type Address } from '../address.js';
import { ClientConnection } from './client-connection.js';
import { ConnectTimeoutError, clientError } from './errors.js';

/** Options of {@link connect}. Times are in milliseconds; 0 turns a timeout off. */
export interface ConnectOptions {
  /** Give up connecting after this long with a {@link ConnectTimeoutError}. Default 5 s. */
  connectTimeout?: number;
  /** The timeout of requests that set none. Default 0: wait for the reply as long as the connection lives. */
  requestTimeout?: number;
}

/**
 * Opens a {@link ClientConnection} to a line-protocol server such as
 * `tcp-rx serve`. `address` is `host:port`, `[::1]:port` or an
 * {@link Address}; without a host it connects to localhost. Rejects with a
 * {@link ConnectionRefusedError} when nothing listens there.
 *
 * @example
 * ```ts
 * import { connect } from 'tcp-rx';
 *
 * const conn = await connect('127.0.0.1:8080', { requestTimeout: 1000 });
 * console.log((await conn.request('hello')).toString()); // [2026-…Z] Echo: hello
 * await conn.close();
 * ```
 */
export function connect(address: string | Address, options: ConnectOptions = {}): Promise<ClientConnection> {
  const { host, port, name } = serverAddress(address);
  const { connectTimeout = 5_000, requestTimeout = 0 } = options;
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host, port, noDelay: true });
    const timer =
      connectTimeout > 0
        ? setTimeout(() => {
            socket.destroy();
            reject(new ConnectTimeoutError(name, connectTimeout));
          }, connectTimeout)
        : undefined;
    const fail = (error: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      reject(clientError(error, name));
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(new ClientConnection(socket, name, requestTimeout));
    });
  });
}

/** Where {@link connect} goes (without a host: localhost), and its `host:port` name for errors. */
export function serverAddress(address: string | Address): { host: string; port: number; name: string } {
  const { host = 'localhost', port } = typeof address === 'string' ? parseAddress(address) : address;
  return { host, port, name: formatAddress({ host, port }) };
}
