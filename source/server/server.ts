import type { AddressInfo } from 'node:net';
import { identity, pipe, Subject, takeUntil, type Observable } from 'rxjs';
import { AccessControl } from '../access/access-control.js';
import { AccessLog, type AccessLogOptions, type AccessLogTarget } from '../access-log/access-log.js';
import { gatePeers } from '../access/peer-gate.js';
import { PerIpLimit } from '../access/per-ip-limit.js';
import { lines } from '../framing/lines.js';
import { textLogger, type Logger } from '../logger.js';
import { rateLimited } from '../rate-limited-logger.js';
import { startMetrics, type MetricsSource } from '../metrics/metrics.js';
import { echo } from '../protocols/echo.js';
import { Admission, REJECTION_LINGER } from './admission.js';
import { connectionServer, LINGER, type ActiveConnection, type Protocol, type ShutdownState } from './connection.js';
import type { ServerEvent } from './events.js';
import { ActiveConnections } from './active-connections.js';
import { createListener, listen } from './listener.js';
import { stateless } from './stateless.js';
import { sweepTimeouts } from './timeout-sweeper.js';
import { containUnhandledErrors } from './unhandled-errors.js';
import type { ServeTlsOptions, TlsCertificates, TlsTransport } from '../transport/tls-transport.js';
import { ProxyProtocol, type ProxyProtocolOptions } from '../transport/proxy-protocol.js';

