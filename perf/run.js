#!/usr/bin/env node
// @ts-check
/**
 * `npm run perf [-- --quick] [-- --load c]`: every scenario against tcp-rx and
 * against the plain-net baseline, side by side in one run. Each server is a
 * separate process pinned to core 0 and the load generator is pinned to core
 * 1 when taskset exists: `tcp-rx bench`, or with `--load c` the C generator
 * `line-load.c` (built here with `cc`), which is fast enough that the
 * servers, not the generator, set the pace at one request in flight. Prints
 * one table and the reference's targets; writes
 * perf/results/<timestamp>.json and perf/latest.svg. Then the RESP scenario
 * (perf/resp.js: redis-benchmark against examples/redis.ts and redis-server);
 * `-- --resp` runs that one alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.js';
import { holdIdleConnections } from './idle-connections.js';
import { canPin, cpuSeconds, residentBytes, runPinned, waitQuiet } from './processes.js';
import { formatResp, runResp } from './resp.js';
import { startServer } from './servers.js';
import { checkTargets, formatTable } from './table.js';

/** @typedef {import('./table.js').Measure} Measure */
/** @typedef {import('./table.js').ScenarioResult} ScenarioResult */

const LOAD_CORE = 1;
const quick = process.argv.includes('--quick');
const loadIndex = process.argv.indexOf('--load');
const load = loadIndex === -1 ? 'tcp-rx' : process.argv[loadIndex + 1];
if (load !== 'tcp-rx' && load !== 'c') {
  process.stderr.write(`perf: --load takes tcp-rx or c, not '${load}'\n`);
  process.exit(2);
}
const here = (/** @type {string} */ path) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Scenarios: `load` ones run `tcp-rx bench` (repeated `repeat` times, the median
 * kept), the `idle` one holds connections open and reads the server's memory.
 * @type {Array<{ name: string, kind: 'load', clients: number, depth: number, duration: number, warmup: number, repeat: number } | { name: string, kind: 'idle', connections: number, hold: number }>}
 */
const SCENARIOS = [
  { name: '100 × 1', kind: 'load', clients: 100, depth: 1, duration: quick ? 800 : 4000, warmup: 1000, repeat: quick ? 1 : 3 },
  { name: '100 × 32 pipelined', kind: 'load', clients: 100, depth: 32, duration: quick ? 800 : 4000, warmup: 1000, repeat: quick ? 1 : 3 },
  { name: '10,000 active', kind: 'load', clients: 10_000, depth: 1, duration: quick ? 1000 : 5000, warmup: quick ? 200 : 1000, repeat: 1 },
  { name: '10,000 idle', kind: 'idle', connections: 10_000, hold: quick ? 500 : 3000 },
  // V8's memory reducer collects the garbage of 10,000 arrivals once the process has been quiet for ~8 s.
  { name: '10,000 idle for 15 s', kind: 'idle', connections: 10_000, hold: quick ? 1000 : 15_000 },
];

/** @type {Measure} */
const NOT_MEASURED = { requestsPerSecond: NaN, p50: NaN, p99: NaN, avg: NaN, failed: 0, opened: 0, rss: NaN, cpu: NaN };

/** @typedef {{ clients: number, depth: number, duration: number, warmup: number }} Load */

/**
 * The load generators: how to start one against a port, and how to read the
 * JSON line it prints. Latencies are read in ms.
 * @type {Record<'tcp-rx' | 'c', { label: string, command: () => string, args: (port: number, load: Load) => string[], read: (result: any) => Omit<Measure, 'rss' | 'cpu'> }>}
 */
const GENERATORS = {
  'tcp-rx': {
    label: 'tcp-rx bench',
    command: () => process.execPath,
    args: (port, { clients, depth, duration, warmup }) => [
      here('../dist/cli/tcp-rx.js'), 'bench', '--addr', `127.0.0.1:${port}`, '--clients', String(clients), '--depth', String(depth),
      '--duration', `${duration}ms`, '--warmup', `${warmup}ms`, '--json',
    ],
    read: (result) => ({
      requestsPerSecond: result.requestsPerSecond,
      p50: result.latency.p50,
      p99: result.latency.p99,
      avg: result.latency.avg,
      failed: result.failed + result.connections.failed,
      opened: result.connections.opened,
    }),
  },
  c: {
    label: 'line-load.c',
    command: buildLineLoad,
    args: (port, { clients, depth, duration, warmup }) => ['127.0.0.1', String(port), String(clients), String(depth), String(duration / 1000), String(warmup / 1000)],
    read: (result) => ({
      requestsPerSecond: result.requestsPerSecond,
      p50: result.latencyUs.p50 / 1000,
      p99: result.latencyUs.p99 / 1000,
      avg: result.latencyUs.avg / 1000,
      failed: result.failed,
      opened: result.opened,
    }),
  },
};

/** `line-load.c`, compiled on first use. */
let lineLoad = '';
function buildLineLoad() {
  if (lineLoad !== '') return lineLoad;
  const binary = join(mkdtempSync(join(tmpdir(), 'tcp-rx-perf-')), 'line-load');
  const built = spawnSync('cc', ['-O2', '-o', binary, here('line-load.c')], { encoding: 'utf8' });
  if (built.status !== 0) {
    process.stderr.write(`perf: --load c needs a C compiler: cc ${built.error?.message ?? built.stderr.trim()}\n`);
    process.exit(1);
  }
  return (lineLoad = binary);
}

