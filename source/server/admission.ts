import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { mergeMap, Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import type { RejectReason, ServerEvent } from './events.js';
import type { Expiring } from './timeout-sweeper.js';

/** Options of {@link Admission}. */
export interface AdmissionOptions {
  /** Connections served at once. */
  readonly workers: number;
  /** Connections that may wait, unread, for a worker; past this they are turned away. */
  readonly queue: number;
  /** Longest wait in the queue (ms; 0 = no limit): then `ERR server busy`. */
  readonly queueTimeout: number;
  /** Where the pool publishes its own events (`queued`, `dequeued`, `rejected`). */
  readonly events: { next(event: ServerEvent): void };
  /**
   * The connections being served: each joins as it is handed to `serve`
   * (synchronously) and leaves when it has closed, just before its `closed`.
   */
  readonly served: { readonly size: number };
}

/** The reasons a turned-away peer is told, in a line; one `denied` by access control is told nothing. */
type AnsweredReason = Exclude<RejectReason, 'denied'>;

const REPLIES: Record<AnsweredReason, string> = {
  busy: 'ERR server busy\n',
  'queue-timeout': 'ERR server busy\n',
  'shutting-down': 'ERR server shutting down\n',
  'too-many-connections': 'ERR too many connections\n',
};

/** How long a turned-away peer is given to read its `ERR` line and close. */
export const REJECTION_LINGER = 5_000;
/**
 * Turned-away connections given that time at once; past it (a flood) the
 * next is closed as soon as its line is handed to the kernel, so that
 * rejections cannot pile up file descriptors.
 */
const MAX_LINGERING = 1024;

/**
 * The worker pool: `mergeMap(serve, workers)`, with a bound on what waits.
 *
 * The queue is kept here, not in mergeMap's buffer: at most `queue` wait,
 * in arrival order and unread (the listener pauses sockets on connect),
 * each for at most `queueTimeout`. Past that a connection gets
 * `ERR server busy` and is closed. mergeMap is handed a connection only
 * when a worker is free, so its own buffer stays empty: a connection turned
 * away while it waited is gone from the queue, where in mergeMap's buffer
 * it would stay (unbounded, past `queue`), and a freed worker would take
 * each such one in turn, recursively, each completing at once (a thousand
 * overflowed the stack and stopped the server). The deadlines (the queue's,
 * and the linger of those turned away) are checked by the server's timeout
 * sweeper, not by a timer each.
 */
export class Admission implements Expiring {
  readonly #options: AdmissionOptions;
  /** Waiting sockets and when each arrived, oldest first. */
  readonly #waiting = new Map<Socket, number>();
  /** Turned-away sockets and when each was turned away, oldest first. */
  readonly #lingering = new Map<Socket, number>();
  /** What mergeMap takes connections from, while the pool is subscribed. */
  #pool: Subscriber<Socket> | undefined;
  /** No connection will arrive any more: the pool's source completes once the queue is empty. */
  #arrivalsEnded = false;
  /** Bound once: queued as a microtask when a worker frees, so that mergeMap has let go of it. */
  readonly #startWaiting = (): void => this.#dequeue();

  constructor(options: AdmissionOptions) {
    this.#options = options;
  }

  /** Connections waiting for a worker. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Serves each socket of the stream with `serve`, `workers` at once, the rest queued or turned away. */
  pool(serve: (socket: Socket) => Observable<never>): OperatorFunction<Socket, never> {
    const { workers } = this.#options;
    const admitted = (socket$: Observable<Socket>): Observable<Socket> =>
      new Observable<Socket>((pool) => {
        this.#pool = pool;
        this.#arrivalsEnded = false;
        const arrivals = socket$.subscribe({
          next: (socket) => this.#admit(socket),
          error: (error: unknown) => pool.error(error),
          complete: () => {
            this.#arrivalsEnded = true;
            this.#completeIfEmpty();
          },
        });
        return () => {
          arrivals.unsubscribe();
          this.#pool = undefined;
        };
      });
    return (socket$) => admitted(socket$).pipe(mergeMap(serve, workers));
  }

  /**
   * A served connection has closed (called just before its Observable
   * completes): a microtask later mergeMap has let go of it, and the oldest
   * waiting connection takes its worker.
   */
  released(): void {
    if (this.#waiting.size > 0) queueMicrotask(this.#startWaiting);
  }

  /** Turns away every waiting connection (a shutdown out of time). */
  turnAwayWaiting(): void {
    for (const socket of this.#waiting.keys()) this.#turnAway(socket, 'shutting-down');
    this.#waiting.clear();
    this.#completeIfEmpty();
  }

  expire(now: number): void {
    const { queueTimeout } = this.#options;
    if (queueTimeout > 0) {
      for (const [socket, since] of this.#waiting) {
        if (now - since < queueTimeout) break;
        this.#waiting.delete(socket);
        this.#turnAway(socket, 'queue-timeout');
      }
      this.#completeIfEmpty();
    }
    for (const [socket, since] of this.#lingering) {
      if (now - since < REJECTION_LINGER) break;
      this.#lingering.delete(socket);
      socket.destroy();
    }
  }

  #admit(socket: Socket): void {
    const { workers, queue, served, events } = this.#options;
    // Counted, not tracked per served connection: nothing is allocated per connection here.
    // While any wait, every worker is busy (or freed a microtask ago): a newcomer queues behind them.
    const admitted = served.size + this.#waiting.size;
    if (admitted >= workers + queue) {
      this.#turnAway(socket, 'busy');
    } else if (admitted < workers) {
      this.#start(socket);
    } else {
      this.#waiting.set(socket, performance.now());
      socket.on('error', ignore); // a reset while waiting must not crash the process
      events.next({ type: 'queued' });
    }
  }

  /** Hands waiting connections, oldest first, to the workers free; those turned away are gone already, those reset are dropped. */
  #dequeue(): void {
    const { workers, served, events } = this.#options;
    for (const socket of this.#waiting.keys()) {
      if (served.size >= workers) break;
      this.#waiting.delete(socket);
      events.next({ type: 'dequeued' });
      this.#start(socket); // joins `served` at once
    }
    this.#completeIfEmpty();
  }

  /** Hands a socket to a free worker, unless it was reset (while it waited, or before it got here): nothing left to serve. */
  #start(socket: Socket): void {
    if (!socket.writableEnded && !socket.destroyed) this.#pool?.next(socket);
  }

  /** Once arrivals have ended, the pool's source completes with the last waiting connection handed over or turned away. */
  #completeIfEmpty(): void {
    if (this.#arrivalsEnded && this.#waiting.size === 0) this.#pool?.complete();
  }

  /** Turns away a connection that access control refused before it reached the pool (one too many from its address). */
  turnAway(socket: Socket, reason: AnsweredReason): void {
    this.#turnAway(socket, reason);
  }

  /** Answers a connection that will not be served with one `ERR` line, then closes it. */
  #turnAway(socket: Socket, reason: AnsweredReason): void {
    this.#options.events.next({ type: 'rejected', reason });
    socket.on('error', ignore);
    socket.end(REPLIES[reason]);
    if (this.#lingering.size >= MAX_LINGERING) {
      socket.destroy();
      return;
    }
    // Read (and drop) what the peer sent, so that the close is a FIN after our line, not a reset before it.
    socket.resume();
    this.#lingering.set(socket, performance.now());
    socket.once('close', () => this.#lingering.delete(socket));
  }
}

function ignore(): void {}
