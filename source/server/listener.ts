import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { Observable } from 'rxjs';
import { setOnListeningSocket } from './tcp-options.js';

/** Options of {@link createListener}. */
export interface ListenerOptions {
  /** TCP keep-alive probe delay in ms; 0 turns keep-alive off. */
  readonly keepAlive: number;
}

/**
 * The transport: a listening socket and the stream of connections it accepts.
 *
 * Every socket arrives paused (`pauseOnConnect`), so that one waiting for a
 * worker is not read; half-open, so that a peer that has finished sending
 * still gets its replies; with Nagle off and keep-alive on (set once, on the
 * listening socket, where the platform allows it). This is the one
 * place that knows the transport: a TLS listener or a cluster worker's
 * shared handle plugs in here and the rest of the server is unchanged.
 */
export function createListener({ keepAlive }: ListenerOptions): { server: Listener; connection$: Observable<Socket> } {
  const server = new Listener({
    pauseOnConnect: true,
    allowHalfOpen: true,
    noDelay: true,
    keepAlive: keepAlive > 0,
    keepAliveInitialDelay: keepAlive,
  });
  return { server, connection$: connections(server) };
}

/**
 * The sockets `server` accepts. Not `fromEvent`, whose handler gathers its
 * arguments into an array per event: garbage at every connection.
 */
function connections(server: NetServer): Observable<Socket> {
  return new Observable<Socket>((subscriber) => {
    const next = (socket: Socket): void => subscriber.next(socket);
    server.on('connection', next);
    return () => server.off('connection', next);
  });
}

/**
 * A `net.Server` whose sockets take their TCP options from the listening
 * socket ({@link setOnListeningSocket}), and that stops listening without
 * resetting anyone: connections
 * whose handshake has completed wait in the kernel's accept queue, and
 * closing the socket would reset them, so it first accepts until a poll of
 * the event loop brings none, then closes in that same turn. Whoever closes
 * it: the server's shutdown ({@link stopListening}), or `node:cluster`
 * (whose `disconnect()` closes a worker's servers with `close()`).
 */
export class Listener extends NetServer {
  #accepted = 0;
  #stopped: Promise<void> | undefined;
  /** What an accepted socket needs when its TCP options came from the listening socket. */
  #inherited: ((socket: Socket) => void) | undefined;

  constructor(options: ConstructorParameters<typeof NetServer>[0]) {
    super(options);
    this.on('listening', () => (this.#inherited = setOnListeningSocket(this)));
    this.on('connection', (socket: Socket) => {
      this.#accepted++;
      this.#inherited?.(socket);
    });
  }

  /** Accepts what is queued, then closes the listening socket; resolves once it is closed. */
  stopListening(): Promise<void> {
    return (this.#stopped ??= acceptQueued(() => this.#accepted).then(() => {
      closeDescriptor(this);
      super.close();
    }));
  }

  /** As `net.Server`'s (the callback once every connection has closed), after {@link stopListening}. */
  override close(callback?: (error?: Error) => void): this {
    void this.stopListening().then(() => super.close(callback));
    return this;
  }
}

/**
 * Closes `server`'s listening descriptor now, in the turn whose poll found
 * the queue empty. In a `node:cluster` worker the handle's `close()` is
 * wrapped to message the primary before it closes; that write wakes the
 * primary, which may take this core meanwhile (traced with ftrace under
 * churn: 0.35 to 10 ms), and the connections whose handshake completed in
 * that time were reset by the close that followed. So the handle's own
 * close (its prototype's) goes first; the wrapper's message follows, and
 * its close is a no-op on a closing handle.
 */
function closeDescriptor(server: NetServer): void {
  const handle = (server as NetServer & { _handle: object | null })._handle;
  if (handle !== null) (Object.getPrototypeOf(handle) as { close(this: object): void }).close.call(handle);
}

/** At most this many polls of the event loop are spent accepting what is queued at shutdown. */
const MAX_ACCEPT_POLLS = 1000;
/** A poll that found nothing is trusted only if it was this recent (ms): what came after it is still queued. */
const RECENT_POLL = 2;

/**
 * Resolves once a recent poll of the event loop has accepted no new
 * connection, so that the kernel's accept queue is empty. libuv accepts a
 * queue of hundreds over several polls, not in one (measured: 988 of 1,000
 * at the signal, the last 12 over 8 polls). A turn that took long (the
 * process descheduled on a busy machine, long callbacks) polled long ago:
 * measured with `--processes 2` under churn, connections that arrived during
 * a 16 ms turn whose poll had found nothing were reset by the close that
 * followed it; such a turn is not trusted, and another poll is taken.
 */
async function acceptQueued(accepted: () => number): Promise<void> {
  for (let polls = 0; polls < MAX_ACCEPT_POLLS; polls++) {
    const before = accepted();
    const started = performance.now();
    await nextPoll();
    if (accepted() === before && performance.now() - started < RECENT_POLL) return;
  }
}

/** Resolves after the event loop's next poll phase (the first hop lands in this turn's check phase). */
function nextPoll(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Binds `server`; resolves with the bound address, rejects (EADDRINUSE,
 * EACCES…) if it cannot. `backlog` is the kernel's queue of connections not
 * yet accepted (capped by `net.core.somaxconn`): a burst of connections past
 * it loses SYNs, each a one-second retry for its client.
 */
export function listen(server: NetServer, port: number, host: string | undefined, backlog: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => reject(error);
    server.once('error', fail);
    server.listen({ port, host, backlog }, () => {
      server.off('error', fail);
      resolve(server.address() as AddressInfo);
    });
  });
}
