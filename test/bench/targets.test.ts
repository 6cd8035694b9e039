import t from 'tap';
import type { LoadResult } from '../../source/bench/load-generator.js';
import { checkTargets } from '../../source/bench/targets.js';

function result(overrides: Partial<LoadResult> & { opened?: number; avg?: number } = {}): LoadResult {
  const { opened = 10_000, avg = 0.5, ...rest } = overrides;
  return {
    connections: { wanted: opened, opened, failed: 0, time: 1 },
    duration: 1000,
    total: 150_000,
    successful: 150_000,
    failed: 0,
    requestsPerSecond: 150_000,
    latency: { avg, p50: avg, p99: avg * 3, max: avg * 10 },
    ...rest,
  };
}

const statuses = (checks: ReturnType<typeof checkTargets>): string[] => checks.map((check) => check.status);

t.test('a run that meets every target passes all four', async (t) => {
  t.same(statuses(checkTargets(result(), 50 * 1024 * 1024)), ['pass', 'pass', 'pass', 'pass']);
});

t.test('each target fails on its own measure', async (t) => {
  t.same(statuses(checkTargets(result({ opened: 9_999 }), 50e6)).slice(0, 1), ['fail'], 'too few connections');
  t.same(statuses(checkTargets(result({ failed: 1 }), 50e6)).slice(0, 1), ['fail'], 'connections open but requests failed');
  t.same(statuses(checkTargets(result({ requestsPerSecond: 99_999 }), 50e6))[1], 'fail');
  t.same(statuses(checkTargets(result(), 100 * 1024 * 1024))[2], 'fail', 'exactly 100 MiB is not below it');
  t.same(statuses(checkTargets(result({ avg: 1 }), 50e6))[3], 'fail', '1 ms is not below it');
});

t.test('memory is skipped without the server RSS, or with fewer than 10,000 connections', async (t) => {
  const unknown = checkTargets(result())[2]!;
  t.equal(unknown.status, 'skipped');
  t.match(unknown.measured, /--server-pid/);
  const few = checkTargets(result({ opened: 100 }), 10e6)[2]!;
  t.equal(few.status, 'skipped');
  t.match(few.measured, /with only 100 connections/);
});

t.test('latency is skipped when nothing succeeded', async (t) => {
  t.equal(checkTargets(result({ successful: 0, failed: 10, total: 10 }))[3]!.status, 'skipped');
});
