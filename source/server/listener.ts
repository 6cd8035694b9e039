import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Observable } from 'rxjs';

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
 * still gets its replies; with Nagle off and keep-alive on. This is the one
 * place that knows the transport: a TLS listener or a cluster worker's
 * shared handle plugs in here and the rest of the server is unchanged.
 */
export function createListener({ keepAlive }: ListenerOptions): { server: NetServer; connection$: Observable<Socket> } {
  const server = createServer({
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
