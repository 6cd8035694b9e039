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
  t.equal(parseCount('0', { min: 0 }), 0);
  t.throws(() => parseCount('0'), /≥ 1/);
  t.throws(() => parseCount('1.5'), /whole number/);
  t.throws(() => parseCount('-3'), /whole number/);
});

t.test('every value has a ceiling', async (t) => {
  t.equal(parseDuration('596h'), 2_145_600_000, 'just under what a Node timer holds');
  t.throws(() => parseDuration('597h'), /longer than 2147483647ms \(~24\.8 days\), the longest a Node timer holds/);
  t.throws(() => parseDuration('2s', { max: 1000 }), /longer than 1s$/);
  t.throws(() => parseDuration('500ms', { min: 1000 }), /shorter than 1s \(0 turns it off\)/);
  t.equal(parseDuration('0', { min: 1000 }), 0, '0 is off, below any minimum');
  t.throws(() => parseDuration('0', { min: 1, zeroMeansOff: false }), /shorter than 1ms$/);
  t.equal(parseSize('1GiB'), 1024 ** 3);
  t.throws(() => parseSize('1025MiB'), /more than 1GiB/);
  t.throws(() => parseCount('2147483648'), /more than 2,147,483,647/);
  t.throws(() => parseCount('11', { max: 10 }), /more than 10$/);
});
