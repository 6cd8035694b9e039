// @ts-check
/**
 * The scale-out scenarios of `npm run perf` (alone: `npm run perf -- --scale`),
 * loaded by perf/line-load.c pinned to core 1 (when taskset exists). One
 * process runs on core 0, as in the main table. Two processes run once
 * unpinned (they may use both cores, sharing one with the load generator, as
 * a deployment would) and once both on core 0: the same CPU as one process,
 * so that the CPU each request costs says what splitting the server into
 * processes costs, apart from what sharing a core with the load costs.
 *
 * - `tcp-rx serve` as 1 process and as `--processes 2`, under each of
 *   node:cluster's scheduling policies (round-robin in the primary, and
 *   `none`: the workers share the listening socket): 100 × 1, 100 × 32
 *   pipelined and 10,000 active (one request in flight each), requests/s,
 *   with the server CPU each request costs, summed over processes; connection
 *   churn, 32 at once (connect, one request, close), connections/s.
 * - The HAProxy hop: 100 × 1 and 100 × 32 straight to tcp-rx, and through a real
 *   haproxy in TCP mode sending PROXY v2 headers to `tcp-rx serve
 *   --proxy-protocol`: what the proxy costs, so that users know it. Where
 *   haproxy is not installed, that row says so and the rest run.
 *
 * Server CPU is read from /proc/<pid>/stat of every process serving
 * (primary, workers, haproxy), summed; per request it is that CPU time over
 * the requests (or connections) done. Fairness is the least busy worker's
 * CPU over the busiest's (1 = even).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLineLoad, cpuSeconds, freePort, notInstalled, processTree, runPinned, spawnPinned, waitListening, waitQuiet } from './processes.js';

const bin = fileURLToPath(new URL('../dist/cli/tcp-rx.js', import.meta.url));
const nodeFlags = readFileSync(bin, 'latin1').split('\n', 1)[0].split(' ').slice(3);
const HAPROXY = '/usr/sbin/haproxy';

/**
 * @typedef {{ label: string, clients: number, depth: number, seconds: number, warmup: number }} Load
 * @typedef {{ label: string, processes: number, policy?: 'rr' | 'none', core?: number, haproxy?: boolean, loads: Load[] }} Setup
 * @typedef {{ label: string, requestsPerSecond: number, cpuPerRequest: number, cores: number, fairness?: number, primary?: number, failed: number }} Measure
 * @typedef {{ setup: string, results: Measure[], skipped?: string }} Row
 */

/** @param {boolean} quick */
function setups(quick) {
  const single = { label: '100 × 1, req/s', clients: 100, depth: 1, seconds: quick ? 1 : 4, warmup: 1 };
  const pipelined = { label: '100 × 32 pipelined, req/s', clients: 100, depth: 32, seconds: quick ? 1 : 4, warmup: 1 };
  const active = { label: '10,000 active, req/s', clients: 10_000, depth: 1, seconds: quick ? 1.5 : 5, warmup: 1 };
  const churn = { label: 'churn, 32 at once, conn/s', clients: 32, depth: 0, seconds: quick ? 1 : 4, warmup: 1 };
  /** @type {Setup[]} */
  const list = [
    { label: '1 process (core 0)', processes: 1, core: 0, loads: [single, pipelined, active, churn] },
    { label: '2 processes, shared socket, both on core 0', processes: 2, policy: 'none', core: 0, loads: [single, pipelined] },
    { label: '2 processes, round-robin', processes: 2, policy: 'rr', loads: [single, pipelined, active, churn] },
    { label: '2 processes, shared socket', processes: 2, policy: 'none', loads: [single, pipelined, active, churn] },
    { label: '1 process behind haproxy (PROXY v2)', processes: 1, core: 0, haproxy: true, loads: [single, pipelined, churn] },
  ];
  return list;
}

/**
 * Starts `tcp-rx serve` (and haproxy in front of it for a `haproxy` setup);
 * resolves once the port the load should go to takes connections.
 * @param {Setup} setup
 */
