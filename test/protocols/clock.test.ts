import t from 'tap';
import { Clock, TIMESTAMP_LENGTH } from '../../source/protocols/clock.js';

t.test('writes RFC 3339 UTC with microseconds, in place', async (t) => {
  const clock = new Clock();
  const target = Buffer.alloc(TIMESTAMP_LENGTH + 4, '-');
  const before = Date.now();
  const end = clock.write(target, 2);
  const after = Date.now();
  t.equal(end, 2 + TIMESTAMP_LENGTH);
  const text = target.subarray(2, end).toString();
  t.match(text, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  const stamped = Date.parse(text);
  t.ok(stamped >= before - 2 && stamped <= after + 2, `${text} is now`);
  t.equal(target.subarray(0, 2).toString() + target.subarray(end).toString(), '----', 'writes nothing outside its place');
});

t.test('never goes backwards across calls in one second', async (t) => {
  const clock = new Clock();
  const stamps = Array.from({ length: 2000 }, () => clock.now());
  const backwards = stamps.filter((now, i) => i > 0 && now < stamps[i - 1]! && now.slice(0, 19) === stamps[i - 1]!.slice(0, 19));
  t.same(backwards, []);
});

t.test('while held, stamps the held time; once released, the time of each call', async (t) => {
  // The clock keeps within a millisecond of the wall clock; the slack is for a loaded machine.
  const clock = new Clock();
  const fiveSecondsAgo = Date.now() - 5_000;
  clock.hold(performance.now() - 5_000);
  const during = [clock.now(), clock.now()];
  clock.release();
  const after = clock.now();
  t.equal(during[0], during[1], 'one time for the whole hold');
  t.ok(Math.abs(Date.parse(during[0]!) - fiveSecondsAgo) <= 20, `${during[0]} is the held time`);
  t.ok(Math.abs(Date.parse(after) - Date.now()) <= 20, `${after} is now`);
});

t.test('every digit follows the time, within a second and across one', async (t) => {
  // Held times 1.5 µs to 2.4 s apart: each stamp, read back to the microsecond, is as far from the first as its held time.
  const clock = new Clock();
  const start = performance.now();
  const steps = [0, 0.0015, 0.999, 1, 1.5, 7.25, 99.999, 250, 999.5, 1000, 1000.001, 1234.567, 2400.2];
  const micros = (text: string): number => Date.parse(text) * 1000 + Number(text.slice(23, 26));
  const stamps = steps.map((step) => {
    clock.hold(start + step);
    return clock.now();
  });
  clock.release();
  const first = micros(stamps[0]!);
  steps.forEach((step, i) => {
    t.ok(Math.abs(micros(stamps[i]!) - first - step * 1000) <= 1, `${stamps[i]} is ${step} ms after ${stamps[0]}`);
  });
});
