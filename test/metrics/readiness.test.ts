import t from 'tap';
import { readiness, serveMetrics } from '../../source/index.js';

import { LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

const probe = async (port: number, path: string): Promise<{ status: number; body: string }> => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
};

t.test('busy only when every worker serves and the queue is full; draining wins', async (t) => {
  const state = (inUse: number, waiting: number, draining = false) => ({ draining, workers: { size: 2, inUse }, queue: { size: 1, waiting } });
  t.same(readiness(state(0, 0)), { ready: true });
  t.same(readiness(state(2, 0)), { ready: true }, 'a full pool with room in the queue still takes connections');
  t.same(readiness(state(2, 1)), { ready: false, reason: 'busy' });
  t.same(readiness(state(0, 0, true)), { ready: false, reason: 'draining' });
});

t.test('/readyz follows the pool and queue over real sockets, and turns 503 when the server drains; /healthz stays 200', async (t) => {
  const server = await startServer(t, { metricsInterval: 0, workers: 1, queue: 1, drainTimeout: 5_000 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  const port = endpoint.address.port;
  t.same(await probe(port, '/readyz'), { status: 200, body: 'ready\n' });
  t.same(await probe(port, '/healthz'), { status: 200, body: 'ok\n' });

  const served = await LineClient.open(server.address.port);
  served.send('one\n');
  await served.readLines(1);
  const waiting = await LineClient.open(server.address.port);
  await waiting.until(() => server.snapshot().connections.queued === 1, 2_000, 'the second connection to wait');
  t.same(await probe(port, '/readyz'), { status: 503, body: 'not ready: busy\n' });

  served.close();
  await waiting.until(() => server.snapshot().connections.queued === 0, 2_000, 'the waiting connection to be served');
  t.equal((await probe(port, '/readyz')).status, 200, 'ready again once a worker is free');

  waiting.send('unfinished'); // a request in progress holds the drain open while we probe
  await waiting.until(() => server.snapshot().bytes.in > 4, 2_000, 'the partial request to arrive');
  const closing = server.close();
  await waiting.until(() => server.snapshot().draining, 2_000, 'the drain to begin');
  t.same(await probe(port, '/readyz'), { status: 503, body: 'not ready: draining\n' });
  t.same(await probe(port, '/healthz'), { status: 200, body: 'ok\n' }, 'alive while draining');
  t.equal((await probe(port, '/metrics')).status, 200);
  waiting.send('\n');
  t.match(await waiting.readLines(1), [/Echo: unfinished$/], 'the request in progress is answered');
  t.same(await closing, { destroyed: 0 });
});
