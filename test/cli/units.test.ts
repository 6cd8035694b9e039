import t from 'tap';
import { parseCount, parseDuration, parseSize } from '../../source/cli/units.js';

t.test('durations take units', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('30s'), 30_000);
  t.equal(parseDuration('2m'), 120_000);
  t.equal(parseDuration('1.5s'), 1500);
  t.equal(parseDuration('0'), 0, 'zero (off) needs no unit');
  t.throws(() => parseDuration('30'), /use a unit/);
  t.throws(() => parseDuration('3 parsecs'), /not a duration/);
});

t.test('sizes take units, binary and decimal', async (t) => {
  t.equal(parseSize('64KiB'), 65_536);
  t.equal(parseSize('1MiB'), 1_048_576);
  t.equal(parseSize('10KB'), 10_000);
  t.equal(parseSize('512B'), 512);
  t.throws(() => parseSize('64k'), /not a size/);
  t.throws(() => parseSize('65536'), /use a unit/);
});

t.test('counts are whole numbers with a floor', async (t) => {
  t.equal(parseCount('2000'), 2000);
  t.equal(parseCount('0', 0), 0);
  t.throws(() => parseCount('0'), /≥ 1/);
  t.throws(() => parseCount('1.5'), /whole number/);
  t.throws(() => parseCount('-3'), /whole number/);
});
