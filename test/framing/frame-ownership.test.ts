import { bufferCount, concatMap, delay, interval, map, mergeMap, pipe, scan, timer, toArray, zip, type OperatorFunction } from 'rxjs';
import t from 'tap';
import { lines, type Protocol, type ServeOptions } from '../../source/index.js';
import { createCa } from '../helpers/certificates.js';
import { LineClient } from '../helpers/line-client.js';
import { PoisonedPool, poisonReadsOf } from '../helpers/poison.js';
import { startServer } from '../helpers/server.js';

const pool = new PoisonedPool();
const frames = (): OperatorFunction<Buffer, Buffer> => lines({ pool });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pipelines that keep frames past their read, each with what it answers to `requests`. */
const keepers: Record<string, { protocol: Protocol; answer: (requests: string[]) => string }> = {
  'concatMap with a timer': {
    protocol: pipe(frames(), concatMap((line) => timer(20).pipe(map(() => `got <${line}>\n`)))),
    answer: (requests) => requests.map((line) => `got <${line}>\n`).join(''),
  },
  'bufferCount then delay': {
    protocol: pipe(frames(), bufferCount(2), delay(30), map((pair) => `${pair.join('+')}\n`)),
    answer: (requests) => [`${requests[0]}+${requests[1]}\n`, `${requests[2]}+${requests[3]}\n`].join(''),
  },
  'zip with an interval': {
    protocol: (chunks) => zip(frames()(chunks), interval(10)).pipe(map(([line]) => `${line}\n`)),
    answer: (requests) => requests.map((line) => `${line}\n`).join(''),
  },
  'scan keeping every frame': {
    protocol: pipe(frames(), scan((kept: Buffer[], line) => [...kept, line], []), delay(20), map((kept) => `${kept.join(',')}\n`)),
    answer: (requests) => requests.map((_, i) => `${requests.slice(0, i + 1).join(',')}\n`).join(''),
  },
  'an async function': {
    protocol: pipe(
      frames(),
      concatMap(async (line) => {
        await sleep(15);
        return `async <${line}>\n`;
      }),
    ),
    answer: (requests) => requests.map((line) => `async <${line}>\n`).join(''),
  },
  'mergeMap with a promise, frames echoed as they are': {
    protocol: pipe(
      frames(),
      mergeMap(async (line) => {
        await sleep(10);
        return Buffer.concat([line, Buffer.from('\n')]);
      }, 1),
    ),
    answer: (requests) => requests.map((line) => `${line}\n`).join(''),
  },
  'raw chunks through a delay': {
    protocol: (chunks) => chunks.pipe(delay(30)),
    answer: (requests) => requests.map((line) => `${line}\n`).join(''),
  },
};

const ca = createCa(t);
const localhost = ca.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
/** TLS connections read into the shared buffer too, one decrypted record per read. */
const transports: Record<string, { options: ServeOptions; open: (port: number) => Promise<LineClient> }> = {
  TCP: { options: {}, open: (port) => LineClient.open(port) },
  TLS: { options: { tls: { cert: localhost.cert, key: localhost.key } }, open: (port) => LineClient.openTls(port, { ca: ca.cert, servername: 'localhost' }) },
};

for (const [transport, { options, open }] of Object.entries(transports)) {
  for (const [name, { protocol, answer }] of Object.entries(keepers)) {
    t.test(`${name}, over ${transport}: each peer sees only its own bytes though lent memory is poisoned after every read`, async (t) => {
      const server = await startServer(t, options, protocol);
      poisonReadsOf(t, server);
      const peers = await Promise.all(['a', 'b', 'c'].map(() => open(server.address.port)));
      const requests = peers.map((_, p) => Array.from({ length: 4 }, (_, i) => `${'abc'[p]!.repeat(5 + i)}${i}`));
      // A line split across reads goes through a pooled block: start each with half a line.
      peers.forEach((peer, p) => peer.send(requests[p]![0]!.slice(0, 3)));
      await sleep(20);
      peers.forEach((peer, p) => peer.send(requests[p]![0]!.slice(3) + '\n' + requests[p]!.slice(1).join('\n') + '\n'));
      const expected = requests.map((own) => answer(own));
      for (const [p, peer] of peers.entries()) {
        await peer.until(() => peer.received.length >= Buffer.byteLength(expected[p]!), 5000, 'every reply');
        t.equal(peer.received.toString(), expected[p], `peer ${'abc'[p]}`);
        peer.close();
      }
    });
  }
}

t.test('toArray: frames kept until the peer finishes come back intact', async (t) => {
  const server = await startServer(t, {}, pipe(frames(), toArray(), map((all) => `${all.join('|')}\n`)));
  poisonReadsOf(t, server);
  const client = await LineClient.open(server.address.port);
  const other = await LineClient.open(server.address.port);
  for (let i = 0; i < 5; i++) {
    client.send(`kept ${i}\n`);
    other.send('x'.repeat(100) + '\n');
    await sleep(5);
  }
  client.socket.end();
  t.equal((await client.readToEnd()).toString(), 'kept 0|kept 1|kept 2|kept 3|kept 4\n');
  other.close();
});

t.test('borrowed frames that reach an asynchronous step end the connection with ERR internal, never with foreign bytes', async (t) => {
  const server = await startServer(t, {}, pipe(lines({ borrowed: true, pool }), delay(20), mergeMap((line) => [line, '\n'])));
  poisonReadsOf(t, server);
  const client = await LineClient.open(server.address.port);
  client.send('mine\n');
  t.equal((await client.readToEnd()).toString(), 'ERR internal\n');
});
