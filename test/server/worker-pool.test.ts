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

  const served = await LineClient.open(server.address.port);
  served.send('a\n');
  await served.readLines(1);
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

t.test('closing turns away waiting connections with ERR server shutting down', async (t) => {
  const server = await startServer(t, { workers: 1, queue: 5 });
  const served = await LineClient.open(server.address.port);
  served.send('a\n');
  await served.readLines(1);
  const waiting = await LineClient.open(server.address.port);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closed = server.close();
  t.equal((await waiting.readToEnd()).toString(), 'ERR server shutting down\n');
  await served.readToEnd();
  t.same(await closed, { destroyed: 0 });
});
