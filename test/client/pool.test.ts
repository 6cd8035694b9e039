import { pipe, takeWhile } from 'rxjs';
import t from 'tap';
import { ConnectionClosedError, echo, lines, Pool, type Server } from '../../source/index.js';
import { ECHO_PREFIX } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

const echoed = (reply: Buffer): string => reply.toString().replace(ECHO_PREFIX, '');

function countOpened(server: Server): { readonly opened: number } {
  const counter = { opened: 0 };
  server.events$.subscribe((event) => {
    if (event.type === 'opened') counter.opened++;
  });
  return counter;
}

t.test('sequential requests reuse one connection', async (t) => {
  const server = await startServer(t);
  const counter = countOpened(server);
  const pool = new Pool(`127.0.0.1:${server.address.port}`, { size: 4 });
  for (let i = 0; i < 5; i++) t.equal(echoed(await pool.request(`r${i}`)), `r${i}`);
  await pool.close();
  t.equal(counter.opened, 1);
});

t.test('concurrent requests open at most size connections and all get their replies', async (t) => {
  const server = await startServer(t);
  const counter = countOpened(server);
  const pool = new Pool(`127.0.0.1:${server.address.port}`, { size: 3 });
  const requests = Array.from({ length: 60 }, (_, i) => `r${i}`);
  const replies = await Promise.all(requests.map((line) => pool.request(line)));
  t.ok(pool.connections <= 3, `${pool.connections} open`);
  await pool.close();
  t.same(replies.map(echoed), requests);
  t.ok(counter.opened >= 1 && counter.opened <= 3, `${counter.opened} opened`);
});

t.test('a connection the server closed is replaced by the next request', async (t) => {
  // `bye` ends the connection without a reply.
  const server = await startServer(t, {}, pipe(lines(), takeWhile((line) => line.toString() !== 'bye'), echo()));
  const counter = countOpened(server);
  const pool = new Pool(`127.0.0.1:${server.address.port}`, { size: 1 });
  t.equal(echoed(await pool.request('before')), 'before');
  await t.rejects(pool.request('bye'), ConnectionClosedError);
  t.equal(echoed(await pool.request('after')), 'after');
  await pool.close();
  t.equal(counter.opened, 2, 'a second connection replaced the first');
});

t.test('a closed pool rejects requests', async (t) => {
  const server = await startServer(t);
  const pool = new Pool(`127.0.0.1:${server.address.port}`);
  await pool.close();
  await t.rejects(pool.request('late'), ConnectionClosedError);
});

t.test('a pool size below 1 is refused', async (t) => {
  t.throws(() => new Pool('127.0.0.1:1', { size: 0 }), RangeError);
});