/** Options of {@link serve}. Durations are in milliseconds, sizes in bytes; 0 turns a timeout off. */
export interface ServeOptions {
  /** Interface to bind. Default: all interfaces. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 8080. */
  port?: number;
  /** Connections served at once: the worker pool. Default 1000. */
  workers?: number;
  /** Connections that may wait for a worker before new ones get `ERR server busy`. Default 1000. */
  queue?: number;
  /** Longest wait for a worker; then `ERR server busy`. Default 10 s. */
  queueTimeout?: number;
  /**
   * Requests of one connection read but not yet answered, past which it stops
   * reading until replies catch up: what an asynchronous step (a database
   * call, a `delay`, a `concatMap`) may have waiting. Default 1024.
   */
  maxPending?: number;
  /** Bytes of the reads whose requests are not all answered, past which a connection stops reading. Default 1 MiB. */
  maxPendingBytes?: number;
  /**
   * Bytes of replies waiting to be written, past which a connection takes no
   * more requests, even from a read it is in the middle of (a read full of
   * tiny requests would otherwise make megabytes of replies for a peer that
   * may not read them). Default 64 KiB.
   */
  replyBudget?: number;
  /** The kernel's queue of connections not yet accepted (capped by `net.core.somaxconn`). Default 4096. */
  backlog?: number;
  /** Longest request line of the default protocol. Default 64 KiB. */
  maxLine?: number;
  /** TCP keep-alive probe delay; 0 = off. Default 30 s. */
  keepAlive?: number;
  /** No bytes either way for this long closes a connection quietly. Default 60 s. */
  idleTimeout?: number;
  /** A request started but unfinished for this long gets `ERR read timeout`. Default 30 s. */
  readTimeout?: number;
  /** Replies pending with no write progress for this long drop the connection. Default 30 s. */
  writeTimeout?: number;
  /** How long {@link Server.close} lets connections finish before destroying them; 0 = no deadline. Default 30 s. */
  drainTimeout?: number;
  /**
   * Where phases and misbehaving peers are reported. Default: text lines on
   * stderr. Per-connection warnings and errors are rate-limited (see
   * `rateLimited`): at most 10 of each per 10 s, then one line with the count
   * of the rest.
   */
  logger?: Logger;
  /** Time between metrics snapshots, each emitted on `metrics$` and logged; 0 = none. Default 10 s. */
  metricsInterval?: number;
  /**
   * Whether each periodic snapshot is also logged. Default true; a cluster
   * worker leaves it to its primary, which logs the whole server's.
   */
  metricsLog?: boolean;
  /**
   * Serve TLS instead of plain TCP: Node's `tls.createServer` options and
   * certificates by server name; see {@link ServeTlsOptions}. A connection
   * takes a worker once its handshake has succeeded.
   */
  tls?: ServeTlsOptions;
  /**
   * Address ranges (CIDR: `10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`) whose
   * peers alone are served; any other peer is closed at once, unread, and
   * counted as rejected (`denied`). Default: every peer.
   */
  allow?: readonly string[];
  /** Address ranges whose peers are closed at once, unread (`denied`), even if allowed. */
  deny?: readonly string[];
  /**
   * Connections at once from one address; one more gets `ERR too many
   * connections` and is closed (over TLS, closed before its handshake, since
   * it could not read a plain line). 0 = no limit. Default 0.
   */
  maxConnsPerIp?: number;
  /**
   * One line per closed connection: when, the peer's address and port, how
   * long it was served, bytes in and out, requests, and why it closed. To a
   * file's path (appended to; see {@link Server.reopenAccessLog} for
   * rotation), `'-'` (standard output), a writable stream, or a function
   * called per line; or {@link AccessLogOptions} to choose the format (the
   * logger's, by default) or the buffer. Lines are written in batches off
   * the serving path: a slow or failing target drops lines, counted in the
   * metrics (`accessLog.dropped`), and never slows the server. {@link Server.close}
   * resolves once every line is written. Default: none.
   *
   * @example
   * ```ts
   * import { serve } from 'tcp-rx';
   *
   * const server = await serve({ port: 7000, accessLog: { to: '/var/log/tcp-rx/access.log', format: 'json' } });
   * process.on('SIGUSR1', () => void server.reopenAccessLog()); // logrotate's postrotate
   * process.once('SIGTERM', () => void server.close()); // resolves once every line is written
   * ```
   */
  accessLog?: AccessLogTarget | AccessLogOptions;
  /**
   * Behind a proxy that speaks the PROXY protocol (HAProxy's `send-proxy`
   * or `send-proxy-v2`, in TCP mode): every connection must start with a
   * PROXY header, v1 or v2, from a peer in `trustedProxies` (default
   * loopback), within `headerTimeout` (default 3 s); any other is closed
   * and counted by reason (`proxy-failed`). The client the header names is
   * the connection's peer for access control, logs and
   * `connectionContext().peer`; the header itself is
   * `connectionContext().proxy`. The header precedes TLS. `true` takes the
   * defaults; see {@link ProxyProtocolOptions}. Default: off.
   */
  proxyProtocol?: boolean | ProxyProtocolOptions;
}

/** The defaults of {@link ServeOptions}, as the CLI shows them. */
export const defaults = {
  port: 8080,
  workers: 1000,
  queue: 1000,
  queueTimeout: 10_000,
  maxPending: 1024,
  maxPendingBytes: 1024 * 1024,
  replyBudget: 64 * 1024,
  backlog: 4096,
  maxLine: 64 * 1024,
  keepAlive: 30_000,
  idleTimeout: 60_000,
  readTimeout: 30_000,
  writeTimeout: 30_000,
  drainTimeout: 30_000,
  metricsInterval: 10_000,
  maxConnsPerIp: 0,
} as const satisfies ServeOptions;

/** How a shutdown went. */
export interface ShutdownResult {
  /**
   * Connections that closed with replies unwritten or requests unanswered:
   * destroyed at the drain timeout, or cut short by their peer or a write
   * timeout while draining. 0 for a clean drain.
   */
  readonly destroyed: number;
}

