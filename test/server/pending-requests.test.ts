import type { Socket } from 'node:net';
import { bufferCount, concatMap, filter, map, mergeMap, pipe, tap, timer } from 'rxjs';
import t from 'tap';
import { connectionContext, echo, lines, settle, type Protocol, type ServerEvent } from '../../source/index.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bytesRead(server: { events$: { subscribe(next: (event: ServerEvent) => void): unknown } }): () => number {
  let total = 0;
  server.events$.subscribe((event) => {
    if (event.type === 'read') total += event.bytes;
  });
  return () => total;
}

t.test('a peer pipelining newlines into a slow handler: reading pauses at maxPending, memory stays bounded', async (t) => {
  const slow: Protocol = pipe(lines(), concatMap((line) => timer(1000).pipe(map(() => `${line}\n`))));
  const server = await startServer(t, { maxPending: 1024 }, slow);
  const read = bytesRead(server);
  const heapBefore = process.memoryUsage().heapUsed;
  const flooder = await LineClient.open(server.address.port);
  flooder.socket.on('error', () => {});
  const newlines = Buffer.alloc(MiB, '\n');
  const deadline = Date.now() + 1500;
  let offered = 0;
  while (Date.now() < deadline && offered < 64 * MiB) {
    if (flooder.socket.writableLength < 4 * MiB) {
      flooder.socket.write(newlines);
      offered += MiB;
    }
    await sleep(10);
  }
  const heapGrowth = (process.memoryUsage().heapUsed - heapBefore) / MiB;
  t.comment(`offered ${offered / MiB} MiB, the server read ${(read() / 1024).toFixed(0)} KiB; heap +${heapGrowth.toFixed(1)} MiB`);
  t.ok(offered >= 4 * MiB, 'the peer could push megabytes into the kernel');
  t.ok(read() < 2 * MiB, `the server stopped reading: ${(read() / 1024).toFixed(0)} KiB read`);
  flooder.socket.destroy();
});

t.test('a connection at maxPending resumes as answers come, and every request is answered in order', async (t) => {
  const server = await startServer(t, { maxPending: 4 }, pipe(lines(), concatMap((line) => timer(5).pipe(map(() => `${line}\n`)))));
  const client = await LineClient.open(server.address.port);
  const requests = Array.from({ length: 60 }, (_, i) => `request ${i}`);
  client.send(requests.join('\n') + '\n');
  t.same(await client.readLines(60, 10_000), requests);
  client.close();
});

t.test('a peer that does not read cannot make one read of empty lines hold more than the reply budget', async (t) => {
  let socket: Socket | undefined;
  const capture: Protocol = (chunks) => {
    socket = connectionContext()?.socket;
    return pipe(lines({ borrowed: true }), echo())(chunks);
  };
  const replyBudget = 64 * 1024;
  const server = await startServer(t, { replyBudget, writeTimeout: 0 }, capture);
  const read = bytesRead(server);
  const client = await LineClient.open(server.address.port);
  client.socket.pause();
  const requests = 256 * 1024; // 256 Ki empty lines: 9 MiB of replies
  client.send(Buffer.alloc(requests, '\n'));
  let unsent = 0;
  for (let i = 0; i < 30; i++) {
    await sleep(20);
    unsent = Math.max(unsent, socket?.writableLength ?? 0);
  }
  t.comment(`the server holds at most ${(unsent / 1024).toFixed(0)} KiB of replies; read ${(read() / 1024).toFixed(0)} KiB of 256 KiB`);
  t.ok(unsent < replyBudget + 64 * 1024, 'replies held stay within the budget and one write');
  t.ok(read() < requests, 'the rest waits in the kernel');
  client.socket.resume();
  const replyLength = '[2026-11-29T09:19:57.000000Z] Echo: \n'.length;
  await client.until(() => client.received.length >= requests * replyLength, 20_000, 'every reply');
  const replies = client.received.toString('latin1').split('\n').slice(0, -1);
  t.equal(replies.length, requests, 'every empty line answered once the peer reads');
  t.ok(replies.every((reply) => ECHO_PREFIX.test(reply) && reply.replace(ECHO_PREFIX, '') === ''));
  client.close();
});

t.test('settle() tells a protocol that answers otherwise than one for one when a request is done', async (t) => {
  let stored = 0;
  const protocols: Record<string, { protocol: Protocol; requests: number; replies: number; stored?: true }> = {
    'a sink that never replies': {
      protocol: pipe(lines(), mergeMap(async () => void stored++, 4), settle(), mergeMap(() => [] as string[])),
      requests: 500,
      replies: 0,
      stored: true,
    },
    'a batcher that answers ten at once': {
      protocol: pipe(lines(), bufferCount(10), settle((batch) => batch.length), map((batch) => `${batch.length}\n`)),
      requests: 500,
      replies: 50,
    },
    'a fan-out that answers each with three': {
      protocol: pipe(lines(), mergeMap((line) => [`${line} 1\n`, `${line} 2\n`, `${line} 3\n`])),
      requests: 100,
      replies: 300,
    },
  };
  for (const [name, { protocol, requests, replies, stored: counts }] of Object.entries(protocols)) {
    stored = 0;
    const server = await startServer(t, { maxPending: 16 }, protocol);
    const client = await LineClient.open(server.address.port);
    client.send(Array.from({ length: requests }, (_, i) => `r${i}`).join('\n') + '\n');
    if (replies > 0) t.equal((await client.readLines(replies, 10_000)).length, replies, `${name}: every reply`);
    if (counts) {
      for (let waited = 0; stored < requests && waited < 5000; waited += 10) await sleep(10);
      t.equal(stored, requests, `${name}: every request done`);
    }
    client.close();
  }
});

t.test('without settle(), a sink stops at maxPending: the bound holds for every protocol', async (t) => {
  let seen = 0;
  const server = await startServer(t, { maxPending: 16, drainTimeout: 200 }, pipe(lines(), tap(() => seen++), filter(() => false)));
  const client = await LineClient.open(server.address.port);
  client.send(Array.from({ length: 1000 }, (_, i) => `r${i}`).join('\n') + '\n');
  await sleep(300);
  t.equal(seen, 16, 'no more than maxPending requests taken');
  client.close();
});
