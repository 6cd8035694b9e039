// Throughput of the tcp-rx CLI server with periodic metrics on and off, side by side.
//
//   npm run build && node perf/metrics-overhead.js [seconds=5] [runs=3]
//
// Each run starts a fresh server child process and drives it from here with
// CONNECTIONS connections, each keeping DEPTH request lines in flight, and
// counts the replies after a warm-up. Runs alternate between the variants so
// that drift in the machine hits both alike. `on` logs a snapshot every
// second (ten times the default rate, to make its cost visible); `off` takes
// none (`--metrics-interval 0`). BASELINE_CLI=<path to another build's
// dist/cli/main.js> adds a third variant, e.g. a build from before metrics.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { median } from './median.js';

const CLI = fileURLToPath(new URL('../dist/cli/tcp-rx.js', import.meta.url));
const CONNECTIONS = 100;
const DEPTH = 32;
const WARMUP_MS = 1000;
const seconds = Number(process.argv[2] ?? 5);
const runs = Number(process.argv[3] ?? 3);

const variants = [
  { name: 'on (1s interval)', cli: CLI, args: ['--metrics-interval', '1s'] },
  { name: 'off (interval 0)', cli: CLI, args: ['--metrics-interval', '0'] },
];
if (process.env.BASELINE_CLI) variants.push({ name: 'baseline build', cli: process.env.BASELINE_CLI, args: [] });

/** Starts the server; resolves with its port and the child once it listens. */
function startServer({ cli, args }) {
  const child = spawn(process.execPath, [cli, 'serve', '--addr', '127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${text}`)));
  });
}

/** Keeps DEPTH requests in flight on each connection; resolves with replies per second after the warm-up. */
async function drive(port) {
  const line = Buffer.from('the quick brown fox jumps over the lazy dog\n');
  let replies = 0;
  let counting = false;
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    })),
  );
  for (const socket of sockets) {
    socket.on('data', (chunk) => {
      let answered = 0;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) answered++;
      if (counting) replies += answered;
      if (answered > 0) socket.write(answered === 1 ? line : Buffer.concat(Array(answered).fill(line)));
    });
    socket.on('error', () => {});
    socket.write(Buffer.concat(Array(DEPTH).fill(line)));
  }
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  counting = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const rate = replies / ((performance.now() - start) / 1000);
  for (const socket of sockets) socket.destroy();
  return rate;
}

const results = new Map(variants.map((variant) => [variant.name, []]));
for (let run = 0; run < runs; run++) {
  for (const variant of variants) {
    const { child, port } = await startServer(variant);
    const rate = await drive(port);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    results.get(variant.name).push(rate);
    console.log(`run ${run + 1} ${variant.name}: ${Math.round(rate)} replies/s`);
  }
}
const reference = median(results.get(variants[1].name));
console.log(`\n${CONNECTIONS} connections × ${DEPTH} in flight, ${seconds}s × ${runs} runs each, medians:`);
for (const [name, rates] of results) {
  console.log(`  ${name.padEnd(18)} ${Math.round(median(rates))} replies/s  (${(median(rates) / reference).toFixed(3)} × off)`);
}
