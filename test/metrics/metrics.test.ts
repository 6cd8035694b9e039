import { PassThrough } from 'node:stream';
import { filter, firstValueFrom, skip, take, toArray } from 'rxjs';
import t from 'tap';
import { jsonLogger, textLogger, type MetricsSnapshot } from '../../source/index.js';
import { LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';
import { lineWorkload } from '../helpers/workload.js';

t.test('after 5 connections × 10 requests the totals are exact', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const { sent, received } = await lineWorkload(server.address.port, 5, 10);
  const snapshot = server.snapshot();
  t.equal(snapshot.requests, 50);
  t.equal(snapshot.replies, 50);
  t.same(snapshot.bytes, { in: sent, out: received });
  t.same(snapshot.connections, { active: 0, queued: 0, rejected: 0, total: 5 });
  t.same(snapshot.closeReasons, { end: 5 });
  t.equal(snapshot.latency.count, 50, 'every reply in the interval histogram');
  t.equal(snapshot.latencyHistogram.count, 50, 'and in the lifetime histogram');
  t.equal(snapshot.latencyHistogram.buckets.at(-1)!.count, 50, 'the +Inf bucket holds them all');
  t.ok(snapshot.latency.p50 > 0 && snapshot.latency.p50 <= snapshot.latency.p99 && snapshot.latency.p99 <= snapshot.latency.max);
  t.same(snapshot.workers, { size: 1000, inUse: 0 });
});

t.test('an interval rate is the interval’s, not the lifetime’s', async (t) => {
  const server = await startServer(t, { metricsInterval: 150 });
  await lineWorkload(server.address.port, 2, 10);
  // Past the burst: the first snapshot may still hold part of it, the next holds none.
  const [during, after] = await firstValueFrom(server.metrics$.pipe(take(2), toArray()));
  t.equal(after!.requests, 20, 'the total stays');
  t.equal(after!.rates.requests, 0, 'no requests in the interval: rate 0');
  t.equal(after!.latency.count, 0, 'no replies in the interval histogram');
  t.ok(after!.requests / after!.uptime > 0, 'while the lifetime average is not 0');
  t.ok(Math.abs(after!.interval - 0.15) < 0.1, 'interval measured, close to the one scheduled');
  t.ok(during!.rates.requests >= 0);
});

t.test('a rate is the count since the previous snapshot over the time since it', async (t) => {
  const server = await startServer(t, { metricsInterval: 200 });
  const pair = firstValueFrom(server.metrics$.pipe(take(2), toArray()));
  const client = await LineClient.open(server.address.port);
  client.send('a\nb\nc\n');
  await client.readLines(3);
  const [first, second] = await pair;
  for (const [before, now] of [[{ requests: 0, bytes: { in: 0 } } as MetricsSnapshot, first!], [first!, second!]] as const) {
    t.equal(now.rates.requests, (now.requests - before.requests) / now.interval);
    t.equal(now.rates.bytesIn, (now.bytes.in - before.bytes.in) / now.interval);
  }
  t.equal(second!.requests, 3);
  client.close();
});

t.test('close reasons are counted: a normal end and an over-long line', async (t) => {
  const server = await startServer(t, { metricsInterval: 0, maxLine: 32 });
  const closed = firstValueFrom(server.events$.pipe(filter((event) => event.type === 'closed'), take(2), toArray()));
  await lineWorkload(server.address.port, 1, 1);
  const long = await LineClient.open(server.address.port);
  long.send('x'.repeat(64) + '\n');
  t.equal((await long.readToEnd()).toString(), 'ERR line too long\n');
  await closed;
  t.same(server.snapshot().closeReasons, { end: 1, 'frame-too-long': 1 });
});

t.test('metrics$ completes when the server closes', async (t) => {
  const server = await startServer(t, { metricsInterval: 50 });
  const all = firstValueFrom(server.metrics$.pipe(toArray()));
  await new Promise((resolve) => setTimeout(resolve, 120));
  await server.close();
  t.ok((await all).length >= 1);
});

t.test('the periodic log line follows the logger: text', async (t) => {
  const stream = new PassThrough();
  const server = await startServer(t, { metricsInterval: 50, logger: textLogger(stream) });
  await lineWorkload(server.address.port, 1, 3);
  await firstValueFrom(server.metrics$.pipe(skip(1)));
  const line = String(stream.read()).split('\n').find((text) => text.includes('Metrics:'))!;
  t.match(line, / info Metrics: Active=0 Queued=0 Rejected=0 Total=1 Requests=3 RPS=\d+\.\d /);
  t.match(line, / p99=\d+\.\d\dms .*Closed=end:1$/);
});

t.test('the periodic log line follows the logger: one JSON object with the snapshot’s fields', async (t) => {
  const stream = new PassThrough();
  const server = await startServer(t, { metricsInterval: 50, logger: jsonLogger(stream) });
  await lineWorkload(server.address.port, 1, 3);
  const snapshot = await firstValueFrom(server.metrics$.pipe(skip(1)));
  const records = String(stream.read()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const record = records.filter((candidate) => candidate['message'] === 'metrics').at(-1)!;
  t.equal(record['level'], 'info');
  t.same(record['connections'], snapshot.connections);
  t.equal(record['requests'], 3);
  t.same(record['closeReasons'], { end: 1 });
  t.same(record['latency'], snapshot.latency);
  t.same(record['rates'], snapshot.rates);
  t.type(record['eventLoopDelayP99'], 'number');
  t.type((record['memory'] as { rss: number }).rss, 'number');
});
