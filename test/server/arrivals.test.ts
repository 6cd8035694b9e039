import t from 'tap';
import { Arrivals } from '../../source/server/arrivals.js';

t.test('settling takes the oldest requests first and reports when the oldest of them arrived', async (t) => {
  const arrivals = new Arrivals();
  arrivals.add(10, 2, 100);
  arrivals.add(20, 0, 7); // a read with no complete frame adds nothing
  arrivals.add(30, 3, 300);
  arrivals.add(40, 1, 400);
  t.equal(arrivals.pending, 6);
  t.equal(arrivals.pendingBytes, 800);
  t.equal(arrivals.settle(1), 10, 'the first of two requests from the read at 10');
  t.equal(arrivals.pendingBytes, 800, 'a read counts until all of its requests are settled');
  t.equal(arrivals.settle(2), 10, 'the second of them, and one from 30');
  t.equal(arrivals.pendingBytes, 700);
  t.equal(arrivals.settle(3), 30, 'the rest from 30, then the one from 40');
  t.equal(arrivals.pending, 0);
  t.equal(arrivals.pendingBytes, 0);
  t.ok(Number.isNaN(arrivals.settle(1)), 'nothing left: NaN');
});

t.test('runs added after a drain start over, inline and then in the overflow', async (t) => {
  const arrivals = new Arrivals();
  for (let round = 0; round < 3; round++) {
    arrivals.add(round * 100, 1, 10);
    arrivals.add(round * 100 + 50, 1, 20);
    t.equal(arrivals.settle(1), round * 100);
    t.equal(arrivals.settle(5), round * 100 + 50, 'settling more than is waiting settles what there is');
    t.equal(arrivals.pendingBytes, 0);
    t.ok(Number.isNaN(arrivals.settle(1)));
  }
});

t.test('settling more than was recorded gives no credit to later requests', async (t) => {
  const arrivals = new Arrivals();
  arrivals.settle(5);
  arrivals.add(1, 2, 2);
  t.equal(arrivals.pending, 2);
});
