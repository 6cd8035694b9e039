#!/usr/bin/env node
// @ts-check
/**
 * Server CPU per request of this build against another, side by side: steadier than requests/s on
 * a shared machine, where another tenant's load slows both servers but changes little what each
 * spends on a request.
 *
 *   npm run build && node perf/cpu-per-request.js OLD/dist/cli/tcp-rx.js [clients=100] [depth=1] [seconds=4] [runs=5]
 *
 * Each bin is started as `npm run perf` starts it (perf/servers.js), pinned to core 0, and loaded
 * by line-load.c on core 1 (1 s of warm-up, then `seconds`); runs alternate which goes first.
 * CPU per request is the server's utime + stime over the run divided by the requests answered
 * (warm-up included, at the measured rate). Prints the medians.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin, cpuSeconds, runPinned, waitQuiet } from './processes.js';
import { compareAgainst, startServer } from './servers.js';
import { median } from './median.js';

const [against, clients = '100', depth = '1', seconds = '4', runs = '5'] = process.argv.slice(2);
if (against === undefined) {
  process.stderr.write('usage: node perf/cpu-per-request.js OLD/dist/cli/tcp-rx.js [clients] [depth] [seconds] [runs]\n');
  process.exit(2);
}
compareAgainst(against);
const here = (/** @type {string} */ path) => fileURLToPath(new URL(path, import.meta.url));
const lineLoad = join(mkdtempSync(join(tmpdir(), 'tcp-rx-perf-')), 'line-load');
if (spawnSync('cc', ['-O2', '-o', lineLoad, here('line-load.c')]).status !== 0) throw new Error('needs a C compiler (cc)');

/** @type {Record<'tcp-rx' | 'baseline', Array<{ rps: number, cpuPerRequest: number }>>} */
const results = { 'tcp-rx': [], baseline: [] };
for (let run = 0; run < Number(runs); run++) {
  /** @type {Array<'tcp-rx' | 'baseline'>} */
  const order = run % 2 === 0 ? ['tcp-rx', 'baseline'] : ['baseline', 'tcp-rx'];
  for (const name of order) {
    const server = await startServer(name);
    const before = cpuSeconds(server.pid);
    const { stdout } = await runPinned(1, lineLoad, ['127.0.0.1', String(server.port), clients, depth, seconds, '1']);
    const cpu = cpuSeconds(server.pid) - before;
    const { requestsPerSecond } = JSON.parse(stdout);
    results[name].push({ rps: requestsPerSecond, cpuPerRequest: (cpu / (requestsPerSecond * (Number(seconds) + 1))) * 1e6 });
    await waitQuiet(server.pid);
    await server.stop();
  }
}
const cpu = (/** @type {'tcp-rx' | 'baseline'} */ name) => median(results[name].map((r) => r.cpuPerRequest));
console.log(`${clients} × ${depth}, ${seconds} s × ${runs} runs, medians${canPin ? ', servers on core 0, load on core 1' : ''}; baseline: ${against}`);
console.log('| build | req/s | server CPU µs/request | all runs µs/request |\n| --- | --- | --- | --- |');
for (const name of /** @type {const} */ (['tcp-rx', 'baseline'])) {
  const all = results[name].map((r) => r.cpuPerRequest.toFixed(2)).join(', ');
  console.log(`| ${name === 'tcp-rx' ? 'this build' : 'baseline'} | ${Math.round(median(results[name].map((r) => r.rps))).toLocaleString('en-US')} | ${cpu(name).toFixed(2)} | ${all} |`);
}
console.log(`CPU per request, this build / baseline: ${(cpu('tcp-rx') / cpu('baseline')).toFixed(3)}×`);
