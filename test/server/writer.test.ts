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