/** A listening server; its metrics come as snapshots, see {@link MetricsSource}. */
export interface Server extends MetricsSource {
  /** The address it is bound to (with the real port when 0 was asked for). */
  readonly address: AddressInfo;
  /** Everything that happens to its connections; see {@link ServerEvent}. Hot: subscribe early. */
  readonly events$: Observable<ServerEvent>;
  /**
   * Graceful shutdown that loses nothing: accepts what the kernel has already
   * queued, then stops accepting; answers every request that has reached the
   * server (read, held back, in the kernel's receive buffer, or on a
   * connection waiting for a worker), finishing a request in progress, and
   * closes each connection with a FIN once its replies are written. Bytes
   * that arrive after a connection began to drain are dropped, so a client
   * that sees the FIN knows exactly which requests to send again. After
   * `drainTimeout` what is left is destroyed (waiting connections get
   * `ERR server shutting down`). Resolves when the last connection has
   * closed; calling it again returns the same promise.
   */
  close(): Promise<ShutdownResult>;
  /**
   * A TLS server's certificate reload: new handshakes use `certificates`
   * (with the rest of the `tls` options as they were), connections already
   * open keep theirs. Throws, keeping the certificates in use, if one cannot
   * be loaded (a key that does not match its certificate…); throws a
   * TypeError on a server without TLS.
   */
  setSecureContext(certificates: TlsCertificates): void;
  /**
   * Opens the access log's file again at its path, as logrotate asks after
   * renaming it (`postrotate`: a signal that calls this): lines from now on
   * go to the new file, those on their way finish in the old one, none is
   * lost. Rejects if the path cannot be opened (the lines go on to the file
   * in use). Nothing to do, and resolves, for standard output, a stream, a
   * function, or no access log.
   */
  reopenAccessLog(): Promise<void>;
}

/**
 * The reference protocol: newline-framed requests, each answered with
 * `[<RFC 3339 timestamp>] Echo: <line>\n`, in order. It is {@link stateless}:
 * its idle connections hibernate.
 */
export function referenceProtocol({ maxLine = defaults.maxLine }: { maxLine?: number } = {}): Protocol {
  // Borrowed frames: echo answers each one synchronously, so the copy out of the read buffer can be skipped.
  return stateless(pipe(lines({ maxLength: maxLine, borrowed: true }), echo()));
}

/**
 * Starts a TCP (or TLS) server; resolves once it is listening.
 *
 * Each accepted connection is served by `protocol` (the reference echo
 * protocol unless given), at most `workers` at once. Access control
 * (`allow`, `deny`, `maxConnsPerIp`) acts on each connection as it is
 * accepted, before it is read and before a TLS handshake; with
 * `proxyProtocol`, once its PROXY header has named the client.
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs';
 * import { lines, serve } from 'tcp-rx';
 *
 * const server = await serve({ port: 7000 }, pipe(lines(), map((line) => `${line.length}\n`)));
 * console.log('listening on', server.address.port);
 * process.once('SIGTERM', () => void server.close());
 * ```
 */
