import { performance } from 'node:perf_hooks';
import t from 'tap';
import { startCliServer } from '../helpers/cli.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { residentBytes } from '../../source/bench/process-memory.js';

const MiB = 1024 * 1024;

t.test('a peer that pipelines 100 MB and never reads: bounded memory, others unaffected, dropped by the write timeout', async (t) => {
  const server = await startCliServer(['--write-timeout', '2s', '--idle-timeout', '0']);
  t.teardown(() => void server.child.kill('SIGKILL'));
  const pid = server.child.pid!;
  const bystander = await LineClient.open(server.port);
  bystander.send('warm up\n');
  await bystander.readLines(1);
  const rssBefore = residentBytes(pid)!;

  const offender = await LineClient.open(server.port);
  offender.socket.pause();
  offender.socket.on('error', () => {});
  const megabyte = Buffer.from(('y'.repeat(63) + '\n').repeat(MiB / 64));
  for (let i = 0; i < 100; i++) offender.socket.write(megabyte);

  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, residentBytes(pid)!)), 50);
  const latencies: number[] = [];
  let unsent = 0;
  for (let i = 0; i < 20 && !offender.socket.destroyed; i++) {
    unsent = Math.max(unsent, offender.socket.writableLength);
    const sent = performance.now();
    bystander.send(`bystander ${i}\n`);
    const replies = await bystander.readLines(i + 2);
    latencies.push(performance.now() - sent);
    t.equal(replies[i + 1]!.replace(ECHO_PREFIX, ''), `bystander ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await offender.closed;
  clearInterval(sampler);
  t.ok(unsent > 50 * MiB, `the server stopped reading: ${(unsent / MiB).toFixed(0)} MiB could not even be sent`);
  const grown = (rssPeak - rssBefore) / MiB;
  t.comment(`server RSS ${(rssBefore / MiB).toFixed(1)} MiB → peak ${(rssPeak / MiB).toFixed(1)} MiB (+${grown.toFixed(1)} MiB)`);
  t.comment(`bystander round trips during the flood: median ${median(latencies).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms`);
  t.ok(grown < 64, `server memory stays bounded (+${grown.toFixed(1)} MiB while 100 MiB were pushed at it)`);

  bystander.send('after\n');
  t.equal((await bystander.readLines(22))[21]!.replace(ECHO_PREFIX, ''), 'after', 'the bystander carries on');
  bystander.close();
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