/**
 * One run of the chosen load generator against `server`, pinned to the load
 * core. The server's CPU is read before and after, and its RSS sampled
 * throughout (the peak is kept).
 * @param {import('./servers.js').RunningServer} server
 * @param {Load} scenario
 * @returns {Promise<Measure>}
 */
async function bench(server, scenario) {
  const generator = GENERATORS[load];
  const cpuBefore = cpuSeconds(server.pid);
  const started = performance.now();
  let rss = residentBytes(server.pid);
  const sampler = setInterval(() => (rss = Math.max(rss, residentBytes(server.pid))), 100);
  const { stdout, stderr } = await runPinned(LOAD_CORE, generator.command(), generator.args(server.port, scenario)).finally(() => clearInterval(sampler));
  const seconds = (performance.now() - started) / 1000;
  let result;
  try {
    result = JSON.parse(stdout);
  } catch {
    throw new Error(`the ${load} load generator printed no result against ${server.name}: ${stderr}`);
  }
  return { ...generator.read(result), rss, cpu: (cpuSeconds(server.pid) - cpuBefore) / seconds };
}

/** @param {Measure[]} runs the run with the median requests/s */
function median(runs) {
  return [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)];
}

/**
 * Runs one scenario against both servers, fresh processes each, alternating which goes first.
 * @param {(typeof SCENARIOS)[number]} scenario
 * @returns {Promise<ScenarioResult>}
 */
async function runScenario(scenario) {
  const [tcpRx, baseline] = await Promise.all([startServer('tcp-rx'), startServer('baseline')]);
  const servers = { tcpRx, baseline };
  try {
    if (scenario.kind === 'idle') {
      /** @param {import('./servers.js').RunningServer} server */
      const idle = async (server) => {
        const held = await holdIdleConnections({ port: server.port, count: scenario.connections, hold: scenario.hold, measure: () => residentBytes(server.pid) });
        return { ...NOT_MEASURED, opened: held.opened, failed: held.failed + held.sampled - held.answered, rss: held.measured };
      };
      const tcpRxHeld = await idle(servers.tcpRx);
      await waitQuiet(servers.tcpRx.pid);
      return { name: scenario.name, kind: 'idle', tcpRx: tcpRxHeld, baseline: await idle(servers.baseline) };
    }
    /** @type {{ tcpRx: Measure[], baseline: Measure[] }} */
    const runs = { tcpRx: [], baseline: [] };
    for (let round = 0; round < scenario.repeat; round++) {
      /** @type {Array<'tcpRx' | 'baseline'>} */
      const order = round % 2 === 0 ? ['tcpRx', 'baseline'] : ['baseline', 'tcpRx'];
      for (const which of order) {
        runs[which].push(await bench(servers[which], scenario));
        await waitQuiet(servers[which].pid);
      }
    }
    return { name: scenario.name, kind: 'load', tcpRx: median(runs.tcpRx), baseline: median(runs.baseline) };
  } finally {
    await Promise.all([servers.tcpRx.stop(), servers.baseline.stop()]);
  }
}

const started = Date.now();
const date = new Date();
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Linux ${release()}, Node ${process.version}`;
if (process.argv.includes('--resp')) {
  process.stderr.write(`perf --resp${quick ? ' --quick' : ''}: ${machine}; ${canPin ? 'servers on core 0, redis-benchmark on core 1' : 'not pinned (no taskset)'}\n`);
  console.log(formatResp(await runResp({ quick })));
  process.exit(0);
}
process.stderr.write(`perf${quick ? ' --quick' : ''}: ${machine}; load by ${GENERATORS[load].label}; ${canPin ? 'servers on core 0, load generator on core 1' : 'not pinned (no taskset)'}\n`);

/** @type {ScenarioResult[]} */
const results = [];
for (const scenario of SCENARIOS) {
  process.stderr.write(`  ${scenario.name}…`);
  const scenarioStart = Date.now();
  results.push(await runScenario(scenario));
  process.stderr.write(` ${((Date.now() - scenarioStart) / 1000).toFixed(1)} s\n`);
}

const targets = checkTargets(results);
const subtitle = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${machine} · load: ${GENERATORS[load].label}${quick ? ' · --quick' : ''}`;
console.log(`\n${subtitle}\n\n${formatTable(results)}\n\nReference targets (tcp-rx):`);
for (const { target, pass, measured } of targets) console.log(`${pass ? '✅' : '❌'} ${target}: ${measured}`);

process.stderr.write('  RESP: redis-benchmark against examples/redis.ts and redis-server…');
const respStart = Date.now();
const resp = await runResp({ quick });
process.stderr.write(` ${((Date.now() - respStart) / 1000).toFixed(1)} s\n`);
console.log(`\n${formatResp(resp)}`);

mkdirSync(here('results'), { recursive: true });
const resultsFile = here(`results/${date.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(resultsFile, JSON.stringify({ date: date.toISOString(), machine, load, pinned: canPin, quick, scenarios: results, targets, resp }, null, 2) + '\n');
writeFileSync(here('latest.svg'), renderChart(results, subtitle));
console.log(`\nwrote ${resultsFile} and ${here('latest.svg')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
