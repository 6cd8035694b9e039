import type { Histogram, MetricsSnapshot, ProcessFigures } from './snapshot.js';

/** What Prometheus scrapes: the text exposition format, version 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One line of a metric family: `<name><suffix>{<labels>} <value>`. */
interface Sample {
  readonly suffix?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A snapshot in the Prometheus text exposition format: lifetime counters
 * (`…_total`), gauges for the present, and reply latency as a cumulative
 * histogram in seconds. Interval rates and percentiles are left out on
 * purpose: Prometheus derives them from the counters over any window.
 * Labels are reasons only, never peers, so the series stay few.
 *
 * @example
 * ```ts
 * response.end(prometheusText(server.snapshot()));
 * ```
 */
export function prometheusText(snapshot: MetricsSnapshot): string {
  const { connections, latencyHistogram: latency } = snapshot;
  const text: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string, samples: readonly Sample[]): void => {
    text.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const { suffix = '', labels = {}, value } of samples) text.push(`${name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
  };
  const plain = (value: number): Sample[] => [{ value }];
  const byReason = (counts: Readonly<Record<string, number>>): Sample[] => Object.entries(counts).map(([reason, value]) => ({ labels: { reason }, value }));

  metric('tcprx_uptime_seconds', 'gauge', 'Seconds since the server started listening.', plain(snapshot.uptime));
  metric('tcprx_connections_active', 'gauge', 'Connections being served.', plain(connections.active));
  metric('tcprx_connections_queued', 'gauge', 'Connections waiting for a worker.', plain(connections.queued));
  metric('tcprx_connections_total', 'counter', 'Connections served.', plain(connections.total));
  metric('tcprx_connections_rejected_total', 'counter', 'Connections turned away, by reason.', byReason(snapshot.rejectReasons));
  metric('tcprx_connections_closed_total', 'counter', 'Served connections closed, by reason.', byReason(snapshot.closeReasons));
  metric('tcprx_requests_total', 'counter', 'Requests (frames) received.', plain(snapshot.requests));
  metric('tcprx_replies_total', 'counter', 'Replies written.', plain(snapshot.replies));
  metric('tcprx_received_bytes_total', 'counter', 'Bytes read from peers.', plain(snapshot.bytes.in));
  metric('tcprx_sent_bytes_total', 'counter', 'Bytes handed to peer sockets.', plain(snapshot.bytes.out));
  metric('tcprx_reply_latency_seconds', 'histogram', 'From the arrival of a request to the hand-over of its reply to the socket.', seconds(latency));
  if (snapshot.tls !== undefined) {
    const { tls } = snapshot;
    metric('tcprx_tls_handshakes_total', 'counter', 'TLS handshakes completed, by protocol version.', Object.entries(tls.protocols).map(([protocol, value]) => ({ labels: { protocol }, value })));
    metric('tcprx_tls_handshake_failures_total', 'counter', 'TLS handshakes failed, by reason.', byReason(tls.failures));
    metric('tcprx_tls_handshake_duration_seconds', 'histogram', 'From the arrival of a connection to the end of its TLS handshake.', seconds(tls.handshakeTime));
  }
  if (snapshot.accessLog !== undefined) {
    metric('tcprx_access_log_lines_total', 'counter', 'Access log lines written.', plain(snapshot.accessLog.written));
    metric('tcprx_access_log_dropped_lines_total', 'counter', 'Access log lines dropped: the sink was too slow or failed.', plain(snapshot.accessLog.dropped));
  }
  if (snapshot.proxy !== undefined) {
    const { proxy } = snapshot;
    metric('tcprx_proxy_headers_total', 'counter', 'PROXY headers read, by version.', Object.entries(proxy.headers).map(([version, value]) => ({ labels: { version: version.slice(1) }, value })));
    metric('tcprx_proxy_local_total', 'counter', 'PROXY headers with the LOCAL command: the proxy\'s own connections.', plain(proxy.local));
    metric('tcprx_proxy_header_failures_total', 'counter', 'Connections closed for their PROXY header, by reason.', byReason(proxy.failures));
  }
  metric('tcprx_workers', 'gauge', 'Size of the worker pool.', plain(snapshot.workers.size));
  metric('tcprx_workers_in_use', 'gauge', 'Workers serving a connection.', plain(snapshot.workers.inUse));
  metric('tcprx_queue_size', 'gauge', 'Connections that may wait for a worker.', plain(snapshot.queue.size));
  metric('tcprx_draining', 'gauge', '1 once the server has begun to drain, else 0.', plain(snapshot.draining ? 1 : 0));
  metric('tcprx_event_loop_delay_p99_seconds', 'gauge', '99th percentile of the event loop delay over the latest interval.', plain(snapshot.eventLoopDelayP99 / 1000));
  metric('process_resident_memory_bytes', 'gauge', 'Resident set size.', plain(snapshot.memory.rss));
  metric('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use.', plain(snapshot.memory.heapUsed));
  if (snapshot.processes !== undefined) {
    // Families of their own rather than a label on the families above: a sum over every series of a family stays the server's total.
    const series = (roles: ReadonlyArray<ProcessFigures['role']>, pick: (figures: ProcessFigures) => number): Sample[] =>
      snapshot.processes!.filter((figures) => roles.includes(figures.role)).map((figures) => ({ labels: { process: figures.process, role: figures.role }, value: pick(figures) }));
    const live = ['primary', 'worker'] as const;
    const counted = ['worker', 'exited'] as const; // the workers gone keep counting, or the series would not add up
    metric('tcprx_process_uptime_seconds', 'gauge', 'Seconds since the process started serving, by process.', series(live, (figures) => figures.uptime));
    metric('tcprx_process_connections_active', 'gauge', 'Connections being served, by worker process.', series(['worker'], (figures) => figures.connections.active));
    metric('tcprx_process_connections_total', 'counter', 'Connections served, by worker process (exited: by the workers gone).', series(counted, (figures) => figures.connections.total));
    metric('tcprx_process_requests_total', 'counter', 'Requests (frames) received, by worker process (exited: by the workers gone).', series(counted, (figures) => figures.requests));
    metric('tcprx_process_replies_total', 'counter', 'Replies written, by worker process (exited: by the workers gone).', series(counted, (figures) => figures.replies));
    metric('tcprx_process_event_loop_delay_p99_seconds', 'gauge', '99th percentile of the event loop delay over the latest interval, by worker process.', series(['worker'], (figures) => figures.eventLoopDelayP99 / 1000));
    metric('tcprx_process_resident_memory_bytes', 'gauge', 'Resident set size, by process.', series(live, (figures) => figures.memory.rss));
    metric('tcprx_process_heap_used_bytes', 'gauge', 'V8 heap in use, by process.', series(live, (figures) => figures.memory.heapUsed));
  }
  return text.join('\n') + '\n';
}

/** A histogram in ms as the samples of a Prometheus histogram in seconds. */
function seconds(histogram: Histogram): Sample[] {
  return [
    ...histogram.buckets.map(({ le, count }) => ({ suffix: '_bucket', labels: { le: formatValue(le / 1000) }, value: count })),
    { suffix: '_sum', value: histogram.sum / 1000 },
    { suffix: '_count', value: histogram.count },
  ];
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** The format's three escapes in label values: backslash, double quote, line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (character) => (character === '\n' ? '\\n' : `\\${character}`));
}

function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}
