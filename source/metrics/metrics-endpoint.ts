import { createServer, type Server as HttpServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Address } from '../address.js';
import type { MetricsSource } from './metrics.js';
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from './prometheus.js';

/** A listening `/metrics` endpoint. */
export interface MetricsEndpoint {
  /** The address it is bound to (with the real port when 0 was asked for). */
  readonly address: AddressInfo;
  /** Stops it; it also stops by itself when the source's `metrics$` completes (the server closed). */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` over HTTP in the Prometheus text format, each scrape
 * a fresh {@link MetricsSource.snapshot}; anything else gets 404.
 *
 * @example
 * ```ts
 * const server = await serve({ port: 9000 });
 * const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 9100 });
 * // curl http://127.0.0.1:9100/metrics
 * ```
 */
export async function serveMetrics(source: MetricsSource, { host, port }: Address): Promise<MetricsEndpoint> {
  const http = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if ((request.method === 'GET' || request.method === 'HEAD') && path === '/metrics') {
      response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(prometheusText(source.snapshot()));
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
    }
  });
  http.listen(port, host);
  await once(http, 'listening');
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= stop(http));
  source.metrics$.subscribe({ complete: () => void close() });
  return { address: http.address() as AddressInfo, close };
}

/** Closes the listener and the idle keep-alive connections that would hold it open. */
async function stop(http: HttpServer): Promise<void> {
  const done = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  await done;
}
