import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Observable, scan, Subject } from 'rxjs';
import type { Logger } from '../logger.js';
import type { ServerEvent } from '../server/events.js';
import { accumulate, counts, emptyState, LATENCY_BOUNDS_MS, waiting, type MetricsState } from './accumulate.js';
import { logSnapshot } from './log-line.js';
import type { Histogram, MetricsSnapshot } from './snapshot.js';

/** Where snapshots come from: a server, or anything else that keeps metrics. */
export interface MetricsSource {
  /** A snapshot every metrics interval; completes when the server has closed. Hot. */
  readonly metrics$: Observable<MetricsSnapshot>;
  /** Totals now; interval figures over the interval in progress. Does not end the interval. */
  snapshot(): MetricsSnapshot;
}

/** Options of {@link startMetrics}. */
export interface MetricsOptions {
  /** Time between periodic snapshots (ms); 0 takes none (and logs none): only `snapshot()` then. */
  readonly metricsInterval: number;
  /** The worker pool's size, reported beside its use. */
  readonly workers: number;
  /** The queue's size, reported beside the connections waiting in it. */
  readonly queue: number;
  /** Gets one line per periodic snapshot. */
  readonly logger: Logger;
  /** Whether periodic snapshots are logged; default true. */
  readonly metricsLog?: boolean;
  /** The server serves TLS: snapshots report its handshakes. */
  readonly tls?: boolean;
  /** The server keeps an access log: snapshots report its lines written and dropped. */
  readonly accessLog?: boolean;
  /** The server reads PROXY headers: snapshots report them. */
  readonly proxy?: boolean;
}

/** Event loop delay sampling period (ms): fine enough for a p99, rare enough to cost nothing. */
const LOOP_DELAY_RESOLUTION = 10;

/**
 * Scans a server's events into running totals, and every `metricsInterval`
 * closes an interval: takes a snapshot, logs it, emits it, and starts the
 * interval figures afresh. Stops, its timer and event-loop monitor with it,
 * when `events$` completes (the server has closed).
 */
export function startMetrics(events$: Observable<ServerEvent>, options: MetricsOptions): MetricsSource {
  const state = emptyState();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION });
  loopDelay.enable();
  const started = performance.now();
  let intervalStart = started;
  let previous = { requests: 0, replies: 0, bytesIn: 0, bytesOut: 0 };
  const snapshots = new Subject<MetricsSnapshot>();

  const snapshot = (): MetricsSnapshot => {
    const now = performance.now();
    const seconds = (now - intervalStart) / 1000;
    const rate = (count: number, before: number): number => (seconds > 0 ? (count - before) / seconds : 0);
    return {
      ...totals(state, options, (now - started) / 1000),
      ...(options.tls ? { tls: tlsTotals(state) } : {}),
      ...(options.accessLog ? { accessLog: { written: state.accessLogWritten, dropped: state.accessLogDropped } } : {}),
      ...(options.proxy ? { proxy: { headers: { ...state.proxyHeaders }, local: state.proxyLocal, failures: { ...state.proxyFailures } } } : {}),
      interval: seconds,
      rates: {
        requests: rate(state.requests, previous.requests),
        replies: rate(state.replies, previous.replies),
        bytesIn: rate(state.bytesIn, previous.bytesIn),
        bytesOut: rate(state.bytesOut, previous.bytesOut),
      },
      latency: intervalLatency(state),
      // The monitor records the time between its timer's runs: the period itself is no delay.
      eventLoopDelayP99: loopDelay.count > 0 ? Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION) : 0,
    };
  };

  const closeInterval = (): void => {
    const taken = snapshot();
    intervalStart = performance.now();
    previous = { requests: state.requests, replies: state.replies, bytesIn: state.bytesIn, bytesOut: state.bytesOut };
    state.intervalLatency.reset();
    loopDelay.reset();
    if (options.metricsLog !== false) logSnapshot(options.logger, taken);
    snapshots.next(taken);
  };

  const timer = options.metricsInterval > 0 ? setInterval(closeInterval, options.metricsInterval).unref() : undefined;
  const stop = (): void => {
    clearInterval(timer);
    loopDelay.disable();
    snapshots.complete();
  };
  events$.pipe(scan(accumulate, state)).subscribe({ complete: stop, error: stop });

  return { metrics$: snapshots.asObservable(), snapshot };
}

/** The figures that do not depend on the interval. */
function totals(state: MetricsState, { workers, queue }: Pick<MetricsOptions, 'workers' | 'queue'>, uptime: number): Omit<MetricsSnapshot, 'interval' | 'rates' | 'latency' | 'eventLoopDelayP99'> {
  const active = state.opened - state.closed;
  const queued = waiting(state);
  const memory = process.memoryUsage();
  return {
    time: Date.now(),
    uptime,
    connections: { active, queued, rejected: state.rejected, total: state.opened },
    requests: state.requests,
    replies: state.replies,
    bytes: { in: state.bytesIn, out: state.bytesOut },
    latencyHistogram: cumulativeHistogram(state.latencyBuckets, state.latencySum),
    workers: { size: workers, inUse: active },
    queue: { size: queue, waiting: queued },
    draining: state.draining,
    memory: { rss: memory.rss, heapUsed: memory.heapUsed },
    closeReasons: counts(state.closeReasons),
    rejectReasons: counts(state.rejectReasons),
  };
}

function tlsTotals(state: MetricsState): NonNullable<MetricsSnapshot['tls']> {
  return {
    handshakes: state.handshakes,
    protocols: { ...state.tlsProtocols },
    failures: { ...state.handshakeFailures },
    handshakeTime: cumulativeHistogram(state.handshakeBuckets, state.handshakeSum),
  };
}

/** Counts per bucket of {@link LATENCY_BOUNDS_MS} as the cumulative histogram Prometheus aggregates. */
function cumulativeHistogram(buckets: readonly number[], sum: number): Histogram {
  let cumulative = 0;
  return {
    buckets: buckets.map((count, index) => ({ le: LATENCY_BOUNDS_MS[index] ?? Infinity, count: (cumulative += count) })),
    sum,
    count: cumulative,
  };
}

/** Percentiles of the interval's histogram, µs → ms. */
function intervalLatency({ intervalLatency: histogram }: MetricsState): MetricsSnapshot['latency'] {
  if (histogram.count === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const ms = (micros: number): number => micros / 1000;
  return {
    count: histogram.count,
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  };
}
