import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EMPTY, filter, mergeMap, type Observable, type OperatorFunction } from 'rxjs';
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
  readonly events: { next(event: ServerEvent): void };
  /** The connections being served (each joins when it starts and leaves when it has closed). */
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
 * mergeMap buffers every connection above its concurrency without limit;
 * here at most `queue` wait, in arrival order and unread (the listener pauses
 * sockets on connect), each for at most `queueTimeout`, and start as soon as
 * a worker is free. Past that a connection gets `ERR server busy` and is
 * closed. Its deadlines (the queue's, and the linger of those turned away)
 * are checked by the server's timeout sweeper, not by a timer each.
 */
export class Admission implements Expiring {
  readonly #options: AdmissionOptions;
  /** Waiting sockets and when each arrived, oldest first. */
  readonly #waiting = new Map<Socket, number>();
  /** Turned-away sockets and when each was turned away, oldest first. */
  readonly #lingering = new Map<Socket, number>();

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
    return (socket$) =>
      socket$.pipe(
        filter((socket) => this.#admit(socket)),
        mergeMap((socket) => {
          // Those turned away left the queue already, as `rejected`.
          if (this.#waiting.delete(socket)) this.#options.events.next({ type: 'dequeued' });
          // A socket turned away (or reset) while it waited has nothing left to serve.
          return socket.writableEnded || socket.destroyed ? EMPTY : serve(socket);
        }, workers),
      );
  }

  /** Turns away every waiting connection (a shutdown out of time). */
  turnAwayWaiting(): void {
    for (const socket of this.#waiting.keys()) this.#turnAway(socket, 'shutting-down');
    this.#waiting.clear();
  }

  expire(now: number): void {
    const { queueTimeout } = this.#options;
    if (queueTimeout > 0) {
      for (const [socket, since] of this.#waiting) {
        if (now - since < queueTimeout) break;
        this.#waiting.delete(socket);
        this.#turnAway(socket, 'queue-timeout');
      }
    }
    for (const [socket, since] of this.#lingering) {
      if (now - since < REJECTION_LINGER) break;
      this.#lingering.delete(socket);
      socket.destroy();
    }
  }

  #admit(socket: Socket): boolean {
    const { workers, queue, served, events } = this.#options;
    // Counted, not tracked per served connection: nothing is allocated per connection here.
    const admitted = served.size + this.#waiting.size;
    if (admitted >= workers + queue) {
      this.#turnAway(socket, 'busy');
      return false;
    }
    if (admitted >= workers) {
      this.#waiting.set(socket, performance.now());
      socket.on('error', ignore); // a reset while waiting must not crash the process
      events.next({ type: 'queued' });
    }
    return true;
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