async function start({ processes, policy, core, haproxy }) {
  const port = await freePort();
  const env = { ...process.env, ...(policy === undefined ? {} : { NODE_CLUSTER_SCHED_POLICY: policy }) };
  const args = ['serve', '--addr', `127.0.0.1:${port}`, '--processes', String(processes), '--workers', '12000', '--queue', '1000', '--idle-timeout', '0', '--metrics-interval', '0'];
  const command = [...nodeFlags, bin, ...args, ...(haproxy ? ['--proxy-protocol'] : [])];
  const options = /** @type {const} */ ({ env, stdio: ['ignore', 'ignore', 'pipe'] });
  // Forked workers inherit the primary's CPU affinity.
  const server = core === undefined ? spawn(process.execPath, command, options) : spawnPinned(core, process.execPath, command, options);
  let log = '';
  server.stderr?.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  // The primary says `listening on` once every worker serves.
  for (let wait = 0; !/listening on/.test(log) && wait < 200; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
  const stops = [async () => (server.kill('SIGKILL'), await once(server, 'exit'))];
  const pids = processTree(/** @type {number} */ (server.pid));
  let target = port;
  if (haproxy) {
    target = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tcp-rx-perf-haproxy-'));
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      `global\n  maxconn 4000\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n` +
        `frontend f\n  bind 127.0.0.1:${target}\n  default_backend b\nbackend b\n  server s 127.0.0.1:${port} send-proxy-v2\n`,
    );
    const proxy = spawn(HAPROXY, ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
    proxy.stderr?.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
    stops.push(async () => (proxy.kill('SIGKILL'), await once(proxy, 'exit'), rmSync(dir, { recursive: true, force: true })));
    pids.push(/** @type {number} */ (proxy.pid));
  }
  const stop = () => Promise.all(stops.map((each) => each()));
  try {
    await waitListening(target);
  } catch (error) {
    await stop(); // nothing of a setup that failed to start outlives the run
    throw new Error(`${/** @type {Error} */ (error).message}\n${log}`);
  }
  return { port: target, pids, stop, log: () => log };
}

/**
 * Runs every setup under each of its loads; resolves with a row of measures per setup.
 * @param {{ quick?: boolean }} options
 */
export async function runScaleOut({ quick = false } = {}) {
  /** @type {Row[]} */
  const rows = [];
  for (const setup of setups(quick)) {
    const skipped = setup.haproxy ? notInstalled(HAPROXY, ['-v'], 'haproxy') : undefined;
    if (skipped !== undefined) {
      process.stderr.write(`    ${setup.label}: skipped, ${skipped}\n`);
      rows.push({ setup: setup.label, results: [], skipped });
      continue;
    }
    const running = await start(setup);
    /** @type {Row} */
    const row = { setup: setup.label, results: [] };
    try {
      for (const load of setup.loads) {
        process.stderr.write(`    ${setup.label}: ${load.label}…`);
        const { pids } = running;
        const before = pids.map(cpuSeconds);
        const started = performance.now();
        const { stdout, stderr } = await runPinned(1, buildLineLoad().binary, ['127.0.0.1', String(running.port), String(load.clients), String(load.depth), String(load.seconds), String(load.warmup)]);
        const elapsed = (performance.now() - started) / 1000;
        const used = pids.map((pid, i) => cpuSeconds(pid) - before[i]);
        let result;
        try {
          result = JSON.parse(stdout);
        } catch {
          throw new Error(`line-load printed no result: ${stderr}\n${running.log()}`);
        }
        const cores = used.reduce((sum, seconds) => sum + seconds, 0) / elapsed; // over the whole run
        const workers = setup.processes > 1 ? used.slice(1) : [];
        row.results.push({
          label: load.label,
          requestsPerSecond: result.requestsPerSecond,
          cpuPerRequest: (cores / result.requestsPerSecond) * 1e6, // µs; warm-up and all at the same pace
          cores,
          ...(workers.length > 1 ? { fairness: Math.min(...workers) / Math.max(...workers), primary: used[0] / elapsed } : {}),
          failed: result.failed,
        });
        process.stderr.write(` ${cell(row.results.at(-1))}\n`);
        await Promise.all(pids.map((pid) => waitQuiet(pid)));
      }
    } finally {
      await running.stop();
    }
    rows.push(row);
  }
  return rows;
}

/** @param {Measure | undefined} measure */
function cell(measure) {
  if (measure === undefined) return '–';
  const extra = measure.fairness === undefined ? '' : `, fair ${measure.fairness.toFixed(2)}, primary ${measure.primary?.toFixed(2)}`;
  return `${Math.round(measure.requestsPerSecond).toLocaleString('en-US')} (${measure.cpuPerRequest.toFixed(1)} µs CPU, ${measure.cores.toFixed(2)} cores${extra}${measure.failed > 0 ? `, ${measure.failed} failed` : ''})`;
}

/**
 * The rows as a Markdown table, one column per load; a row skipped says why in its first cell.
 * @param {Row[]} rows
 */
export function formatScaleOut(rows) {
  const labels = [...new Set(rows.flatMap((row) => row.results.map((result) => result.label)))];
  const cells = (/** @type {Row} */ row) =>
    row.skipped === undefined ? labels.map((label) => cell(row.results.find((result) => result.label === label))) : labels.map((_, i) => (i === 0 ? `skipped: ${row.skipped}` : '–'));
  const table = [['Scale-out (line-load.c on core 1)', ...labels], ...rows.map((row) => [row.setup, ...cells(row)])];
  const widths = table[0].map((_, column) => Math.max(...table.map((line) => line[column].length)));
  const line = (/** @type {string[]} */ cells) => `| ${cells.map((text, column) => text.padEnd(widths[column])).join(' | ')} |`;
  return [line(table[0]), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...table.slice(1).map(line)].join('\n');
}
