import { performance } from 'node:perf_hooks';
import type { Address } from '../address.js';
import type { ClientConnection, RequestOptions } from './client-connection.js';
import { connect, serverAddress, type ConnectOptions } from './connect.js';
import { ConnectionClosedError, RequestTimeoutError } from './errors.js';

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
 * least busy one. A connection leaves the pool as soon as either side starts
 * closing it (the server's idle timeout or shutdown, a break): it is never
 * picked again, and the next request that needs one opens a new one.
 *
 * Every request settles within its timeout (`timeout`, else the pool's
 * `requestTimeout`), which runs from the call and so covers waiting for a
 * connection to be made as well as for the reply. A request is never sent
 * twice: one written to a connection that the server then closes rejects with
 * a {@link ConnectionClosedError}, as soon as the close arrives, since the
 * server may or may not have acted on it; whether to try again is the
 * caller's call.
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
  /** The address as errors name it. */
  readonly #name: string;
  readonly #options: ConnectOptions;
  readonly #size: number;
  readonly #connections = new Set<ClientConnection>();
  readonly #opening = new Set<Promise<ClientConnection>>();
  #closed = false;

  constructor(address: string | Address, { size = 10, ...options }: PoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size ${size} is not a whole number ≥ 1`);
    this.#address = address;
    this.#name = serverAddress(address).name;
    this.#options = options;
    this.#size = size;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
  }

  /**
   * Sends `line` on a pooled connection; see {@link ClientConnection.request}
   * for the reply and errors. The timeout counts from this call: a request
   * still waiting for a connection when it runs out rejects with a
   * {@link RequestTimeoutError} too.
   */
  async request(line: string | Uint8Array, { timeout = this.#options.requestTimeout ?? 0 }: RequestOptions = {}): Promise<Buffer> {
    const started = performance.now();
    const picked = this.#pick();
    const connection = picked instanceof Promise ? await this.#within(picked, timeout) : picked;
    // Only promise callbacks run between the pick and the write, no socket event: a connection
    // open when picked is open now, so no request is ever found unsent on a closed connection.
    const left = timeout > 0 ? Math.max(1, timeout - (performance.now() - started)) : 0;
    return connection.request(line, { timeout: left }).catch((error: unknown) => {
      // The connection timed out what was left of the request's time: report the request's own timeout.
      throw error instanceof RequestTimeoutError ? new RequestTimeoutError(this.#name, timeout) : error;
    });
  }

  /** Closes every connection (letting requests in flight finish); later requests reject. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#opening);
    await Promise.all([...this.#connections].map((connection) => connection.close()));
  }

  #pick(): ClientConnection | Promise<ClientConnection> {
    if (this.#closed) throw new ConnectionClosedError('pool closed', this.#name);
    let leastBusy: ClientConnection | undefined;
    for (const connection of this.#connections) {
      if (!connection.open) {
        // Closing (its 'close' is still to come): neither a candidate nor a place taken.
        this.#connections.delete(connection);
        continue;
      }
      if (connection.inFlight === 0) return connection;
      if (leastBusy === undefined || connection.inFlight < leastBusy.inFlight) leastBusy = connection;
    }
    if (this.#connections.size + this.#opening.size < this.#size) return this.#open();
    // Full: with no open connection, every place is an attempt under way.
    return leastBusy ?? Promise.race(this.#opening);
  }

  /** `connection`, or a {@link RequestTimeoutError} if it takes longer than `timeout` ms (0: no limit). */
  #within(connection: Promise<ClientConnection>, timeout: number): Promise<ClientConnection> {
    if (timeout === 0) return connection;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new RequestTimeoutError(this.#name, timeout)), timeout);
      connection.then(
        (open) => {
          clearTimeout(timer);
          resolve(open);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
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
