import type { Logger } from '../logger.js';
import type { MetricsSnapshot } from './snapshot.js';

/**
 * The periodic line, in the spirit of the reference server's
 * `Metrics: Active=…, Total=…, RPS=…`, with interval rates and latency.
 *
 * @example
 * ```ts
 * metricsLine(server.snapshot());
 * // 'Metrics: Active=3 Queued=0 Rejected=0 Total=57 Requests=5120 RPS=1023.8 In=40.0KiB/s Out=81.3KiB/s p50=0.21ms p90=0.48ms p99=1.90ms max=3.02ms Workers=3/1000 LoopP99=11.2ms RSS=61.2MiB Heap=12.5MiB Closed=end:54'
 * ```
 *
 * A server of several processes adds how many serve: `… Processes=2`; the
 * rest of its line is the whole server's (see `serve --processes`).
 *
 * A TLS server's line goes on with its handshakes since the start:
 * `… Handshakes=57 Protocols=TLSv1.3:57 HandshakeFailed=timeout:1 HandshakeAvg=3.20ms`;
 * one with an access log, with its lines: `… AccessLog=written:54,dropped:0`;
 * one behind a proxy, with its PROXY headers: `… Proxy=v2:57 ProxyLocal=12 ProxyFailed=untrusted:1`.
 */
export function metricsLine(snapshot: MetricsSnapshot): string {
  const { connections, rates, latency } = snapshot;
  const closed = counts(snapshot.closeReasons);
  return [
    'Metrics:',
    `Active=${connections.active}`,
    `Queued=${connections.queued}`,
    `Rejected=${connections.rejected}`,
    `Total=${connections.total}`,
    `Requests=${snapshot.requests}`,
    `RPS=${rates.requests.toFixed(1)}`,
    `In=${bytes(rates.bytesIn)}/s`,
    `Out=${bytes(rates.bytesOut)}/s`,
    `p50=${millis(latency.p50)}`,
    `p90=${millis(latency.p90)}`,
    `p99=${millis(latency.p99)}`,
    `max=${millis(latency.max)}`,
    `Workers=${snapshot.workers.inUse}/${snapshot.workers.size}`,
    `LoopP99=${millis(snapshot.eventLoopDelayP99)}`,
    `RSS=${bytes(snapshot.memory.rss)}`,
    `Heap=${bytes(snapshot.memory.heapUsed)}`,
    `Closed=${closed}`,
    ...(snapshot.processes === undefined ? [] : [`Processes=${snapshot.processes.filter((figures) => figures.role === 'worker').length}`]),
    ...(snapshot.tls === undefined ? [] : tlsFields(snapshot.tls)),
    ...(snapshot.accessLog === undefined ? [] : [`AccessLog=written:${snapshot.accessLog.written},dropped:${snapshot.accessLog.dropped}`]),
    ...(snapshot.proxy === undefined ? [] : proxyFields(snapshot.proxy)),
  ].join(' ');
}

/** A TLS server's handshakes since the start: `Handshakes=120 Protocols=TLSv1.3:118,TLSv1.2:2 HandshakeFailed=timeout:1 HandshakeAvg=3.20ms`. */
function tlsFields(tls: NonNullable<MetricsSnapshot['tls']>): string[] {
  const { sum, count } = tls.handshakeTime;
  return [
    `Handshakes=${tls.handshakes}`,
    `Protocols=${counts(tls.protocols)}`,
    `HandshakeFailed=${counts(tls.failures)}`,
    `HandshakeAvg=${count === 0 ? '-' : millis(sum / count)}`,
  ];
}

/** A server's PROXY headers since the start: `Proxy=v1:3,v2:120 ProxyLocal=40 ProxyFailed=timeout:1`. */
function proxyFields(proxy: NonNullable<MetricsSnapshot['proxy']>): string[] {
  return [`Proxy=${counts(proxy.headers)}`, `ProxyLocal=${proxy.local}`, `ProxyFailed=${counts(proxy.failures)}`];
}

function counts(byName: Readonly<Record<string, number>>): string {
  return Object.entries(byName).map(([name, count]) => `${name}:${count}`).join(',') || '-';
}

/**
 * The snapshot as flat fields, numbers in base units (ms, bytes, per second),
 * for log shippers. `latencyHistogram` is left to `/metrics` (too big for a
 * line) and `time` to the logger's own timestamp.
 */
export function metricsFields(snapshot: MetricsSnapshot): Record<string, unknown> {
  const { latencyHistogram: _histogram, time: _time, ...fields } = snapshot;
  return fields;
}

/** Logs a snapshot the way the logger renders best: the text line, or structured fields. */
export function logSnapshot(logger: Logger, snapshot: MetricsSnapshot): void {
  if (logger.format === 'text') logger.log('info', metricsLine(snapshot));
  else logger.log('info', 'metrics', metricsFields(snapshot));
}

function millis(ms: number): string {
  return `${ms.toFixed(2)}ms`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

function bytes(count: number): string {
  let unit = 0;
  while (count >= 1024 && unit < BYTE_UNITS.length - 1) {
    count /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(count)}B` : `${count.toFixed(1)}${BYTE_UNITS[unit]}`;
}
