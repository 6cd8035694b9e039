import { randomBytes } from 'node:crypto';
import t from 'tap';
import { startCliServer } from '../helpers/cli.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { residentBytes } from '../../source/bench/process-memory.js';

const MiB = 1024 * 1024;

/** Sends `chunks` as fast as the server takes them, reading (and dropping) whatever comes back. */
async function flood(port: number, chunks: Buffer[]): Promise<void> {
  const client = await LineClient.open(port);
  client.socket.on('error', () => {}); // the server may close on it mid-flood: that is the point
  for (const chunk of chunks) {
    if (client.socket.destroyed) break;
    if (!client.socket.write(chunk)) await new Promise((resolve) => client.socket.once('drain', resolve).once('close', resolve));
  }
  client.socket.end();
  await client.closed;
}

t.test('garbage, NUL floods and 10 MB lines from many peers: the server survives, memory stays bounded, others are served', async (t) => {
  const server = await startCliServer(['--idle-timeout', '5s']);
  t.teardown(() => void server.child.kill('SIGKILL'));
  const pid = server.child.pid!;
  const rssBefore = residentBytes(pid)!;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, residentBytes(pid)!)), 50);

  const garbage = () => Array.from({ length: 16 }, () => randomBytes(64 * 1024));
  const nuls = () => Array.from({ length: 16 }, (_, i) => Buffer.concat([Buffer.alloc(60_000), Buffer.from(i % 2 ? '\n' : '')]));
  const hugeLine = () => Array.from({ length: 10 }, () => Buffer.alloc(MiB, 'z'));
  const hostile = [
    ...Array.from({ length: 10 }, () => flood(server.port, garbage())),
    ...Array.from({ length: 10 }, () => flood(server.port, nuls())),
    ...Array.from({ length: 10 }, () => flood(server.port, hugeLine())),
  ];

  const wellBehaved = Array.from({ length: 20 }, async (_, id) => {
    const client = await LineClient.open(server.port);
    for (let i = 0; i < 50; i++) {
      client.send(`peer ${id} request ${i}\n`);
      const replies = await client.readLines(i + 1, 20_000);
      if (replies[i]!.replace(ECHO_PREFIX, '') !== `peer ${id} request ${i}`) throw new Error(`wrong reply: ${replies[i]}`);
    }
    client.close();
    return 50;
  });

  t.same(await Promise.all(wellBehaved), Array(20).fill(50), 'every well-behaved peer got its 50 replies, correct and in order');
  await Promise.all(hostile);
  clearInterval(sampler);
  const grown = (rssPeak - rssBefore) / MiB;
  t.comment(`server RSS ${(rssBefore / MiB).toFixed(1)} MiB → peak ${(rssPeak / MiB).toFixed(1)} MiB`);
  t.ok(grown < 96, `memory bounded: +${grown.toFixed(1)} MiB under ~100 MiB of hostile input`);

  const after = await LineClient.open(server.port);
  after.send('still alive\n');
  t.equal((await after.readLines(1))[0]!.replace(ECHO_PREFIX, ''), 'still alive');
  after.close();
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  t.notMatch(server.stderr(), /Warning|Unhandled|uncaught/i, 'no warnings, unhandled rejections or exceptions');
});
