import type { Socket } from 'node:net';
import { AsyncSink, from, type AsyncIterableX } from 'ix/asynciterable';
import { ClientError, ConnectionClosedError, RequestTimeoutError, clientError } from './errors.js';
import { LineSplitter } from './line-splitter.js';

/** Options of {@link ClientConnection.request}. */
export interface RequestOptions {
  /** No reply within this many ms rejects with a {@link RequestTimeoutError}; 0 waits forever. */
  timeout?: number;
}

/** A request waiting for its reply; `undefined` in the queue marks a line whose reply goes to `replies()`. */
interface Waiter {
  resolve(reply: Buffer): void;
  reject(error: ClientError): void;
  timer: NodeJS.Timeout | undefined;
  /** Timed out: its reply, when it comes, is dropped. */
  abandoned: boolean;
}

const NEWLINE = Buffer.from('\n');

/**
 * A connection to a line-protocol server that answers each request line with
 * one reply line, in order (as the reference protocol does). Requests may be
 * pipelined: each is written at once, and replies are matched to requests in
 * the order they were sent.
 *
 * Made by {@link connect}.
 *
 * @example
 * ```ts
 * import { take } from 'ix/asynciterable/operators';
 * import { connect } from 'tcp-rx';
 *
 * const conn = await connect('127.0.0.1:8080');
 * const [a, b] = await Promise.all([conn.request('one'), conn.request('two')]); // pipelined
 * conn.send('three');
 * conn.send('four');
 * for await (const reply of conn.replies().pipe(take(2))) console.log(reply.toString());
 * await conn.close();
 * ```
 */
export class ClientConnection {
  /** The server, as `host:port`. */
  readonly address: string;
  /** Resolves once the connection has closed, for whatever reason. */
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #requestTimeout: number;
  readonly #splitter = new LineSplitter();
  /** One entry per line sent and not yet answered, oldest first. */
  readonly #queue: Array<Waiter | undefined> = [];
  #head = 0;
  readonly #replies = new AsyncSink<Buffer>();
  /** Why the connection broke, if it did (a socket error comes before its close). */
  #failure: ClientError | undefined;
  #open = true;

  /** Takes over a connected socket; `requestTimeout` (ms, 0 = none) applies to requests that set none. */
  constructor(socket: Socket, address: string, requestTimeout = 0) {
    this.#socket = socket;
    this.address = address;
    this.#requestTimeout = requestTimeout;
    socket.on('data', (chunk: Buffer) => this.#splitter.push(chunk, this.#onLine));
    socket.on('error', (error) => (this.#failure ??= clientError(error, address)));
    // The server has finished sending: no reply can come, so waiting requests fail now (at the
    // 'close' this brings on) rather than at their timeouts, and what we still had to send is
    // dropped: it could not be answered, and a server that has stopped reading would keep our
    // side from ever closing.
    socket.on('end', () => socket.destroy());
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(this.#onClose())));
  }

  /** Whether requests can still be sent: neither side has begun to close the connection. */
  get open(): boolean {
    return this.#open && !this.#socket.writableEnded && !this.#socket.destroyed;
  }

  /** Lines sent whose replies have not arrived yet (timed-out requests included until theirs does). */
  get inFlight(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Sends `line` (without its `\n`) and resolves with its reply line (without
   * `\n`). Rejects with a {@link RequestTimeoutError} after `timeout` ms, or a
   * {@link ConnectionClosedError} / {@link ConnectionResetError} if the
   * connection ends first: as soon as the server has closed its side, since
   * no reply can come after that.
   */
  request(line: string | Uint8Array, { timeout = this.#requestTimeout }: RequestOptions = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, abandoned: false };
      if (!this.#write(line, waiter, reject)) return;
      if (timeout > 0) {
        waiter.timer = setTimeout(() => {
          waiter.abandoned = true;
          reject(new RequestTimeoutError(this.address, timeout));
        }, timeout);
      }
    });
  }

  /** Sends `line` (without its `\n`); its reply arrives on {@link replies}. Throws if the connection is closed. */
  send(line: string | Uint8Array): void {
    this.#write(line, undefined, (error) => {
      throw error;
    });
  }

  /**
   * The replies to the lines sent with {@link send} (and any line the server
   * sends unasked, such as `ERR server busy`), in order, as they arrive. Ends
   * when the connection closes in order; errors with a
   * {@link ConnectionResetError} if it breaks. One consumer: the replies are
   * not copied for a second.
   */
  replies(): AsyncIterableX<Buffer> {
    return from(this.#replies);
  }

  /** Ends our side; resolves once the server has answered what was sent and closed. */
  close(): Promise<void> {
    this.#open = false;
    this.#socket.end();
    return this.closed;
  }

  /** Drops the connection at once; waiting requests reject with a {@link ConnectionClosedError}. */
  destroy(): void {
    this.#open = false;
    this.#socket.destroy();
  }

  #write(line: string | Uint8Array, waiter: Waiter | undefined, reject: (error: ClientError) => void): boolean {
    if (!this.open) {
      reject(this.#failure ?? new ConnectionClosedError('connection closed', this.address));
      return false;
    }
    if (typeof line === 'string' ? line.includes('\n') : line.includes(0x0a)) {
      throw new RangeError('a request line may not contain \\n: its reply could not be matched');
    }
    this.#queue.push(waiter);
    this.#socket.write(typeof line === 'string' ? line + '\n' : Buffer.concat([line, NEWLINE]));
    return true;
  }

  readonly #onLine = (line: Buffer): void => {
    if (this.#head === this.#queue.length) {
      this.#replies.write(line); // unasked
      return;
    }
    const waiter = this.#queue[this.#head++];
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    if (waiter === undefined) this.#replies.write(line);
    else if (!waiter.abandoned) {
      clearTimeout(waiter.timer);
      waiter.resolve(line);
    }
  };

  #onClose(): void {
    this.#open = false;
    const failure = this.#failure ?? new ConnectionClosedError('connection closed before the reply', this.address);
    for (let index = this.#head; index < this.#queue.length; index++) {
      const waiter = this.#queue[index];
      if (waiter === undefined || waiter.abandoned) continue;
      clearTimeout(waiter.timer);
      waiter.reject(failure);
    }
    this.#queue.length = 0;
    this.#head = 0;
    if (this.#failure !== undefined) this.#replies.error(this.#failure);
    this.#replies.end();
  }
}
