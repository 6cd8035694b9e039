import t from 'tap';
import { formatProgress } from '../../source/bench/progress-line.js';

t.test('a counted run shows done/total and the current rate', async (t) => {
  const line = formatProgress({ done: 12_345, total: 100_000, elapsed: 400, duration: undefined, rate: 30_864.2 });
  t.equal(line.trimEnd(), '\r12,345/100,000 requests  30,864 requests/s');
});

t.test('a timed run shows elapsed/duration', async (t) => {
  const line = formatProgress({ done: 500, total: undefined, elapsed: 1_250, duration: 5_000, rate: 400 });
  t.equal(line.trimEnd(), '\r1.3/5.0 s, 500 requests  400 requests/s');
});

t.test('the line is padded to overwrite a longer previous one', async (t) => {
  t.ok(formatProgress({ done: 1, total: 1, elapsed: 1, duration: undefined, rate: 1 }).length >= 60);
});
