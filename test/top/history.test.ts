import t from 'tap';
import { advance, quantile, type Target } from '../../source/top/history.js';
import type { Reading } from '../../source/top/reading.js';
import { sparkline } from '../../source/top/sparkline.js';

const target: Target = { label: '127.0.0.1:9100', address: { host: '127.0.0.1', port: 9100 } };
const buckets = (counts: number[]): Reading['latency'] => [0.001, 0.002, 0.005, Infinity].map((le, index) => ({ le, count: counts[index]! }));

function reading(requests: number, latency: number[], overrides: Partial<Reading> = {}): Reading {
  return {
    uptime: 10, requests, served: 1, latency: buckets(latency), active: 1, queued: 0, queueSize: 8, workers: 8, draining: false,
    rejected: {}, closed: {}, eventLoopDelayP99: 0.001, rss: 50 * 1024 ** 2, heapUsed: 1, ...overrides,
  };
}
const up = (reading: Reading) => ({ ok: true as const, processes: new Map([['', reading]]) });

t.test('the quantile of an interval comes from the difference of two histograms, as Prometheus reckons it', async (t) => {
  t.equal(quantile(0.5, undefined, buckets([50, 100, 100, 100])), 0.001, 'the median at the first bound');
  t.equal(quantile(0.99, buckets([0, 0, 0, 0]), buckets([0, 0, 100, 100])), 0.002 + 0.003 * 0.99, 'linear within its bucket');
  t.equal(quantile(0.99, buckets([100, 100, 100, 100]), buckets([100, 100, 100, 200])), 0.005, 'the +Inf bucket: its lower bound');
  t.ok(Number.isNaN(quantile(0.99, buckets([5, 5, 5, 5]), buckets([5, 5, 5, 5]))), 'no replies in between: NaN');
});

t.test('rates are per second between readings; a restart counts from zero', async (t) => {
  const first = advance(undefined, target, up(reading(1000, [0, 0, 0, 0])), 0, 1000, 60);
  t.equal(first.processes[0]!.figures, undefined, 'one reading has no rates');
  const second = advance(first, target, up(reading(3000, [0, 2000, 2000, 2000], { closed: { idle: 4 } })), 2000, 2000, 60);
  t.match(second.processes[0]!.figures, { requestsPerSecond: 1000, closedPerSecond: { idle: 2 } });
  t.same(second.processes[0]!.requestRates.slice(-2).map(String), ['NaN', '1000']);
  const restarted = advance(second, target, up(reading(500, [0, 500, 500, 500])), 3000, 1000, 60);
  t.equal(restarted.processes[0]!.figures!.requestsPerSecond, 500);
});

t.test('a failed scrape keeps the last reading, marks the server down since then, and leaves a gap', async (t) => {
  let state = advance(undefined, target, up(reading(0, [0, 0, 0, 0])), 0, 1000, 3);
  state = advance(state, target, up(reading(100, [0, 0, 0, 0])), 1000, 1000, 3);
  state = advance(state, target, { ok: false, error: 'connection refused' }, 2000, 1000, 3);
  state = advance(state, target, { ok: false, error: 'connection refused' }, 3000, 1000, 3);
  t.same(state.down, { error: 'connection refused', since: 2000 });
  t.equal(state.processes[0]!.latest.requests, 100);
  t.same(state.processes[0]!.requestRates.map(String), ['100', 'NaN', 'NaN'], 'history kept to 3 entries');
  state = advance(state, target, up(reading(5000, [0, 0, 0, 0])), 4000, 1000, 3);
  t.equal(state.down, undefined, 'up again');
  t.equal(state.processes[0]!.figures, undefined, 'no rate across the gap');
});

t.test('sparklines scale to the largest value shown, leave gaps blank and run to the right edge', async (t) => {
  t.equal(sparkline([0, 1, 2, NaN, 4], 5), '▁▃▅ █');
  t.equal(sparkline([7, 7], 4), '  ██');
  t.equal(sparkline([1, 2, 3, 4, 5, 6], 3), '▆▇█', 'only the latest fit');
  t.equal(sparkline([0, 0], 2), '▁▁');
  t.equal(sparkline([1], 1, 8), '▂', 'against a ceiling');
});
