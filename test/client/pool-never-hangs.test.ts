import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as connectSocket, createServer, type AddressInfo, type Socket } from 'node:net';
import { filter } from 'rxjs';
import t, { type Test } from 'tap';
import { ConnectionClosedError, Pool, RequestTimeoutError } from '../../source/index.js';
import { ECHO_PREFIX } from '../helpers/line-client.js';
import { recordEvents, startServer } from '../helpers/server.js';

const echoed = (reply: Buffer): string => reply.toString().replace(ECHO_PREFIX, '');

/**
 * What `promise` came to within `bound` ms: a hang shows as `'hung'` and fails
 * the test's assertion, rather than the whole file timing out.
 */
async function outcome<T>(promise: Promise<T>, bound = 4_000): Promise<T | Error | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(resolve, bound, 'hung')));
  try {
    return await Promise.race([promise.catch((error: unknown) => error as Error), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A server that ends its side at once (FIN) and never reads: a client's own
 * end then cannot finish while its writes are stuck, so its socket stays
 * half-closed for as long as this server lives.
 */
async function finAndStall(t: Test): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.pause();
    socket.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/**
 * A listener whose process does not run (blocked in `Atomics.wait`), with a
 * backlog of 1 that is filled: the kernel drops further SYNs, so a connect
 * attempt to it neither succeeds nor fails for a long time.
 */
async function blackhole(t: Test): Promise<number> {
  const script = `
    const server = require('node:net').createServer();
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
      process.stdout.write(server.address().port + '\\n');
      setImmediate(() => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
        process.exit();
      });
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const port = Number(chunk.toString());
  const fillers: Socket[] = [];
  t.teardown(() => {
    child.kill('SIGKILL');
    for (const socket of fillers) socket.destroy();
  });
  // Two connections fill a backlog of 1 (Linux queues backlog + 1); the third waits.
  for (let i = 0; i < 3; i++) fillers.push(connectSocket(port, '127.0.0.1').on('error', () => {}));
  await Promise.all(fillers.slice(0, 2).map((socket) => once(socket, 'connect')));
  return port;
}

t.test('a pooled connection the server half-closed is never picked, and its waiting request rejects at once', async (t) => {
  const port = await finAndStall(t);
  const pool = new Pool(`127.0.0.1:${port}`, { size: 1, requestTimeout: 2_000 });
  // 16 MiB cannot all reach a server that does not read: the client's end stays pending.
  const first = await outcome(pool.request('x'.repeat(16 * 1024 * 1024)));
  t.type(first, ConnectionClosedError, 'the server ended its side: no reply can come, so no waiting for the timeout');
  const second = await outcome(pool.request('next'));
  t.not(second, 'hung', 'the next request settles');
  t.type(second, ConnectionClosedError, 'on a fresh connection, which this server ends too');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(pool.connections, 0, 'no half-closed connection is left behind');
  await pool.close();
});

t.test('the request timeout covers the connect phase', async (t) => {
  const port = await blackhole(t);
  const pool = new Pool(`127.0.0.1:${port}`, { size: 1, connectTimeout: 2_000, requestTimeout: 200 });
  const first = pool.request('a');
  const second = pool.request('b'); // waits for the same connect attempt
  t.type(await outcome(first), RequestTimeoutError, 'its own timeout, not the connect timeout');
  t.type(await outcome(second), RequestTimeoutError);
  const error = await outcome(pool.request('c', { timeout: 100 }));
  t.match(String(error), `no reply within 100 ms (127.0.0.1:${port})`, 'a per-request timeout too');
  // Where the kernel let a connection in after all (Node 22 and later here), closing waits for a server that never
  // reads: it ends once the teardown above has killed that server.
  t.teardown(() => pool.close());
});

t.test('a request made as the server closes an idle connection is answered or rejects with ConnectionClosedError', async (t) => {
  const server = await startServer(t, { idleTimeout: 100 });
  const { waitFor } = recordEvents(server);
  const pool = new Pool(`127.0.0.1:${server.address.port}`, { size: 1, requestTimeout: 2_000 });
  t.equal(echoed(await pool.request('first')), 'first');
  // Made in the turn the server closed its socket: the client may or may not have seen the FIN.
  const raced = new Promise<Buffer>((resolve, reject) => {
    server.events$.pipe(filter((event) => event.type === 'closed')).subscribe(() => pool.request('raced').then(resolve, reject));
  });
  await waitFor((event) => event.type === 'closed' && event.reason === 'idle-timeout');
  const result = await outcome(raced);
  if (result instanceof Buffer) t.equal(echoed(result), 'raced', 'FIN seen first: sent on a fresh connection');
  else t.type(result, ConnectionClosedError, 'written before the FIN was seen: rejected, not retried');
  t.equal(echoed(await pool.request('after')), 'after', 'a fresh connection serves the next request');
  await pool.close();
});

t.test('a request sent as the server starts draining is answered, or rejects with ConnectionClosedError at once', async (t) => {
  const server = await startServer(t);
  const pool = new Pool(`127.0.0.1:${server.address.port}`, { size: 2, requestTimeout: 2_000 });
  await Promise.all([pool.request('warm-1'), pool.request('warm-2')]);
  const closing = server.close();
  // The server cuts its connections once it has stopped listening, a few turns of its loop from now:
  // the request may arrive before the cut (answered) or meet the FIN (rejected, never retried).
  const late = await outcome(pool.request('late'), 1_500);
  if (late instanceof Buffer) t.equal(echoed(late), 'late', 'arrived before the cut: answered');
  else t.type(late, ConnectionClosedError, 'met the FIN: a typed error, promptly');
  await closing;
  const after = await outcome(pool.request('after close'));
  t.type(after, Error, 'nothing listens any more: refused, not hung');
  await pool.close();
});
