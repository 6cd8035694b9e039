import t from 'tap';
import { accumulate, emptyState, LATENCY_BOUNDS_MS, waiting } from '../../source/metrics/accumulate.js';
import type { ServerEvent } from '../../source/index.js';

const fold = (events: ServerEvent[]) => events.reduce(accumulate, emptyState());

t.test('reads and writes add up bytes, requests and replies', async (t) => {
  const state = fold([
    { type: 'read', bytes: 10, frames: 2 },
    { type: 'read', bytes: 5, frames: 0 },
    { type: 'written', bytes: 40, replies: 2, latency: 0.3 },
  ]);
  t.equal(state.bytesIn, 15);
  t.equal(state.requests, 2);
  t.equal(state.bytesOut, 40);
  t.equal(state.replies, 2);
});

t.test('a batch counts its latency once per reply it carries', async (t) => {
  const state = fold([
    { type: 'written', bytes: 30, replies: 3, latency: 2 },
    { type: 'written', bytes: 10, replies: 1, latency: 20_000 },
  ]);
  t.equal(state.intervalLatency.count, 4);
  t.equal(state.latencySum, 3 * 2 + 20_000);
  t.equal(state.latencyBuckets[LATENCY_BOUNDS_MS.indexOf(2.5)], 3, '2 ms falls in the ≤ 2.5 ms bucket');
  t.equal(state.latencyBuckets[LATENCY_BOUNDS_MS.length], 1, 'beyond the last bound: the unbounded bucket');
});

t.test('close and reject reasons are counted by reason', async (t) => {
  const state = fold([
    { type: 'opened' },
    { type: 'opened' },
    { type: 'closed', reason: 'end' },
    { type: 'closed', reason: 'frame-too-long' },
    { type: 'rejected', reason: 'busy' },
  ]);
  t.same(state.closeReasons, { end: 1, 'frame-too-long': 1 });
  t.same(state.rejectReasons, { busy: 1 });
  t.equal(state.opened - state.closed, 0);
});

t.test('the queue holds what was queued and neither left for a worker nor was turned away', async (t) => {
  const state = fold([
    { type: 'queued' },
    { type: 'queued' },
    { type: 'queued' },
    { type: 'dequeued' },
    { type: 'rejected', reason: 'shutting-down' },
    { type: 'rejected', reason: 'busy' },
  ]);
  t.equal(waiting(state), 1);
});