export async function serve(options: ServeOptions = {}, protocol?: Protocol): Promise<Server> {
  const settings = { ...defaults, ...withoutUndefined(options) };
  const logger = options.logger ?? textLogger();
  const events = new Subject<ServerEvent>();
  const stopAccepting = new Subject<void>();
  const active = new ActiveConnections<ActiveConnection>();
  const shutdown: ShutdownState = { draining: false, cut: 0 };
  const handler = protocol ?? referenceProtocol(settings);

  // Both throw for a bad option (a range that is not one, a key that does not match its certificate) before anything listens.
  const peerLogger = rateLimited(logger); // a flood of bad peers, a few lines
  // Loaded only for TLS: node:tls and node:crypto cost a process ~2.4 MiB (perf/NOTES.md, issue 15).
  const transport = options.tls === undefined ? undefined : await tlsTransport(options.tls, { events, logger });
  const proxy = options.proxyProtocol ? new ProxyProtocol(options.proxyProtocol === true ? {} : options.proxyProtocol, { events, logger: peerLogger }) : undefined;
  const access = (options.allow?.length ?? 0) + (options.deny?.length ?? 0) > 0 ? new AccessControl(options) : undefined;
  const { server, connection$ } = createListener(settings);
  // Opened before listening, so that a path that cannot be opened fails serve() with nothing served.
  const accessLog = options.accessLog === undefined ? undefined : await AccessLog.open(options.accessLog, { events, logger });
  const admission = new Admission({ ...settings, events, served: active });
  const connectionSettings = { ...settings, protocol: handler, events, logger: peerLogger, active, shutdown, released: () => admission.released() };
  const served = connection$.pipe(
    takeUntil(stopAccepting),
    proxy?.headers() ?? identity,
    gatePeers({
      access,
      perIp: settings.maxConnsPerIp > 0 ? new PerIpLimit(settings.maxConnsPerIp) : undefined,
      events,
      answer: transport === undefined ? (socket, reason) => admission.turnAway(socket, reason) : undefined,
    }),
    transport?.handshake() ?? identity,
    admission.pool(connectionServer(connectionSettings)),
  );
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const subscription = served.subscribe({ complete: finish, error: finish });
  subscription.add(finish); // a forced end (unsubscribing) finishes too

  const address = await listen(server, settings.port, settings.host, settings.backlog).catch(async (error: unknown) => {
    subscription.unsubscribe();
    await accessLog?.close(0);
    throw error;
  });
  server.on('error', (error) => logger.log('error', 'listener failed', { error }));
  // Started once listening: no connection can have arrived yet, and a failed listen leaves no timer behind.
  const metrics = startMetrics(events, { ...settings, logger, tls: transport !== undefined, accessLog: accessLog !== undefined, proxy: proxy !== undefined });
  const stopContaining = containUnhandledErrors({ active, logger });
  const stopSweeping = sweepTimeouts(
    [proxy === undefined ? [admission] : [admission, proxy], active],
    [settings.idleTimeout, settings.readTimeout, settings.writeTimeout, settings.queueTimeout, LINGER, REJECTION_LINGER, proxy?.timeout ?? 0],
  );

  let closed: Promise<ShutdownResult> | undefined;
  const close = async (): Promise<ShutdownResult> => {
    events.next({ type: 'draining' });
    let forced = 0;
    const deadline =
      settings.drainTimeout > 0
        ? setTimeout(() => {
            forced = active.size + admission.waiting;
            logger.log('warn', 'drain timeout: destroying connections', { connections: active.size, waiting: admission.waiting });
            admission.turnAwayWaiting();
            for (const connection of active) connection.abort();
            subscription.unsubscribe();
          }, settings.drainTimeout)
        : undefined;
    // Connections are cut only once nobody can connect: each cut is a FIN, and a client that connects
    // again at once would otherwise find a socket about to close (and be reset with it), not a closed
    // one (refused). Until then they are served as usual.
    await server.stopListening();
    stopAccepting.next();
    shutdown.draining = true;
    for (const connection of active) connection.drain();
    logger.log('info', 'shutting down: stopped accepting', { connections: active.size, waiting: admission.waiting });
    await finished;
    clearTimeout(deadline);
    connectionSettings.logger.flush();
    stopSweeping();
    stopContaining();
    // Every connection has closed, so every line is out; what the log writes or drops still reaches the metrics.
    await accessLog?.close(settings.drainTimeout);
    events.complete();
    const destroyed = forced + shutdown.cut;
    if (destroyed === 0) logger.log('info', 'drained: every request answered, every connection closed');
    else logger.log('warn', 'shutdown cut connections short', { destroyed });
    return { destroyed };
  };

  return {
    address,
    events$: events.asObservable(),
    ...metrics,
    close: () => (closed ??= close()),
    setSecureContext(certificates) {
      if (transport === undefined) throw new TypeError('setSecureContext: this server does not serve TLS');
      transport.setSecureContext(certificates);
    },
    reopenAccessLog: async () => accessLog?.reopen(),
  };
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

async function tlsTransport(tls: ServeTlsOptions, options: ConstructorParameters<typeof TlsTransport>[1]): Promise<TlsTransport> {
  const { TlsTransport } = await import('../transport/tls-transport.js');
  return new TlsTransport(tls, options);
}
