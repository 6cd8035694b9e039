import type { Address } from '../address.js';
import type { ClientConnection, RequestOptions } from './client-connection.js';
import { connect, type ConnectOptions } from './connect.js';
import { ConnectionClosedError } from './errors.js';

/** Options of {@link Pool}. */
export interface PoolOptions extends ConnectOptions {
  /** Most connections open at once. Default 10. */
  size?: number;
}

/**
 * A bounded set of connections to one server, shared by requests.
 *
 * A request goes to an idle open connection if there is one, else to a new
 * connection while fewer than `size` are open, else it is pipelined on the
 * least busy one. Connections that close (the server ended them, or they
 * broke) leave the pool and are replaced by the next request that needs one.
 *
 * @example
 * ```ts
 * import { Pool } from 'tcp-rx';
 *
 * const pool = new Pool('127.0.0.1:8080', { size: 4, requestTimeout: 1000 });
 * const replies = await Promise.all(['a', 'b', 'c'].map((line) => pool.request(line)));
 * await pool.close();
 * ```
 */
export class Pool {
  readonly #address: string | Address;
  readonly #options: ConnectOptions;
  readonly #size: number;
  readonly #connections = new Set<ClientConnection>();
  readonly #opening = new Set<Promise<ClientConnection>>();
  #closed = false;

  constructor(address: string | Address, { size = 10, ...options }: PoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size ${size} is not a whole number ≥ 1`);
    this.#address = address;
    this.#options = options;
    this.#size = size;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Sends `line` on a pooled connection; see {@link ClientConnection.request} for the reply and errors. */
  async request(line: string | Uint8Array, options?: RequestOptions): Promise<Buffer> {
    const connection = await this.#pick();
    return connection.request(line, options);
  }

  /** Closes every connection (letting requests in flight finish); later requests reject. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#opening);
    await Promise.all([...this.#connections].map((connection) => connection.close()));
  }

  async #pick(): Promise<ClientConnection> {
    if (this.#closed) throw new ConnectionClosedError('pool closed', String(this.#address));
    let leastBusy: ClientConnection | undefined;
    for (const connection of this.#connections) {
      if (!connection.open) continue;
      if (connection.inFlight === 0) return connection;
      if (leastBusy === undefined || connection.inFlight < leastBusy.inFlight) leastBusy = connection;
    }
    if (this.#connections.size + this.#opening.size < this.#size) return this.#open();
    return leastBusy ?? Promise.race(this.#opening);
  }

  #open(): Promise<ClientConnection> {
    const opening = connect(this.#address, this.#options).then((connection) => {
      this.#connections.add(connection);
      void connection.closed.then(() => this.#connections.delete(connection));
      return connection;
    });
    this.#opening.add(opening);
    const settled = (): void => void this.#opening.delete(opening);
    opening.then(settled, settled);
    return opening;
  }
}
