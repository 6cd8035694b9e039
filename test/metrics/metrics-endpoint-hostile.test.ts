import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { NEVER } from 'rxjs';
import t from 'tap';
import { serveMetrics, type Logger, type MetricsSource } from '../../source/index.js';
import { startServer } from '../helpers/server.js';

const scrape = async (port: number, init?: RequestInit, path = '/metrics'): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`, init);

/** A raw connection to the endpoint, and everything it receives until it closes. */
async function raw(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {}); // the endpoint may cut it off: that is the point
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  // Not events.once(): it rejects on 'error', and a cut-off that comes as a reset is a close too.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, received: () => received, closed };
}

/** Resolves true if `promise` settles within `ms`, false otherwise. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  const settled = await Promise.race([promise.then(() => true), late]);
  clearTimeout(timer);
  return settled;
}

function recordingLogger(): Logger & { records: Array<[string, string]> } {
  const records: Array<[string, string]> = [];
  return { records, log: (level, message) => void records.push([level, message]) };
}

t.test('garbage gets 400 and a close; the endpoint serves on', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  for (const garbage of ['\x00\x01\x02 not http at all\r\n\r\n', 'GET /metrics HTTP/9.9\r\n\r\n', 'GET /metrics HTTP/1.1\r\nbad header line\r\n\r\n']) {
    const client = await raw(endpoint.address.port);
    client.socket.write(garbage);
    t.ok(await within(client.closed, 3_000), 'closed by the endpoint');
    t.match(client.received(), /^HTTP\/1\.1 400 /, JSON.stringify(garbage));
  }
  t.equal((await scrape(endpoint.address.port)).status, 200);
});

t.test('another method on /metrics is 405 with Allow; another path is 404', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  const post = await scrape(endpoint.address.port, { method: 'POST', body: 'x'.repeat(100_000) });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.equal((await scrape(endpoint.address.port, { method: 'DELETE' }, '/other')).status, 404);
  const head = await scrape(endpoint.address.port, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(await head.text(), '', 'HEAD has no body');
});

t.test('clients that reset mid-request or mid-response crash nothing', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  for (let i = 0; i < 20; i++) {
    const client = await raw(endpoint.address.port);
    client.socket.write(i % 2 === 0 ? 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' : 'POST /metrics HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc');
    if (i % 4 < 2) await new Promise((resolve) => setImmediate(resolve)); // some reset before the reply, some after
    client.socket.resetAndDestroy();
    await client.closed;
  }
  t.equal((await scrape(endpoint.address.port)).status, 200, 'still serving');
});

t.test('slow and silent clients are cut off at the request timeout', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 }, { requestTimeout: 300 });
  const silent = await raw(endpoint.address.port);
  const slow = await raw(endpoint.address.port);
  slow.socket.write('GET /metrics HTTP/1.1\r\n');
  const drip = setInterval(() => slow.socket.writable && slow.socket.write('X-Drip: 1\r\n'), 50);
  t.teardown(() => clearInterval(drip));
  t.ok(await within(silent.closed, 3_000), 'a client that sends nothing is closed');
  t.ok(await within(slow.closed, 3_000), 'a client that drips its headers is closed');
  t.equal((await scrape(endpoint.address.port)).status, 200);
});

t.test('connections past maxConnections are dropped as they arrive', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 }, { maxConnections: 2, requestTimeout: 2_000 });
  const held = [await raw(endpoint.address.port), await raw(endpoint.address.port)];
  const third = await raw(endpoint.address.port);
  t.ok(await within(third.closed, 1_500), 'the third is closed at once');
  for (const client of held) client.socket.destroy();
  await Promise.all(held.map((client) => client.closed));
  t.equal((await scrape(endpoint.address.port)).status, 200, 'served again once there is room');
});

t.test('a snapshot that throws is a 500, logged; the process serves on', async (t) => {
  const logger = recordingLogger();
  const failing: MetricsSource = {
    metrics$: NEVER,
    snapshot: () => {
      throw new Error('no figures');
    },
  };
  const endpoint = await serveMetrics(failing, { host: '127.0.0.1', port: 0 }, { logger });
  t.teardown(() => endpoint.close());
  t.equal((await scrape(endpoint.address.port)).status, 500);
  t.same(logger.records, [['error', 'metrics snapshot failed']]);
});

t.test('a port in use rejects with the listen error, and leaves nothing behind', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  await t.rejects(serveMetrics(server, { host: '127.0.0.1', port: endpoint.address.port }), { code: 'EADDRINUSE' });
});
