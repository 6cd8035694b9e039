import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { map, pipe } from 'rxjs';
import t from 'tap';
import { lines, type Protocol } from '../../source/index.js';
import { startCliServer } from '../helpers/cli.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a draining connection writes every reply to a slow reader: the linger starts once writing is done', async (t) => {
  const MiB = 1024 * 1024;
  const big: Protocol = pipe(lines(), map((line) => Buffer.alloc(4 * MiB, line.toString())));
  // A budget that lets every reply be made at once: 32 MiB wait in the server, far more than the kernel takes.
  const server = await startServer(t, { drainTimeout: 0, writeTimeout: 0, idleTimeout: 0, replyBudget: 64 * MiB }, big);
  const client = connect(server.address.port, '127.0.0.1');
  await once(client, 'connect');
  client.pause();
  client.write('abcdefgh'.split('').join('\n') + '\n');
  await sleep(200);
  const closed = server.close(); // the pipeline ends at once; its replies are still being written
  await sleep(6_500); // longer than the 5 s linger
  let received = 0;
  let error: Error | undefined;
  client.on('data', (chunk: Buffer) => (received += chunk.length));
  client.on('error', (failure) => (error = failure));
  client.resume();
  await Promise.race([once(client, 'close'), sleep(20_000)]);
  t.equal(received, 32 * MiB, 'every reply, whole');
  t.equal(error, undefined, 'closed with a FIN, not a reset');
  t.same(await closed, { destroyed: 0 }, 'reported as drained');
});

t.test('a connection whose replies are cut at the drain timeout is reported as destroyed, never as drained', async (t) => {
  const server = await startServer(t, { drainTimeout: 300, writeTimeout: 0 });
  const client = await LineClient.open(server.address.port);
  client.socket.pause();
  client.socket.on('error', () => {});
  client.send('y'.repeat(1000) + '\n'.repeat(20_000));
  await sleep(200);
  t.same(await server.close(), { destroyed: 1 });
  client.close();
});

t.test('requests sent after the drain began are refused by a clean FIN after an in-order prefix', async (t) => {
  const server = await startServer(t);
  const client = await LineClient.open(server.address.port);
  client.send('before\n');
  await client.readLines(1);
  const closed = server.close();
  await sleep(20);
  client.send('after\n');
  const replies = (await client.readToEnd()).toString().trim().split('\n');
  t.same(replies.map((reply) => reply.replace(ECHO_PREFIX, '')), ['before']);
  t.equal(client.error, undefined, 'a FIN, never a reset');
  t.same(await closed, { destroyed: 0 });
});

t.test('requests held back by backpressure when the drain begins are all answered', async (t) => {
  const server = await startServer(t, { maxPending: 2, drainTimeout: 10_000 });
  const client = await LineClient.open(server.address.port);
  const requests = Array.from({ length: 5000 }, (_, i) => `held ${i}`);
  client.socket.pause(); // replies pile up: the server stops reading, and requests wait in the kernel
  client.send(requests.join('\n') + '\n');
  await sleep(100);
  const closed = server.close();
  client.socket.resume();
  const replies = (await client.readToEnd(10_000)).toString().trim().split('\n');
  t.same(replies.map((reply) => reply.replace(ECHO_PREFIX, '')), requests);
  t.same(await closed, { destroyed: 0 });
});

t.test('SIGTERM right after 200 peers pipelined 500 requests each: all 100,000 answered, in order, no reset, exit 0', async (t) => {
  const server = await startCliServer(['--drain-timeout', '20s', '--backlog', '1024']);
  t.teardown(() => void server.child.kill('SIGKILL'));
  const peers = 200;
  const perPeer = 500;
  const sockets: Socket[] = await Promise.all(
    Array.from({ length: peers }, async () => {
      const socket = connect(server.port, '127.0.0.1');
      await once(socket, 'connect'); // the handshake is done: the kernel holds the connection
      return socket;
    }),
  );
  const received = sockets.map((socket) => {
    const chunks: Buffer[] = [];
    let error: Error | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (failure) => (error = failure));
    return new Promise<{ text: string; error: Error | undefined }>((resolve) =>
      socket.once('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), error })),
    );
  });
  sockets.forEach((socket, p) => socket.write(Array.from({ length: perPeer }, (_, i) => `p${p} r${i}\n`).join('')));
  server.child.kill('SIGTERM'); // at once: many connections are still in the accept queue
  const results = await Promise.all(received);
  t.equal(await server.exited, 0, 'exit 0: drained');
  let answered = 0;
  let resets = 0;
  let disordered = 0;
  results.forEach(({ text, error }, p) => {
    if (error !== undefined) resets++;
    const replies = text.split('\n').slice(0, -1);
    answered += replies.length;
    if (replies.some((reply, i) => reply.replace(ECHO_PREFIX, '') !== `p${p} r${i}`)) disordered++;
  });
  t.equal(resets, 0, 'no connection reset');
  t.equal(disordered, 0, 'every connection answered in order');
  t.equal(answered, peers * perPeer, `${answered} of ${peers * perPeer} answered`);
});
