import t from 'tap';
import { Arrivals } from '../../source/server/arrivals.js';

t.test('replies take the oldest frames first and report when the oldest of them arrived', async (t) => {
  const arrivals = new Arrivals();
  arrivals.add(10, 2);
  arrivals.add(20, 0); // a read with no complete frame adds nothing
  arrivals.add(30, 3);
  arrivals.add(40, 1);
  t.equal(arrivals.take(1, -1), 10, 'the first of two frames from the read at 10');
  t.equal(arrivals.take(2, -1), 10, 'the second of them, and one from 30');
  t.equal(arrivals.take(3, -1), 30, 'the rest from 30, then the one from 40');
  t.equal(arrivals.take(1, -1), -1, 'nothing left: the fallback');
});

t.test('runs added after a drain start over, inline and then in the overflow', async (t) => {
  const arrivals = new Arrivals();
  for (let round = 0; round < 3; round++) {
    arrivals.add(round * 100, 1);
    arrivals.add(round * 100 + 50, 1);
    t.equal(arrivals.take(1, -1), round * 100);
    t.equal(arrivals.take(5, -1), round * 100 + 50, 'taking more than is waiting takes what there is');
    t.equal(arrivals.take(1, -1), -1);
  }
});
