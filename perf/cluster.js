#!/usr/bin/env node
// @ts-check
/**
 * `npm run build && node perf/cluster.js [--quick]`:
 * `tcp-rx serve` as 1 process and as `--processes 2`, under each of node:cluster's
 * scheduling policies (round-robin in the primary, and `none`: the workers
 * share the listening socket), loaded by perf/line-load.c:
 *
 * - 100 × 32 pipelined and 10,000 active (one request in flight each): requests/s;
 * - connection churn, 32 at once: connect, one request, close; connections/s.
 *
 * The load generator is pinned to core 1 (when taskset exists); the server's
 * processes are not: they may use both cores, sharing one with it. Server
 * CPU is read from /proc/<pid>/stat of the primary and every worker, summed;
 * per request it is that CPU time over the requests (or connections) done.
 * Fairness is the least busy worker's CPU over the busiest's (1 = even).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildLineLoad, cpuSeconds, freePort, processTree, runPinned, waitListening, waitQuiet } from './processes.js';

const quick = process.argv.includes('--quick');
const bin = fileURLToPath(new URL('../dist/cli/tcp-rx.js', import.meta.url));
const nodeFlags = readFileSync(bin, 'latin1').split('\n', 1)[0].split(' ').slice(3);

/** @type {Array<{ label: string, processes: number, policy?: 'rr' | 'none' }>} */
const SERVERS = [
  { label: '1 process', processes: 1 },
  { label: '2 processes, round-robin', processes: 2, policy: 'rr' },
  { label: '2 processes, shared socket', processes: 2, policy: 'none' },
];
const LOADS = [
  { label: '100 × 32 pipelined, req/s', clients: 100, depth: 32, seconds: quick ? 1 : 4, warmup: 1 },
  { label: '10,000 active, req/s', clients: 10_000, depth: 1, seconds: quick ? 1.5 : 5, warmup: 1 },
  { label: 'churn, 32 at once, conn/s', clients: 32, depth: 0, seconds: quick ? 1 : 4, warmup: 1 },
];

/** @param {{ processes: number, policy?: string }} server */
async function start({ processes, policy }) {
  const port = await freePort();
  const env = { ...process.env, ...(policy === undefined ? {} : { NODE_CLUSTER_SCHED_POLICY: policy }) };
  const child = spawn(process.execPath, [...nodeFlags, bin, 'serve', '--addr', `127.0.0.1:${port}`, '--processes', String(processes), '--workers', '12000', '--queue', '1000', '--idle-timeout', '0', '--metrics-interval', '0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  await waitListening(port);
  // The primary says `listening on` once every worker serves.
  for (let wait = 0; !/listening on/.test(log) && wait < 100; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
  return { port, pid: /** @type {number} */ (child.pid), stop: async () => (child.kill('SIGKILL'), await once(child, 'exit')), log: () => log };
}

const rows = [];
for (const server of SERVERS) {
  const running = await start(server);
  const pids = processTree(running.pid);
  const row = { server: server.label, results: /** @type {string[]} */ ([]) };
  for (const load of LOADS) {
    process.stderr.write(`  ${server.label}: ${load.label}…`);
    const before = pids.map(cpuSeconds);
    const started = performance.now();
    const { stdout, stderr } = await runPinned(1, buildLineLoad(), ['127.0.0.1', String(running.port), String(load.clients), String(load.depth), String(load.seconds), String(load.warmup)]);
    const elapsed = (performance.now() - started) / 1000;
    const used = pids.map((pid, i) => cpuSeconds(pid) - before[i]);
    let result;
    try {
      result = JSON.parse(stdout);
    } catch {
      throw new Error(`line-load printed no result: ${stderr}\n${running.log()}`);
    }
    const cpu = used.reduce((sum, seconds) => sum + seconds, 0) / elapsed; // cores, over the whole run
    const perRequest = (cpu / result.requestsPerSecond) * 1e6; // µs of CPU per request, warm-up and all at the same pace
    const workers = used.slice(1);
    const fairness = workers.length > 1 ? Math.min(...workers) / Math.max(...workers) : 1;
    row.results.push(
      `${Math.round(result.requestsPerSecond).toLocaleString('en-US')} (${perRequest.toFixed(1)} µs CPU, ${cpu.toFixed(2)} cores${workers.length > 1 ? `, fair ${fairness.toFixed(2)}, primary ${(used[0] / elapsed).toFixed(2)}` : ''}${result.failed > 0 ? `, ${result.failed} failed` : ''})`,
    );
    process.stderr.write(` ${row.results.at(-1)}\n`);
    await Promise.all(pids.map((pid) => waitQuiet(pid)));
  }
  rows.push(row);
  await running.stop();
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Linux ${release()}, Node ${process.version}`;
console.log(`\n${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${machine} · load: line-load.c on core 1, servers not pinned${quick ? ' · --quick' : ''}\n`);
const header = ['server', ...LOADS.map((load) => load.label)];
const table = [header, ...rows.map((row) => [row.server, ...row.results])];
const widths = header.map((_, column) => Math.max(...table.map((line) => line[column].length)));
for (const line of table) console.log(line.map((cell, column) => cell.padEnd(widths[column])).join(' | '));
