import t from 'tap';
import { accumulate, CUSTOM_REASON_LIMIT, emptyState, LATENCY_BOUNDS_MS, waiting } from '../../source/metrics/accumulate.js';
import type { ServerEvent } from '../../source/index.js';

const fold = (events: ServerEvent[]) => events.reduce(accumulate, emptyState());
/** A `closed` event with `reason`, its other figures those of a connection that did nothing. */
const closed = (reason: string): ServerEvent => ({ type: 'closed', reason, peer: { address: '127.0.0.1', port: 1, proxied: false }, duration: 1, bytesIn: 0, bytesOut: 0, requests: 0 });

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
    closed('end'),
    closed('frame-too-long'),
    { type: 'rejected', reason: 'busy' },
  ]);
  t.same(state.closeReasons, { end: 1, 'frame-too-long': 1 });
  t.same(state.rejectReasons, { busy: 1 });
  t.equal(state.opened - state.closed, 0);
});

t.test('close reasons named like Object.prototype members are counted like any other', async (t) => {
  const state = fold(['__proto__', 'constructor', 'toString', '__proto__', 'valueOf'].map(closed));
  t.same(Object.entries(state.closeReasons), [
    ['__proto__', 2],
    ['constructor', 1],
    ['other', 2], // not valid label values: capitals
  ]);
  t.equal(Object.getPrototypeOf(state.closeReasons), null);
});

t.test('custom close reasons: valid label values up to the limit, the rest are other', async (t) => {
  const custom = Array.from({ length: CUSTOM_REASON_LIMIT + 5 }, (_, i) => `bad-command-${i}`);
  const invalid = ['with space', 'quote"', 'new\nline', 'back\\slash', 'UPPER', '', 'x'.repeat(65), 'é'];
  const state = fold(
    [...custom.slice(0, 3), 'end', ...custom, ...invalid, 'read-timeout'].map(closed),
  );
  t.equal(state.closed, 3 + 1 + custom.length + invalid.length + 1, 'every close counted');
  for (const reason of custom.slice(0, CUSTOM_REASON_LIMIT)) t.ok(state.closeReasons[reason]! >= 1, `${reason} kept`);
  t.equal(state.closeReasons['bad-command-0'], 2, 'a kept reason goes on counting');
  t.equal(state.closeReasons['end'], 1);
  t.equal(state.closeReasons['read-timeout'], 1, 'the server\'s own reasons never fall under the limit');
  t.equal(state.closeReasons['other'], 5 + invalid.length, 'past the limit, and invalid label values');
  t.equal(Object.keys(state.closeReasons).length, CUSTOM_REASON_LIMIT + 3);
});

t.test('the queue holds what was queued and neither left for a worker nor was turned away', async (t) => {
  const state = fold([
    { type: 'queued' },
    { type: 'queued' },
    { type: 'queued' },
    { type: 'queued' },
    { type: 'dequeued' },
    { type: 'rejected', reason: 'queue-timeout' },
    { type: 'rejected', reason: 'shutting-down' },
    { type: 'rejected', reason: 'busy' },
  ]);
  t.equal(waiting(state), 1);
});

t.test('access log lines are counted written and dropped', async (t) => {
  const state = fold([
    { type: 'access-log', written: 3, dropped: 0 },
    { type: 'access-log', written: 0, dropped: 1 },
    { type: 'access-log', written: 2, dropped: 5 },
  ]);
  t.equal(state.accessLogWritten, 5);
  t.equal(state.accessLogDropped, 6);
});
