import type { Socket } from 'node:net';
import { defer, EMPTY, filter, ignoreElements, merge, mergeMap, tap, type Observable, type OperatorFunction } from 'rxjs';
import type { RejectReason, ServerEvent } from './events.js';

/** Options of {@link workerPool}. */
export interface WorkerPoolOptions {
  /** Connections served at once. */
  readonly workers: number;
  /** Connections that may wait, unread, for a worker; past this they are turned away. */
  readonly queue: number;
  /** Emits once when the server starts to shut down: waiting connections are turned away then. */
  readonly closing: Observable<unknown>;
  readonly events: { next(event: ServerEvent): void };
  /** The connections being served (each joins when it starts and leaves when it has closed). */
  readonly served: { readonly size: number };
}

const REPLIES: Record<RejectReason, string> = {
  busy: 'ERR server busy\n',
  'shutting-down': 'ERR server shutting down\n',
};

/** How long a turned-away peer is given to read its `ERR` line and close. */
const LINGER = 5_000;

/**
 * The worker pool: `mergeMap(serve, workers)`, with a bound on what waits.
 *
 * mergeMap buffers every connection above its concurrency without limit;
 * here at most `queue` wait, in arrival order and unread (the listener pauses
 * sockets on connect), and start as soon as a worker is free. Past that a
 * connection gets `ERR server busy` and is closed.
 */
export function workerPool(serve: (socket: Socket) => Observable<never>, options: WorkerPoolOptions): OperatorFunction<Socket, never> {
  const { workers, queue, closing, events, served } = options;
  return (socket$) =>
    defer(() => {
      const waiting = new Set<Socket>();

      const admit = (socket: Socket): boolean => {
        // Counted, not tracked per connection: nothing is allocated per connection here.
        const admitted = served.size + waiting.size;
        if (admitted >= workers + queue) {
          turnAway(socket, 'busy', events);
          return false;
        }
        if (admitted >= workers) {
          waiting.add(socket);
          socket.on('error', ignore); // a reset while waiting must not crash the process
          events.next({ type: 'queued' });
        }
        return true;
      };

      const turnAwayWaiting = (): void => {
        for (const socket of waiting) turnAway(socket, 'shutting-down', events);
        waiting.clear();
      };

      const pool = socket$.pipe(
        filter(admit),
        mergeMap((socket) => {
          // Those turned away at shutdown left the queue already, as `rejected`.
          if (waiting.delete(socket)) events.next({ type: 'dequeued' });
          // A socket turned away (or reset) while it waited has nothing left to serve.
          return socket.writableEnded || socket.destroyed ? EMPTY : serve(socket);
        }, workers),
      );
      return merge(pool, closing.pipe(tap(turnAwayWaiting), ignoreElements()));
    });
}

/** Answers a connection that will not be served with one `ERR` line, then closes it. */
function turnAway(socket: Socket, reason: RejectReason, events: { next(event: ServerEvent): void }): void {
  events.next({ type: 'rejected', reason });
  socket.on('error', ignore);
  socket.end(REPLIES[reason]);
  // Read (and drop) what the peer sent, so that the close is a FIN after our line, not a reset before it.
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), LINGER).unref();
  socket.once('close', () => clearTimeout(linger));
}

function ignore(): void {}
