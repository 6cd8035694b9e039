import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Address } from '../address.js';
import { textLogger, type Logger } from '../logger.js';
import type { MetricsSource } from './metrics.js';
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from './prometheus.js';
import { readiness } from './readiness.js';
import type { MetricsSnapshot } from './snapshot.js';

const TEXT = 'text/plain';

/** A listening `/metrics` (and `/healthz`, `/readyz`) endpoint. */
export interface MetricsEndpoint {
  /** The address it is bound to (with the real port when 0 was asked for). */
  readonly address: AddressInfo;
  /** Stops it; it also stops by itself when the source's `metrics$` completes (the server closed). */
  close(): Promise<void>;
}

/** Options of {@link serveMetrics}. */
export interface MetricsEndpointOptions {
  /** A client gets this long (ms) to send its whole request, headers first; then it is cut off. Default 10 s. */
  requestTimeout?: number;
  /** Most HTTP connections at once; more are dropped as they arrive. Default 64. */
  maxConnections?: number;
  /** Where a failing snapshot or listener is reported. Default: text lines on stderr. */
  logger?: Logger;
  /**
   * Awaited before each scrape's snapshot, to make it fresh: a cluster
   * primary asks its workers for theirs. It must settle within a moment
   * (the primary's waits at most 1 s); a rejection is logged and the
   * snapshot taken anyway.
   */
  refresh?: () => Promise<void>;
}

/**
 * Serves, over HTTP (`GET` or `HEAD`; another method gets 405, another path
 * 404, a request that is not HTTP 400):
 * - `/metrics`: the Prometheus text format, each scrape a fresh
 *   {@link MetricsSource.snapshot};
 * - `/healthz`: 200 while the process serves HTTP at all (liveness);
 * - `/readyz`: 200 while the server takes new connections, 503 with the
 *   reason (`draining`, `busy`: pool and queue full) otherwise; see
 *   {@link readiness}. Load balancers (HAProxy's `option httpchk`) and
 *   Kubernetes probes route around a busy or stopping instance with it.
 *
 * It shares the process with the server it reports on, so it guards it:
 * connections are few (`maxConnections`) and short-lived (`requestTimeout`,
 * against clients that send their headers a byte at a time), and nothing a
 * client does — garbage, a reset mid-response — nor a snapshot that throws
 * can crash the process. Rejects if it cannot listen (EADDRINUSE…).
 *
 * @example
 * ```ts
 * const server = await serve({ port: 9000 });
 * const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 9100 });
 * // curl http://127.0.0.1:9100/metrics
 * ```
 */
export async function serveMetrics(
  source: MetricsSource,
  { host, port }: Address,
  { requestTimeout = 10_000, maxConnections = 64, logger = textLogger(), refresh }: MetricsEndpointOptions = {},
): Promise<MetricsEndpoint> {
  const http = createServer(
    {
      requestTimeout,
      headersTimeout: requestTimeout,
      // How often Node checks those two timeouts (default 30 s, long past a 10 s timeout).
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, requestTimeout / 4)),
    },
    (request, response) => {
      if (refresh === undefined || request.url?.split('?')[0] !== '/metrics') return answer(source, request, response, logger);
      refresh().then(
        () => answer(source, request, response, logger),
        (error: unknown) => {
          logger.log('error', 'metrics refresh failed', { error });
          answer(source, request, response, logger);
        },
      );
    },
  );
  http.maxConnections = maxConnections;
  // A request on a kept-alive connection must still come within the request timeout.
  http.keepAliveTimeout = Math.min(http.keepAliveTimeout, requestTimeout);
  // Bad requests and client resets are left to Node's default (400 if it can, then close).
  http.listen(port, host);
  await once(http, 'listening'); // rejects on a listen error, which leaves nothing open
  http.on('error', (error) => logger.log('error', 'metrics endpoint failed', { error }));
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= stop(http));
  source.metrics$.subscribe({ complete: () => void close() });
  return { address: http.address() as AddressInfo, close };
}

/** What each path answers, from a snapshot: status, content type and body. */
const routes = new Map<string, (snapshot: () => MetricsSnapshot) => readonly [number, string, string]>([
  ['/metrics', (snapshot) => [200, PROMETHEUS_CONTENT_TYPE, prometheusText(snapshot())]],
  // Liveness asks nothing of the server: answering at all is the answer.
  ['/healthz', () => [200, TEXT, 'ok\n']],
  [
    '/readyz',
    (snapshot) => {
      const state = readiness(snapshot());
      return state.ready ? [200, TEXT, 'ready\n'] : [503, TEXT, `not ready: ${state.reason}\n`];
    },
  ],
]);

function answer(source: MetricsSource, request: IncomingMessage, response: ServerResponse, logger: Logger): void {
  const route = routes.get(request.url?.split('?')[0] ?? '');
  if (route === undefined) {
    response.writeHead(404, { 'content-type': TEXT }).end('not found: try GET /metrics, /healthz or /readyz\n');
  } else if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { 'content-type': TEXT, allow: 'GET, HEAD' }).end('method not allowed: try GET\n');
  } else {
    let status: number, type: string, body: string;
    try {
      [status, type, body] = route(() => source.snapshot());
    } catch (error) {
      logger.log('error', 'metrics snapshot failed', { error });
      response.writeHead(500, { 'content-type': TEXT }).end('metrics unavailable\n');
      return;
    }
    response.writeHead(status, { 'content-type': type }).end(body);
  }
}

/** Closes the listener and the idle keep-alive connections that would hold it open. */
async function stop(http: HttpServer): Promise<void> {
  const done = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  await done;
}
