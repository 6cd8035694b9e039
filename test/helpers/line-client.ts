import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls';

/** A raw test client: sends bytes, collects what comes back, knows when the server closed. */
export class LineClient {
  readonly socket: Socket;
  #received = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  closed: Promise<void>;
  error: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#wake();
    });
    socket.on('error', (error) => (this.error = error));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        resolve();
        this.#wake();
      }),
    );
  }

  static async open(port: number, host = '127.0.0.1'): Promise<LineClient> {
    const socket = connect(port, host);
    await once(socket, 'connect');
    return new LineClient(socket);
  }

  /** A client over a socket the test connected itself (from another address, over a stream of its own…). */
  static over(socket: Socket): LineClient {
    return new LineClient(socket);
  }

  /** A client over TLS, once its handshake is done (under TLS 1.3 the server may still refuse its certificate after that). */
  static async openTls(port: number, options: ConnectionOptions = {}): Promise<LineClient & { socket: TLSSocket }> {
    const socket = connectTls({ host: '127.0.0.1', port, ...options });
    await once(socket, 'secureConnect');
    return new LineClient(socket) as LineClient & { socket: TLSSocket };
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Everything received so far. */
  get received(): Buffer {
    return this.#received;
  }

  /** Complete lines received so far (without their `\n`), as buffers. */
  get lines(): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = this.#received.indexOf(10); end !== -1; end = this.#received.indexOf(10, start)) {
      lines.push(this.#received.subarray(start, end));
      start = end + 1;
    }
    return lines;
  }

  /** Waits (at most `timeout` ms) until `count` complete lines have arrived; returns them as text. */
  async readLines(count: number, timeout = 5000): Promise<string[]> {
    await this.until(() => this.lines.length >= count, timeout, `${count} lines (got ${this.lines.length})`);
    return this.lines.slice(0, count).map((line) => line.toString('latin1'));
  }

  /** Waits (at most `timeout` ms) for the server to close the connection; returns everything received. */
  async readToEnd(timeout = 5000): Promise<Buffer> {
    await this.until(() => this.socket.destroyed || this.socket.readableEnded, timeout, 'the server to close');
    return this.#received;
  }

  close(): void {
    this.socket.destroy();
  }

  async until(done: () => boolean, timeout: number, what: string): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      if (this.socket.destroyed && !done()) throw new Error(`connection closed while waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** `[<RFC 3339 UTC timestamp with ≥ ms>] Echo: ` */
export const ECHO_PREFIX = /^\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,9}Z)\] Echo: /;
