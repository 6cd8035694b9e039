import t from 'tap';
import { histogramSince, mergeSnapshots, percentile, retire, sumHistograms, type WorkerPart } from '../../source/cluster/merge-snapshots.js';
import { accumulate, emptyState, LATENCY_BOUNDS_MS } from '../../source/metrics/accumulate.js';
import { startMetrics } from '../../source/metrics/metrics.js';
import { silentLogger } from '../../source/logger.js';
import type { Histogram } from '../../source/metrics/snapshot.js';
import { Subject } from 'rxjs';
import type { ServerEvent } from '../../source/server/events.js';

/** A real snapshot: `latencies` (ms) scanned by the metrics code, one reply each, over `connections` connections. */
function snapshotOf(latencies: readonly number[], connections: number) {
  const events = new Subject<ServerEvent>();
  const metrics = startMetrics(events, { metricsInterval: 0, workers: 10, queue: 10, logger: silentLogger });
  for (let c = 0; c < connections; c++) events.next({ type: 'opened' } as ServerEvent);
  events.next({ type: 'read', bytes: latencies.length * 6, frames: latencies.length } as ServerEvent);
  for (const latency of latencies) events.next({ type: 'written', bytes: 40, replies: 1, latency } as ServerEvent);
  const snapshot = metrics.snapshot();
  events.complete();
  return snapshot;
}

const histogramOf = (latencies: readonly number[]): Histogram => {
  const state = latencies.reduce((s, latency) => accumulate(s, { type: 'written', bytes: 1, replies: 1, latency } as ServerEvent), emptyState());
  let cumulative = 0;
  return { buckets: state.latencyBuckets.map((count, i) => ({ le: LATENCY_BOUNDS_MS[i] ?? Infinity, count: (cumulative += count) })), sum: state.latencySum, count: cumulative };
};

const primary = { pid: 1, time: 0, uptime: 5, interval: 1, memory: { rss: 1000, heapUsed: 100 } };

t.test('counters add up: the whole server is the sum of its workers and the workers gone', async (t) => {
  const fast = snapshotOf(Array.from({ length: 90 }, () => 0.2), 3);
  const slow = snapshotOf(Array.from({ length: 10 }, () => 40), 2);
  const gone = snapshotOf([3, 3, 3], 1);
  const parts: WorkerPart[] = [
    { pid: 10, snapshot: fast, intervalLatency: fast.latencyHistogram },
    { pid: 11, snapshot: slow, intervalLatency: slow.latencyHistogram },
  ];
  const merged = mergeSnapshots(primary, parts, retire(gone));
  t.equal(merged.requests, 103);
  t.equal(merged.replies, 103);
  t.equal(merged.connections.total, 6);
  t.equal(merged.connections.active, 5, 'the workers gone have no connection open');
  t.equal(merged.latencyHistogram.count, 103);
  t.same(merged.latencyHistogram, sumHistograms([fast.latencyHistogram, slow.latencyHistogram, gone.latencyHistogram]));
  t.equal(merged.memory.rss, 1000 + fast.memory.rss + slow.memory.rss, 'the primary counts, the workers gone do not');
  const workers = merged.processes!.filter((figures) => figures.role !== 'primary');
  t.equal(workers.reduce((sum, figures) => sum + figures.requests, 0), merged.requests, 'the processes add up to the server');
  t.same(workers.map((figures) => figures.process), ['10', '11', 'exited']);
  const twice = retire(gone, retire(gone));
  t.equal(twice.requests, 6, 'retiring adds to the workers gone before');
  t.equal(twice.latencyHistogram.count, 6);
});

t.test('percentiles come from the merged histogram, never from averaged percentiles', async (t) => {
  // 90 fast replies in one worker, 10 slow in the other: the p99 of the whole is slow, the average of the two p99s is not it.
  const fast = histogramOf(Array.from({ length: 90 }, () => 0.2));
  const slow = histogramOf(Array.from({ length: 10 }, () => 40));
  const merged = sumHistograms([fast, slow]);
  t.ok(percentile(merged, 99) > 25 && percentile(merged, 99) <= 50, `p99 ${percentile(merged, 99)} in the 25–50 ms bucket`);
  t.ok(percentile(merged, 50) > 0.1 && percentile(merged, 50) <= 0.25, `p50 ${percentile(merged, 50)} in the 0.1–0.25 ms bucket`);
  t.ok(percentile(merged, 90) <= 0.25, 'the 90th reply is still a fast one');
  t.equal(percentile(histogramOf([]), 99), 0);
  t.equal(percentile(histogramOf([20_000]), 50), 10_000, 'past the last bound: the last bound');
  const snapshot = (latencies: number[]) => snapshotOf(latencies, 1);
  const a = snapshot(Array.from({ length: 90 }, () => 0.2));
  const b = snapshot(Array.from({ length: 10 }, () => 40));
  const whole = mergeSnapshots(primary, [
    { pid: 10, snapshot: a, intervalLatency: fast },
    { pid: 11, snapshot: b, intervalLatency: slow },
  ]);
  t.equal(whole.latency.count, 100);
  t.ok(Math.abs(whole.latency.max - 40) < 0.1, `max ${whole.latency.max}: the slowest reply of either`);
  t.equal(whole.latency.p99, Math.min(whole.latency.max, percentile(merged, 99)), 'no percentile past the slowest reply');
  t.same(histogramSince(sumHistograms([fast, slow]), fast), { ...slow, sum: merged.sum - fast.sum }, 'an interval is the difference of two cumulative histograms');
});

t.test('PROXY header counts add up across the workers, as the TLS and access log ones do', async (t) => {
  const withProxy = (events: ServerEvent[]) => {
    const subject = new Subject<ServerEvent>();
    const metrics = startMetrics(subject, { metricsInterval: 0, workers: 10, queue: 10, logger: silentLogger, proxy: true });
    for (const event of events) subject.next(event);
    const snapshot = metrics.snapshot();
    subject.complete();
    return snapshot;
  };
  const a = withProxy([{ type: 'proxy-header', version: 2, command: 'local' }, { type: 'proxy-failed', reason: 'timeout' }]);
  const b = withProxy([{ type: 'proxy-header', version: 2, command: 'proxy' }, { type: 'proxy-header', version: 1, command: 'proxy' }]);
  const merged = mergeSnapshots(primary, [
    { pid: 10, snapshot: a, intervalLatency: a.latencyHistogram },
    { pid: 11, snapshot: b, intervalLatency: b.latencyHistogram },
  ]);
  t.same({ ...merged.proxy }, { headers: { v1: 1, v2: 2 }, local: 1, failures: { timeout: 1 } });
  t.equal(mergeSnapshots(primary, [{ pid: 12, snapshot: snapshotOf([1], 1), intervalLatency: histogramOf([1]) }]).proxy, undefined, 'absent where no worker reads headers');
});

t.test('histograms with different bounds are not added', async (t) => {
  t.throws(() => sumHistograms([{ buckets: [{ le: 1, count: 1 }], sum: 1, count: 1 }, { buckets: [{ le: 2, count: 1 }], sum: 1, count: 1 }]), RangeError);
});
