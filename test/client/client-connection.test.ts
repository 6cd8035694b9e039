import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { filter, pipe, take } from 'rxjs';
import { toArray } from 'ix/asynciterable';
import t from 'tap';
import {
  connect,
  ConnectionClosedError,
  ConnectionResetError,
  echo,
  lines,
  RequestTimeoutError,
} from '../../source/index.js';
import { ECHO_PREFIX } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

const echoed = (reply: Buffer): string => reply.toString().replace(ECHO_PREFIX, '');

t.test('request resolves with the reply line, without its newline', async (t) => {
  const { address } = await startServer(t);
  const conn = await connect({ host: '127.0.0.1', port: address.port });
  const reply = await conn.request('hello');
  await conn.close();
  t.match(reply.toString(), ECHO_PREFIX);
  t.equal(echoed(reply), 'hello');
});

t.test('pipelined requests get their own replies, in order', async (t) => {
  const { address } = await startServer(t);
  const conn = await connect(`127.0.0.1:${address.port}`);
  const requests = Array.from({ length: 500 }, (_, i) => `request ${i}`);
  const replies = await Promise.all(requests.map((line) => conn.request(line)));
  t.equal(conn.inFlight, 0, 'nothing left in flight');
  await conn.close();
  t.same(replies.map(echoed), requests);
});

t.test('replies() yields the replies to sent lines as they arrive', async (t) => {
  const { address } = await startServer(t);
  const conn = await connect(`127.0.0.1:${address.port}`);
  for (const line of ['one', 'two', 'three']) conn.send(line);
  const replies: string[] = [];
  for await (const reply of conn.replies()) {
    replies.push(echoed(reply));
    if (replies.length === 3) break;
  }
  await conn.close();
  t.same(replies, ['one', 'two', 'three']);
});

t.test('replies() ends when the server closes the connection', async (t) => {
  const { address } = await startServer(t, {}, pipe(lines(), take(1), echo()));
  const conn = await connect(`127.0.0.1:${address.port}`);
  conn.send('only');
  const replies = await toArray(conn.replies());
  t.same(replies.map(echoed), ['only']);
});

t.test('a request without a reply in time rejects with RequestTimeoutError; the connection stays usable', async (t) => {
  const { address } = await startServer(t, {}, pipe(lines(), filter(() => false)));
  const conn = await connect(`127.0.0.1:${address.port}`);
  const started = Date.now();
  await t.rejects(conn.request('anyone there?', { timeout: 100 }), RequestTimeoutError);
  t.ok(Date.now() - started >= 90, 'waited for the timeout');
  const error = await conn.request('again', { timeout: 50 }).catch((error: unknown) => error);
  t.match(String(error), `no reply within 50 ms (127.0.0.1:${address.port})`, 'the message names the timeout and the address');
  t.ok(conn.open, 'still open');
  conn.destroy();
});

t.test('the default request timeout comes from connect()', async (t) => {
  const { address } = await startServer(t, {}, pipe(lines(), filter(() => false)));
  const conn = await connect(`127.0.0.1:${address.port}`, { requestTimeout: 50 });
  await t.rejects(conn.request('x'), RequestTimeoutError);
  conn.destroy();
});

t.test('requests waiting when the server closes reject with ConnectionClosedError', async (t) => {
  // Reads one line, answers nothing, and ends the connection.
  const { address } = await startServer(t, {}, pipe(lines(), take(1), filter(() => false)));
  const conn = await connect(`127.0.0.1:${address.port}`);
  const error = await conn.request('first').catch((error: unknown) => error);
  t.type(error, ConnectionClosedError);
  t.notOk(error instanceof ConnectionResetError, 'an orderly close is not a reset');
  t.notOk(conn.open);
  await t.rejects(conn.request('later'), ConnectionClosedError, 'a closed connection refuses new requests');
});

t.test('a reset connection rejects waiting requests with ConnectionResetError, and replies() errors', async (t) => {
  // A peer that resets: tcp-rx never does, so a raw socket plays it.
  const resetter = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
  resetter.listen(0, '127.0.0.1');
  await once(resetter, 'listening');
  t.teardown(() => resetter.close());
  const { port } = resetter.address() as AddressInfo;
  const conn = await connect(`127.0.0.1:${port}`);
  const replies = toArray(conn.replies());
  const error = await conn.request('boom').catch((error: unknown) => error);
  t.type(error, ConnectionResetError);
  t.match(String(error), `connection reset (127.0.0.1:${port})`);
  await t.rejects(replies, ConnectionResetError);
});

t.test('a request line containing a newline is refused before anything is sent', async (t) => {
  const { address } = await startServer(t);
  const conn = await connect(`127.0.0.1:${address.port}`);
  await t.rejects(conn.request('two\nlines'), RangeError);
  t.equal(conn.inFlight, 0);
  await conn.close();
});
