import { counts } from '../metrics/accumulate.js';
import type { Histogram, MetricsSnapshot, ProcessFigures } from '../metrics/snapshot.js';

/** One worker's part of a merge: its snapshot, and the latency histogram of the interval its figures cover. */
export interface WorkerPart {
  /** Its process id, the `process` label of its series. */
  readonly pid: number;
  /** Totals as fresh as they come; interval figures (`rates`, `latency`, `eventLoopDelayP99`) of its latest interval. */
  readonly snapshot: MetricsSnapshot;
  /** Replies of that interval by latency bucket (cumulative, as `latencyHistogram`): what its percentiles came from. */
  readonly intervalLatency: Histogram;
}

/** What the primary adds of its own: the clock, and its process. */
export interface PrimaryPart {
  readonly pid: number;
  readonly time: number;
  /** Seconds since the server started listening. */
  readonly uptime: number;
  /** Seconds its own interval lasted. */
  readonly interval: number;
  readonly memory: { readonly rss: number; readonly heapUsed: number };
}

/**
 * The whole server as one snapshot, from its workers' (and from `exited`,
 * the lifetime counts of workers gone, see {@link retire}):
 *
 * - counters and gauges are sums, so that the `processes` series add up to
 *   the total exactly;
 * - the interval's latency percentiles come from the workers' interval
 *   histograms added bucket by bucket, never from their percentiles (an
 *   average of p99s is no p99); its `max` is the largest of their maxima;
 * - `eventLoopDelayP99` is the worst process's: each loop delays only its
 *   own connections;
 * - memory counts the primary too.
 *
 * Workers' intervals have the primary's length but not its phase: rates are
 * the sum of each worker's latest.
 */
export function mergeSnapshots(primary: PrimaryPart, workers: readonly WorkerPart[], exited?: MetricsSnapshot): MetricsSnapshot {
  const all = exited === undefined ? workers.map((part) => part.snapshot) : [...workers.map((part) => part.snapshot), exited];
  const sum = (pick: (snapshot: MetricsSnapshot) => number): number => all.reduce((total, snapshot) => total + pick(snapshot), 0);
  const interval = sumHistograms(workers.map((part) => part.intervalLatency));
  const counters = addCounters(all);
  return {
    ...counters,
    time: primary.time,
    uptime: primary.uptime,
    interval: primary.interval,
    connections: { ...counters.connections, active: sum((s) => s.connections.active), queued: sum((s) => s.connections.queued) },
    rates: {
      requests: sum((s) => s.rates.requests),
      replies: sum((s) => s.rates.replies),
      bytesIn: sum((s) => s.rates.bytesIn),
      bytesOut: sum((s) => s.rates.bytesOut),
    },
    latency:
      interval.count === 0
        ? { count: 0, p50: 0, p90: 0, p99: 0, max: 0 }
        : intervalLatency(interval, Math.max(...workers.map((part) => part.snapshot.latency.max))),
    workers: { size: sum((s) => s.workers.size), inUse: sum((s) => s.workers.inUse) },
    queue: { size: sum((s) => s.queue.size), waiting: sum((s) => s.queue.waiting) },
    // One worker draining is a restart in progress; all of them, a shutdown.
    draining: workers.length > 0 && workers.every((part) => part.snapshot.draining),
    eventLoopDelayP99: Math.max(0, ...workers.map((part) => part.snapshot.eventLoopDelayP99)),
    memory: { rss: primary.memory.rss + sum((s) => s.memory.rss), heapUsed: primary.memory.heapUsed + sum((s) => s.memory.heapUsed) },
    processes: [
      { process: String(primary.pid), role: 'primary', uptime: primary.uptime, connections: { active: 0, total: 0 }, requests: 0, replies: 0, memory: primary.memory, eventLoopDelayP99: 0 },
      ...workers.map(({ pid, snapshot }) => processFigures(String(pid), 'worker', snapshot)),
      ...(exited === undefined ? [] : [processFigures('exited', 'exited', exited)]),
    ],
  };
}

/** Percentiles of the merged interval histogram; none past the slowest reply, which the estimate within a bucket could overshoot. */
function intervalLatency(histogram: Histogram, max: number): MetricsSnapshot['latency'] {
  const at = (p: number): number => Math.min(max, percentile(histogram, p));
  return { count: histogram.count, p50: at(50), p90: at(90), p99: at(99), max };
}

function processFigures(process: string, role: ProcessFigures['role'], snapshot: MetricsSnapshot): ProcessFigures {
  return {
    process,
    role,
    uptime: snapshot.uptime,
    connections: { active: snapshot.connections.active, total: snapshot.connections.total },
    requests: snapshot.requests,
    replies: snapshot.replies,
    memory: snapshot.memory,
    eventLoopDelayP99: snapshot.eventLoopDelayP99,
  };
}

/**
 * Adds the lifetime counts of a worker that has exited (its last snapshot)
 * to those of the workers gone before it (`exited`, if any): its gauges and
 * interval figures no longer count, its counters must, or the server's
 * totals would go down each time a worker is replaced.
 */
