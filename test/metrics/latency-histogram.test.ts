import fc from 'fast-check';
import t from 'tap';
import { LatencyHistogram } from '../../source/metrics/latency-histogram.js';

/** The exact percentile of `values` (sorted): the smallest value with `percentile` % at or below it. */
function exact(sorted: number[], percentile: number): number {
  return sorted[Math.max(1, Math.ceil((percentile / 100) * sorted.length)) - 1]!;
}

t.test('percentiles are within 0.4 % of the exact ones, never above the max, with values recorded with counts', async () => {
  const sample = fc.array(fc.tuple(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 300 });
  fc.assert(
    fc.property(sample, fc.integer({ min: 1, max: 100 }), (recorded, percentile) => {
      const histogram = new LatencyHistogram();
      const values: number[] = [];
      for (const [value, count] of recorded) {
        histogram.record(value, count);
        for (let i = 0; i < count; i++) values.push(value);
      }
      values.sort((a, b) => a - b);
      const want = exact(values, percentile);
      const got = histogram.percentile(percentile);
      return histogram.count === values.length && histogram.max === values.at(-1) && got >= want && got <= want * 1.004 && got <= histogram.max;
    }),
    { numRuns: 300 },
  );
});

t.test('small values are exact; an empty histogram reads 0; reset forgets', async (t) => {
  const histogram = new LatencyHistogram();
  t.equal(histogram.percentile(99), 0);
  histogram.record(7, 99);
  histogram.record(300, 1);
  t.equal(histogram.count, 100);
  t.equal(histogram.percentile(50), 7);
  t.equal(histogram.percentile(99), 7);
  t.equal(histogram.percentile(100), 300);
  t.equal(histogram.max, 300);
  histogram.reset();
  t.equal(histogram.count, 0);
  t.equal(histogram.max, 0);
  t.equal(histogram.percentile(50), 0);
  histogram.record(2 ** 40, 1); // past the last bucket: counted there, the max exact
  t.equal(histogram.percentile(50), 2 ** 40);
});
