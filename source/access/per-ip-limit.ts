import type { Socket } from 'node:net';

/**
 * At most `max` connections at once from one address.
 *
 * Memory is bounded by the connections open: an address is tracked while it
 * has one, and forgotten when its last one closes. An IPv4 peer counts the
 * same whether it is seen as `10.1.2.3` or as IPv4-mapped `::ffff:10.1.2.3`.
 *
 * @example
 * ```ts
 * const limit = new PerIpLimit(2);
 * limit.acquire(socket, socket.remoteAddress!); // true: counted until the socket closes
 * ```
 */
export class PerIpLimit {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Addresses with a connection open now. */
  get addresses(): number {
    return this.#open.size;
  }

  /**
   * Counts `socket` against `address` until it closes, and returns true; or,
   * with `address` at the limit already, counts nothing and returns false.
   */
  acquire(socket: Socket, address: string): boolean {
    const key = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    const open = this.#open.get(key) ?? 0;
    if (open >= this.#max) return false;
    this.#open.set(key, open + 1);
    // A socket whose handle is re-homed (the shared read buffer) hands its 'close' listeners on.
    socket.once('close', () => this.#release(key));
    return true;
  }

  #release(key: string): void {
    const open = this.#open.get(key)! - 1;
    if (open === 0) this.#open.delete(key);
    else this.#open.set(key, open);
  }
}
