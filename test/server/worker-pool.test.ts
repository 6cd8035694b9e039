import { once } from 'node:events';
import { connect } from 'node:net';
import { count, filter, firstValueFrom, take, timeout } from 'rxjs';
import t from 'tap';
import type { ServerEvent } from '../../source/index.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

t.test('a connection beyond the pool waits unread and is served when a worker frees', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 1 });
  const events: ServerEvent[] = [];
  server.events$.subscribe((event) => events.push(event));

  const first = await LineClient.open(server.address.port);
  first.send('first\n');
  await first.readLines(1);

  const second = await LineClient.open(server.address.port);
  second.send('second\n');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(second.received.length, 0, 'no reply while every worker is busy');
  t.ok(events.some((event) => event.type === 'queued'), 'counted as queued');

  first.close();
  const [reply] = await second.readLines(1);
  second.close();
  t.equal(reply!.replace(ECHO_PREFIX, ''), 'second', 'served once the first left');
});

t.test('a connection beyond the pool and the queue gets ERR server busy', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 1 });
  const events: ServerEvent[] = [];
  server.events$.subscribe((event) => events.push(event));

  const served = await occupyWorker(server.address.port);
  const waiting = await LineClient.open(server.address.port);
  await waiting.until(() => events.some((event) => event.type === 'queued'), 2000, 'the second to queue');

  const refused = await LineClient.open(server.address.port);
  refused.send('hello?\n');
  const answer = await refused.readToEnd();
  t.equal(answer.toString(), 'ERR server busy\n');
  t.same(
    events.filter((event) => event.type === 'rejected'),
    [{ type: 'rejected', reason: 'busy' }],
    'counted as rejected',
  );
  served.close();
  waiting.close();
});

t.test('at shutdown a waiting connection is still served: its requests are answered, then a clean FIN', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 5 });
  const served = await occupyWorker(server.address.port);
  const waiting = await LineClient.open(server.address.port);
  waiting.send('waited\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closed = server.close();
  const replies = (await waiting.readToEnd()).toString().trim().split('\n');
  t.same(
    replies.map((reply) => reply.replace(ECHO_PREFIX, '')),
    ['waited'],
  );
  t.equal(waiting.error, undefined, 'closed cleanly');
  await served.readToEnd();
  t.same(await closed, { destroyed: 0 });
});

t.test('at the drain timeout a connection still waiting gets ERR server shutting down', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 5, drainTimeout: 300, readTimeout: 0 });
  const stuck = await LineClient.open(server.address.port);
  stuck.send('never finished'); // a frame in progress: it cannot drain
  await new Promise((resolve) => setTimeout(resolve, 50));
  const waiting = await LineClient.open(server.address.port);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closed = server.close();
  t.equal((await waiting.readToEnd()).toString(), 'ERR server shutting down\n');
  t.same(await closed, { destroyed: 2 }, 'both reported as destroyed, not drained');
});

t.test('a connection waits at most the queue timeout, then gets ERR server busy', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 5, queueTimeout: 200 });
  const events: ServerEvent[] = [];
  server.events$.subscribe((event) => events.push(event));
  const served = await occupyWorker(server.address.port);
  const waiting = await LineClient.open(server.address.port);
  waiting.send('hello?\n');
  const started = Date.now();
  t.equal((await waiting.readToEnd()).toString(), 'ERR server busy\n');
  t.ok(Date.now() - started >= 150, 'not before its time');
  t.same(
    events.filter((event) => event.type === 'rejected'),
    [{ type: 'rejected', reason: 'queue-timeout' }],
  );
  served.send('b\n');
  t.equal((await served.readLines(2)).length, 2, 'the served connection carries on');
  served.close();
});

t.test('a flood of turned-away connections holds a bounded number of sockets', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 0 });
  const served = await occupyWorker(server.address.port);
  // Peers that never read nor close: each rejected socket would linger 5 s, fd and all.
  const flood = await Promise.all(Array.from({ length: 1500 }, () => LineClient.open(server.address.port)));
  const beyondCap = flood.slice(1100);
  const within = await Promise.race([
    Promise.all(beyondCap.map((client) => client.closed)).then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 2500).unref()), // half the 5 s linger
  ]);
  t.ok(within, 'past the lingering cap, turned-away connections are closed at once, not after the linger');
  for (const client of flood) client.socket.destroy();
  served.close();
});

t.test('waiting connections start in arrival order as workers free; one reset while it waited holds up none', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 5 });
  const events: ServerEvent[] = [];
  server.events$.subscribe((event) => events.push(event));
  const served = await occupyWorker(server.address.port);
  const queued = () => events.filter((event) => event.type === 'queued').length;
  const [reset, second, third] = [await LineClient.open(server.address.port), await LineClient.open(server.address.port), await LineClient.open(server.address.port)];
  for (const [client, line] of [[reset, 'reset\n'], [second, 'second\n'], [third, 'third\n']] as const) client.send(line);
  await served.until(() => queued() === 3, 2000, 'three to queue');
  reset.socket.resetAndDestroy();
  await reset.closed;

  served.close();
  // The reset is seen only once its worker reads (a waiting socket is not read); then the next starts.
  const [reply] = await second.readLines(1);
  t.equal(reply!.replace(ECHO_PREFIX, ''), 'second', 'served next');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(third.received.length, 0, 'the next waits for the next free worker');
  second.close();
  const [last] = await third.readLines(1);
  t.equal(last!.replace(ECHO_PREFIX, ''), 'third');
  third.close();
  t.equal(events.filter((event) => event.type === 'dequeued').length, 3, 'each left the queue once');
  t.equal(server.snapshot().queue.waiting, 0);
});

t.test('after a backlog of connections that timed out in the queue, a freed worker serves the next', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 3000, queueTimeout: 200 });
  const served = await occupyWorker(server.address.port);
  const queueTimeout = (event: ServerEvent): boolean => event.type === 'rejected' && event.reason === 'queue-timeout';
  const timedOut = firstValueFrom(server.events$.pipe(filter(queueTimeout), take(2000), count(), timeout(5000)));
  // Enough waiting connections that handing them one by one to the freed worker would overflow the stack.
  const backlog = Array.from({ length: 2000 }, () => connect(server.address.port, '127.0.0.1').on('error', () => {}).resume());
  t.teardown(() => backlog.forEach((socket) => socket.destroy()));
  await Promise.all(backlog.map((socket) => once(socket, 'connect')));
  t.equal(await timedOut, 2000, 'every waiting connection timed out');

  const freed = firstValueFrom(server.events$.pipe(filter((event) => event.type === 'closed'), timeout(2000)));
  served.close(); // the worker frees with every connection that waited already turned away
  await freed;
  const next = await LineClient.open(server.address.port);
  next.send('still serving?\n');
  const [reply] = await next.readLines(1, 2000);
  next.close();
  t.equal(reply!.replace(ECHO_PREFIX, ''), 'still serving?', 'served by the freed worker');
  t.equal(server.snapshot().queue.waiting, 0, 'nothing left waiting');
});

/** A connection that holds a worker: served once, and left open. */
async function occupyWorker(port: number): Promise<LineClient> {
  const served = await LineClient.open(port);
  served.send('a\n');
  await served.readLines(1);
  return served;
}