export function retire(last: MetricsSnapshot, exited?: MetricsSnapshot): MetricsSnapshot {
  const gone: MetricsSnapshot = {
    ...last,
    interval: 0,
    connections: { ...last.connections, active: 0, queued: 0 },
    rates: { requests: 0, replies: 0, bytesIn: 0, bytesOut: 0 },
    latency: { count: 0, p50: 0, p90: 0, p99: 0, max: 0 },
    workers: { size: 0, inUse: 0 },
    queue: { size: 0, waiting: 0 },
    eventLoopDelayP99: 0,
    memory: { rss: 0, heapUsed: 0 },
    processes: undefined,
  };
  if (exited === undefined) return gone;
  const counters = addCounters([exited, gone]);
  return { ...gone, ...counters, connections: { ...counters.connections, active: 0, queued: 0 } };
}

/** The lifetime counters of `all`, added: what is summed the same way for the whole server and for the workers gone. */
function addCounters(all: readonly MetricsSnapshot[]): Pick<MetricsSnapshot, 'requests' | 'replies' | 'bytes' | 'latencyHistogram' | 'closeReasons' | 'rejectReasons' | 'tls' | 'accessLog' | 'proxy'> & {
  connections: Pick<MetricsSnapshot['connections'], 'rejected' | 'total'>;
} {
  const sum = (pick: (snapshot: MetricsSnapshot) => number): number => all.reduce((total, snapshot) => total + pick(snapshot), 0);
  const tls = all.filter((snapshot) => snapshot.tls !== undefined).map((snapshot) => snapshot.tls!);
  const logs = all.filter((snapshot) => snapshot.accessLog !== undefined).map((snapshot) => snapshot.accessLog!);
  const proxies = all.filter((snapshot) => snapshot.proxy !== undefined).map((snapshot) => snapshot.proxy!);
  return {
    connections: { rejected: sum((s) => s.connections.rejected), total: sum((s) => s.connections.total) },
    requests: sum((s) => s.requests),
    replies: sum((s) => s.replies),
    bytes: { in: sum((s) => s.bytes.in), out: sum((s) => s.bytes.out) },
    latencyHistogram: sumHistograms(all.map((s) => s.latencyHistogram)),
    closeReasons: sumCounts(all.map((s) => s.closeReasons)),
    rejectReasons: sumCounts(all.map((s) => s.rejectReasons)),
    tls:
      tls.length === 0
        ? undefined
        : {
            handshakes: tls.reduce((total, t) => total + t.handshakes, 0),
            protocols: sumCounts(tls.map((t) => t.protocols)),
            failures: sumCounts(tls.map((t) => t.failures)),
            handshakeTime: sumHistograms(tls.map((t) => t.handshakeTime)),
          },
    accessLog:
      logs.length === 0
        ? undefined
        : { written: logs.reduce((total, log) => total + log.written, 0), dropped: logs.reduce((total, log) => total + log.dropped, 0) },
    proxy:
      proxies.length === 0
        ? undefined
        : {
            headers: sumCounts(proxies.map((proxy) => proxy.headers)),
            local: proxies.reduce((total, proxy) => total + proxy.local, 0),
            failures: sumCounts(proxies.map((proxy) => proxy.failures)),
          },
  };
}

/** Cumulative histograms with the same bounds, added bucket by bucket. Throws if their bounds differ. */
export function sumHistograms(histograms: readonly Histogram[]): Histogram {
  const [first] = histograms;
  if (first === undefined) return { buckets: [], sum: 0, count: 0 };
  for (const histogram of histograms) {
    if (histogram.buckets.length !== first.buckets.length || histogram.buckets.some((bucket, index) => bucket.le !== first.buckets[index]!.le)) {
      throw new RangeError('histograms with different bucket bounds cannot be added');
    }
  }
  return {
    buckets: first.buckets.map(({ le }, index) => ({ le, count: histograms.reduce((total, histogram) => total + histogram.buckets[index]!.count, 0) })),
    sum: histograms.reduce((total, histogram) => total + histogram.sum, 0),
    count: histograms.reduce((total, histogram) => total + histogram.count, 0),
  };
}

/** What a cumulative histogram gained between `earlier` and `later` (same bounds): the observations in between. */
export function histogramSince(later: Histogram, earlier: Histogram | undefined): Histogram {
  if (earlier === undefined) return later;
  return {
    buckets: later.buckets.map(({ le, count }, index) => ({ le, count: count - (earlier.buckets[index]?.count ?? 0) })),
    sum: later.sum - earlier.sum,
    count: later.count - earlier.count,
  };
}

/**
 * The `p`th percentile (0–100) of a cumulative histogram, interpolated
 * linearly inside the bucket it falls in, as Prometheus's
 * `histogram_quantile` does: exact to the bucket, an estimate within it. One
 * that falls in the unbounded last bucket is its lower bound, the largest
 * finite bound. 0 for an empty histogram.
 */
export function percentile(histogram: Histogram, p: number): number {
  if (histogram.count === 0) return 0;
  const rank = (p / 100) * histogram.count;
  let below = 0;
  let lower = 0;
  for (const { le, count } of histogram.buckets) {
    if (count >= rank && count > below) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / (count - below);
    }
    below = count;
    if (le !== Infinity) lower = le;
  }
  return lower;
}

function sumCounts(list: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const total = counts();
  for (const byName of list) for (const [name, count] of Object.entries(byName)) total[name] = (total[name] ?? 0) + count;
  return total;
}
