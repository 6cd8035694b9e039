import type { AddressInfo } from 'node:net';
import { pipe, Subject, takeUntil, type Observable } from 'rxjs';
import { lines } from '../framing/lines.js';
import { textLogger, type Logger } from '../logger.js';
import { rateLimited } from '../rate-limited-logger.js';
import { startMetrics, type MetricsSource } from '../metrics/metrics.js';
import { echo } from '../protocols/echo.js';
import { workerPool } from './admission.js';
import { LINGER, serveConnection, type ActiveConnection, type Protocol } from './connection.js';
import type { ServerEvent } from './events.js';
import { createListener, listen } from './listener.js';
import { sweepTimeouts } from './timeout-sweeper.js';

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
  /** How long {@link Server.close} lets connections finish before destroying them. Default 30 s. */
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
}

/** The defaults of {@link ServeOptions}, as the CLI shows them. */
export const defaults = {
  port: 8080,
  workers: 1000,
  queue: 1000,
  backlog: 4096,
  maxLine: 64 * 1024,
  keepAlive: 30_000,
  idleTimeout: 60_000,
  readTimeout: 30_000,
  writeTimeout: 30_000,
  drainTimeout: 30_000,
  metricsInterval: 10_000,
} as const satisfies ServeOptions;

/** How a shutdown went. */
export interface ShutdownResult {
  /** Connections still open at the drain timeout, destroyed. 0 for a clean drain. */
  readonly destroyed: number;
}

/** A listening server; its metrics come as snapshots, see {@link MetricsSource}. */
export interface Server extends MetricsSource {
  /** The address it is bound to (with the real port when 0 was asked for). */
  readonly address: AddressInfo;
  /** Everything that happens to its connections; see {@link ServerEvent}. Hot: subscribe early. */
  readonly events$: Observable<ServerEvent>;
  /**
   * Graceful shutdown: stops accepting at once, turns away waiting connections
   * with `ERR server shutting down`, lets each served connection finish the
   * request in progress and write every reply, and destroys what is left after
   * `drainTimeout`. Resolves when the last connection has closed; calling it
   * again returns the same promise.
   */
  close(): Promise<ShutdownResult>;
}

/**
 * The reference protocol: newline-framed requests, each answered with
 * `[<RFC 3339 timestamp>] Echo: <line>\n`, in order.
 */
export function referenceProtocol({ maxLine = defaults.maxLine }: { maxLine?: number } = {}): Protocol {
  return pipe(lines({ maxLength: maxLine }), echo());
}

/**
 * Starts a TCP server; resolves once it is listening.
 *
 * Each accepted connection is served by `protocol` (the reference echo
 * protocol unless given), at most `workers` at once.
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
  const closing = new Subject<void>();
  const active = new Set<ActiveConnection>();
  const handler = protocol ?? referenceProtocol(settings);

  const { server, connection$ } = createListener(settings);
  const connectionSettings = { ...settings, events, logger: rateLimited(logger), active }; // a flood of bad peers, a few lines
  const served = connection$.pipe(
    takeUntil(closing),
    workerPool((socket) => serveConnection(socket, handler, connectionSettings), { ...settings, closing, events, served: active }),
  );
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const subscription = served.subscribe({ complete: finish });
  subscription.add(finish); // a forced end (unsubscribing) finishes too

  const address = await listen(server, settings.port, settings.host, settings.backlog).catch((error: unknown) => {
    subscription.unsubscribe();
    throw error;
  });
  server.on('error', (error) => logger.log('error', 'listener failed', { error }));
  // Started once listening: no connection can have arrived yet, and a failed listen leaves no timer behind.
  const metrics = startMetrics(events, { ...settings, logger });
  const stopSweeping = sweepTimeouts(active, [settings.idleTimeout, settings.readTimeout, settings.writeTimeout, LINGER]);

  let closed: Promise<ShutdownResult> | undefined;
  const close = async (): Promise<ShutdownResult> => {
    server.close();
    closing.next();
    closing.complete();
    logger.log('info', 'shutting down: stopped accepting', { draining: active.size });
    for (const connection of active) connection.drain();
    let destroyed = 0;
    const deadline = setTimeout(() => {
      destroyed = active.size;
      logger.log('warn', 'drain timeout: destroying connections', { connections: destroyed });
      subscription.unsubscribe();
    }, settings.drainTimeout);
    await finished;
    clearTimeout(deadline);
    connectionSettings.logger.flush();
    stopSweeping();
    events.complete();
    if (destroyed === 0) logger.log('info', 'drained: every connection closed');
    return { destroyed };
  };

  return {
    address,
    events$: events.asObservable(),
    ...metrics,
    close: () => (closed ??= close()),
  };
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
