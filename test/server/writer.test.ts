import { map, mergeMap, pipe } from 'rxjs';
import t from 'tap';
import { allocateReply, lines } from '../../source/index.js';
import { LineClient } from '../helpers/line-client.js';
import { recordEvents, startServer } from '../helpers/server.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('frames echoed as they are stay intact though their pooled blocks are reused', async (t) => {
  // A line that spans reads is delivered from a pooled block and the block is released at once:
  // the tail of the same read, the start of the next line, takes that block straight back.
  const server = await startServer(t, {}, pipe(lines(), mergeMap((frame) => [frame, '\n'])));
  const client = await LineClient.open(server.address.port);
  const expected: string[] = [];
  client.send('line 0 starts,');
  for (let i = 0; i < 20; i++) {
    await pause(5);
    client.send(` line ${i} ends\nline ${i + 1} starts,`);
    expected.push(`line ${i} starts, line ${i} ends`);
  }
  t.same(await client.readLines(20), expected);
  client.close();
});

t.test('chunks echoed as they are stay intact in a slow reader\'s queue though other reads reuse the read buffer', async (t) => {
  // Every read lands in one shared buffer. A reply that is a view of it and must wait
  // in the socket (its peer is not reading) would be overwritten by the next read of any connection.
  const server = await startServer(t, { writeTimeout: 0 }, map((chunk: Buffer) => chunk));
  const slow = await LineClient.open(server.address.port);
  slow.socket.pause();
  const sent = 8 * 1024 * 1024;
  slow.send('a'.repeat(sent));
  await pause(300); // the kernel's buffers fill and the server queues the rest
  const busy = await LineClient.open(server.address.port);
  for (let i = 0; i < 20; i++) {
    busy.send('b'.repeat(64 * 1024));
    await pause(5);
  }
  slow.socket.resume();
  let received = 0;
  let foreign = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received} of ${sent} bytes came back`)), 20_000);
    slow.socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      for (const byte of chunk) if (byte !== 0x61) foreign++;
      if (received >= sent) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  t.equal(foreign, 0, 'no byte of another connection');
  slow.close();
  busy.close();
});

t.test('replies from one read go out in one write, copied or not', async (t) => {
  const protocols = {
    'side by side in reply memory': pipe(
      lines(),
      map((line) => {
        const reply = allocateReply(line.length + 1);
        reply.set(line);
        reply[line.length] = 0x0a;
        return reply;
      }),
    ),
    'strings, joined': pipe(
      lines(),
      map((line) => `${line}\n`),
    ),
  };
  for (const [name, protocol] of Object.entries(protocols)) {
    const server = await startServer(t, {}, protocol);
    const recorded = recordEvents(server);
    const client = await LineClient.open(server.address.port);
    client.send(Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
    t.same(await client.readLines(100), Array.from({ length: 100 }, (_, i) => `line ${i}`), name);
    client.close();
    const reads = recorded.events.filter((event) => event.type === 'read').length;
    const writes = recorded.events.filter((event) => event.type === 'written').length;
    t.equal(writes, reads, `${name}: one write per read`);
  }
});

/** `text` in reply memory, as a protocol's reply would be carved. */
function carve(text: string): Buffer {
  const reply = allocateReply(text.length);
  reply.write(text, 'latin1');
  return reply;
}

t.test('replies carved from reply memory reach the peer intact and in order, also when sent in another order than carved', async (t) => {
  // Per line two replies, the one carved last sent first: the writer must not take either for the other.
  const protocol = pipe(
    lines(),
    mergeMap((line) => {
      const first = carve(`${line}-a\n`);
      const second = carve(`${line}-b\n`);
      return [second, first];
    }),
  );
  const server = await startServer(t, {}, protocol);
  const client = await LineClient.open(server.address.port);
  client.send(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
  t.same(
    await client.readLines(100),
    Array.from({ length: 50 }, (_, i) => [`line ${i}-b`, `line ${i}-a`]).flat(),
  );
  client.close();
});

t.test('carved replies, strings and replies of their own, mixed, reach the peer in order, in one write per read', async (t) => {
  // A run of carved replies broken by a string, then one by a reply elsewhere, then carved again.
  const protocol = pipe(
    lines(),
    mergeMap((line) => [carve(`${line}-a\n`), carve(`${line}-b\n`), `${line}-s\n`, carve(`${line}-c\n`), Buffer.from(`${line}-o\n`), carve(`${line}-d\n`)]),
  );
  const server = await startServer(t, {}, protocol);
  const recorded = recordEvents(server);
  const client = await LineClient.open(server.address.port);
  client.send(Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(''));
  t.same(
    await client.readLines(120),
    Array.from({ length: 20 }, (_, i) => ['a', 'b', 's', 'c', 'o', 'd'].map((suffix) => `line ${i}-${suffix}`)).flat(),
  );
  client.close();
  const reads = recorded.events.filter((event) => event.type === 'read').length;
  const writes = recorded.events.filter((event) => event.type === 'written').length;
  t.equal(writes, reads, 'one write per read');
});
