// @ts-check
// Soak: 100,000 connect → request → close cycles against one in-process server,
// then checks that nothing leaked: no connection left open, every pooled buffer
// back in the pool, heap back near where it started.
//
//   npm run build && node --expose-gc perf/soak.js [cycles] [concurrency]
import { connect } from 'node:net';
import { defaultBufferPool, serve, silentLogger } from '../dist/index.js';

const cycles = Number(process.argv[2] ?? 100_000);
const concurrency = Number(process.argv[3] ?? 50);
const gc = /** @type {() => void} */ (globalThis.gc ?? (() => console.warn('run with --expose-gc for a meaningful heap figure')));
const MiB = 1024 * 1024;

const server = await serve({ host: '127.0.0.1', port: 0, logger: silentLogger });
let opened = 0;
let closed = 0;
server.events$.subscribe((event) => {
  if (event.type === 'opened') opened++;
  if (event.type === 'closed') closed++;
});

/** One cycle: connect, send a line split across two writes (so it passes through the pool), read the reply, close. */
function cycle() {
  return new Promise((resolve, reject) => {
    const socket = connect(server.address.port, '127.0.0.1');
    socket.once('connect', () => {
      socket.write('soak ');
      setTimeout(() => socket.write('request\n'), 5);
    });
    socket.once('data', (reply) => {
      if (!reply.includes('Echo: soak request')) reject(new Error(`bad reply ${reply}`));
      socket.end();
    });
    socket.once('close', resolve);
    socket.once('error', reject);
  });
}

async function run(count) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        await cycle();
      }
    }),
  );
}

await run(1000); // warm up the JIT and the pool before the baseline
gc();
const heapBefore = process.memoryUsage().heapUsed;
const started = Date.now();
await run(cycles);
for (let waited = 0; closed < opened && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
gc();
const heapAfter = process.memoryUsage().heapUsed;
const pool = defaultBufferPool.stats();
const seconds = (Date.now() - started) / 1000;

const report = {
  cycles,
  seconds: Number(seconds.toFixed(1)),
  cyclesPerSecond: Math.round(cycles / seconds),
  activeConnections: opened - closed,
  pool,
  heapBeforeMiB: Number((heapBefore / MiB).toFixed(2)),
  heapAfterMiB: Number((heapAfter / MiB).toFixed(2)),
};
console.log(JSON.stringify(report, null, 2));
await server.close();
const leaked = report.activeConnections !== 0 || pool.inUse !== 0 || heapAfter - heapBefore > 5 * MiB;
console.log(leaked ? 'LEAK' : 'no leak: 0 active connections, every pooled buffer free, heap within 5 MiB of its start');
process.exit(leaked ? 1 : 0);
