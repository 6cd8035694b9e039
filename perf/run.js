#!/usr/bin/env node
// @ts-check
/**
 * `npm run perf [-- --quick] [-- --load c] [-- --only TLS] [-- --against OLD/dist/cli/tcp-rx.js]`:
 * every scenario (or those whose name holds the `--only` text) against tcp-rx
 * and against the plain baseline (`net`, or `tls` for the TLS scenarios, which
 * perf/tls-load.js drives, or line-load.c over OpenSSL with `--load c`) or, with `--against`,
 * another build of tcp-rx (over TLS too), side by side in one run. Each server is a
 * separate process pinned to core 0 and the load generator is pinned to core
 * 1 when taskset exists: `tcp-rx bench`, or with `--load c` the C generator
 * `line-load.c` (built here with `cc`), which is fast enough that the
 * servers, not the generator, set the pace at one request in flight. Prints
 * one table and the reference's targets; writes
 * perf/results/<timestamp>.json and perf/latest.svg. Then the RESP scenario
 * (perf/resp.js: redis-benchmark against examples/redis.ts and redis-server)
 * and the scale-out ones (perf/scale-out.js: `--processes 2` against 1, and
 * the HAProxy hop); `-- --resp` or `-- --scale` runs those alone. `-- --shutdown`
 * runs perf/shutdown-resets.js (SIGTERM under connection churn) alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.js';
import { holdIdleConnections } from './idle-connections.js';
import { buildLineLoad, canPin, cpuSeconds, residentBytes, runPinned, waitQuiet } from './processes.js';
import { formatResp, runResp } from './resp.js';
import { formatScaleOut, runScaleOut } from './scale-out.js';
import { formatShutdownResets, runShutdownResets } from './shutdown-resets.js';
import { compareAgainst, startServer, tlsCertificate } from './servers.js';
import { checkTargets, formatTable } from './table.js';
import { median, medianBy } from './median.js';

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
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex === -1 ? undefined : process.argv[onlyIndex + 1];
const here = (/** @type {string} */ path) => fileURLToPath(new URL(path, import.meta.url));
const againstIndex = process.argv.indexOf('--against');
const against = againstIndex === -1 ? undefined : process.argv[againstIndex + 1];
if (against !== undefined) compareAgainst(against);

/**
 * Scenarios: `load` ones run the load generator (repeated `repeat` times, the
 * median kept), the `idle` one holds connections open and reads the server's
 * memory. Warm-up: `tcp-rx bench` warms up as the reference does, a tenth of
 * the clients sending `warmupRequests` each (about a second's worth here, for
 * the JIT); the C generator runs for `warmup` ms.
 * `tls` ones run against tcp-rx and the plain `tls` baseline, both serving
 * TLS, loaded by perf/tls-load.js or, with `--load c`, by line-load.c over
 * OpenSSL: `requests` over long-lived connections, or `handshakes`, a new
 * connection (full handshake) per request.
 * @typedef {{ name: string, kind: 'load', clients: number, depth: number, duration: number, warmup: number, warmupRequests: number, repeat: number, tls?: 'requests' | 'handshakes' }} LoadScenario
 * `idle` ones also read each server's V8 heap after a full collection (perf/heap-probe.js), before and
 * while the connections are held, for the heap each connection costs; with `greet` each connection
 * sends one line and reads its reply before idling. Each is run `repeat` times, both servers fresh
 * processes each time, which goes first alternating, and each server's median RSS and median heap
 * per connection kept: one reading of a process's RSS moves by megabytes with when V8 last
 * collected (plain net's, at 15 s, by ~20 MiB with whether its memory reducer has run yet).
 * @type {Array<LoadScenario | { name: string, kind: 'idle', connections: number, hold: number, repeat: number, greet?: boolean }>}
 */
const ALL_SCENARIOS = [
  { name: '100 × 1', kind: 'load', clients: 100, depth: 1, duration: quick ? 800 : 4000, warmup: 1000, warmupRequests: 5000, repeat: quick ? 1 : 3 },
  { name: '100 × 32 pipelined', kind: 'load', clients: 100, depth: 32, duration: quick ? 800 : 4000, warmup: 1000, warmupRequests: 50_000, repeat: quick ? 1 : 3 },
  { name: '10,000 active', kind: 'load', clients: 10_000, depth: 1, duration: quick ? 1000 : 5000, warmup: quick ? 200 : 1000, warmupRequests: quick ? 5 : 20, repeat: 1 },
  { name: '10,000 idle', kind: 'idle', connections: 10_000, hold: quick ? 500 : 3000, repeat: quick ? 1 : 3 },
  // V8's memory reducer collects the garbage of 10,000 arrivals once the process has been quiet for ~8 s.
  { name: '10,000 idle for 15 s', kind: 'idle', connections: 10_000, hold: quick ? 1000 : 15_000, repeat: quick ? 1 : 3 },
  // Each says hello (one line, one reply) first: what a connection keeps once it has been used.
  { name: '10,000 idle after one line', kind: 'idle', connections: 10_000, hold: quick ? 500 : 3000, repeat: quick ? 1 : 3, greet: true },
  { name: 'TLS 100 × 1', kind: 'load', tls: 'requests', clients: 100, depth: 1, duration: quick ? 800 : 4000, warmup: 1000, warmupRequests: 5000, repeat: quick ? 1 : 3 },
  { name: 'TLS 100 × 32 pipelined', kind: 'load', tls: 'requests', clients: 100, depth: 32, duration: quick ? 800 : 4000, warmup: 1000, warmupRequests: 50_000, repeat: quick ? 1 : 3 },
  { name: 'TLS handshakes/s, 32 at once', kind: 'load', tls: 'handshakes', clients: 32, depth: 1, duration: quick ? 800 : 4000, warmup: 1000, warmupRequests: 0, repeat: quick ? 1 : 3 },
];
/** `--only TLS`: the scenarios whose name holds the text. */
const SCENARIOS = ALL_SCENARIOS.filter((scenario) => only === undefined || scenario.name.includes(only));

/** @type {Measure} */
const NOT_MEASURED = { requestsPerSecond: NaN, p50: NaN, p99: NaN, avg: NaN, failed: 0, opened: 0, rss: NaN, cpu: NaN, heapPerConnection: NaN };

/** @typedef {{ clients: number, depth: number, duration: number, warmup: number, warmupRequests: number }} Load */

/**
 * The load generators: how to start one against a port, and how to read the
 * JSON line it prints. Latencies are read in ms.
 * @type {Record<'tcp-rx' | 'c', { label: string, command: () => string, args: (port: number, load: Load) => string[], read: (result: any) => Omit<Measure, 'rss' | 'cpu'> }>}
 */
const GENERATORS = {
  'tcp-rx': {
    label: 'tcp-rx bench',
    command: () => process.execPath,
    args: (port, { clients, depth, duration, warmupRequests }) => [
      here('../dist/cli/tcp-rx.js'), 'bench', '--addr', `127.0.0.1:${port}`, '--clients', String(clients), '--depth', String(depth),
      '--duration', `${duration}ms`, '--warmup', String(warmupRequests), '--json',
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
    command: () => buildLineLoad().binary,
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

/**
 * The TLS scenarios' load generators: perf/tls-load.js (its result reads as tcp-rx bench's), or
 * with `--load c` line-load.c built with OpenSSL (`--tls`; depth 0, connection churn, for the
 * handshakes), so that the servers, not a JavaScript client as busy as they are, set the pace.
 */
const TLS_GENERATORS = {
  js: {
    label: 'perf/tls-load.js',
    command: () => process.execPath,
    args: (/** @type {number} */ port, /** @type {LoadScenario} */ { tls, clients, depth, duration, warmup }) =>
      tls === 'handshakes'
        ? [here('tls-load.js'), 'handshakes', String(port), tlsCertificate().certFile, String(clients), String(duration), String(warmup)]
        : [here('tls-load.js'), 'requests', String(port), tlsCertificate().certFile, String(clients), String(depth), String(duration), String(warmup)],
    read: GENERATORS['tcp-rx'].read,
  },
  c: {
    label: 'line-load.c --tls',
    command: () => buildLineLoad().binary,
    args: (/** @type {number} */ port, /** @type {LoadScenario} */ scenario) => [
      '--tls', tlsCertificate().certFile, ...GENERATORS.c.args(port, { ...scenario, depth: scenario.tls === 'handshakes' ? 0 : scenario.depth }),
    ],
    read: GENERATORS.c.read,
  },
};
const anyTls = SCENARIOS.some((scenario) => 'tls' in scenario);
// Built now, so that a missing libssl-dev is said once, before the run, not in the middle of it.
const TLS_GENERATOR = load === 'c' && anyTls && buildLineLoad().tls ? TLS_GENERATORS.c : TLS_GENERATORS.js;
if (load === 'c' && anyTls && TLS_GENERATOR !== TLS_GENERATORS.c) {
  process.stderr.write('perf: no OpenSSL headers (Debian: apt-get install libssl-dev), so the TLS scenarios fall back to perf/tls-load.js\n');
}

/**
 * One run of the chosen load generator (the TLS one for a TLS scenario)
 * against `server`, pinned to the load core. The server's CPU is read
 * before and after, and its RSS sampled throughout (the peak is kept).
 * @param {import('./servers.js').RunningServer} server
 * @param {LoadScenario} scenario
 * @returns {Promise<Measure>}
 */
async function bench(server, scenario) {
  const generator = scenario.tls === undefined ? GENERATORS[load] : TLS_GENERATOR;
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
    throw new Error(`the ${generator.label} load generator printed no result against ${server.name}: ${stderr}`);
  }
  return { ...generator.read(result), rss, cpu: (cpuSeconds(server.pid) - cpuBefore) / seconds };
}

/** @param {Measure[]} runs the run with the median requests/s */
function medianRun(runs) {
  return /** @type {Measure} */ (medianBy(runs, (run) => run.requestsPerSecond));
}

/**
 * Runs one scenario against both servers, fresh processes each, alternating which goes first.
 * @param {(typeof SCENARIOS)[number]} scenario
 * @returns {Promise<ScenarioResult>}
 */
async function runScenario(scenario) {
  if (scenario.kind === 'idle') return runIdleScenario(scenario);
  const tls = 'tls' in scenario && scenario.tls !== undefined;
  const [tcpRx, baseline] = await Promise.all([startServer(tls ? 'tcp-rx-tls' : 'tcp-rx'), startServer(tls ? 'baseline-tls' : 'baseline')]);
  const servers = { tcpRx, baseline };
  try {
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
    return { name: scenario.name, kind: 'load', tcpRx: medianRun(runs.tcpRx), baseline: medianRun(runs.baseline) };
  } finally {
    await Promise.all([servers.tcpRx.stop(), servers.baseline.stop()]);
  }
}

/**
 * An idle scenario, `repeat` rounds: each round starts both servers afresh, holds the connections
 * on one and then the other (tcp-rx first in even rounds), and stops them. Each server's row is
 * its median RSS and its median heap per connection over the rounds; every round's are kept in
 * the results file.
 * @param {Extract<(typeof SCENARIOS)[number], { kind: 'idle' }>} scenario
 * @returns {Promise<ScenarioResult>}
 */
async function runIdleScenario(scenario) {
  /** @type {{ tcpRx: Measure[], baseline: Measure[] }} */
  const rounds = { tcpRx: [], baseline: [] };
  for (let round = 0; round < scenario.repeat; round++) {
    const started = await Promise.allSettled([startServer('tcp-rx', { probe: true }), startServer('baseline', { probe: true })]);
    if (started[0].status === 'rejected' || started[1].status === 'rejected') {
      // The one that did start is not left running.
      await Promise.all(started.map((one) => (one.status === 'fulfilled' ? one.value.stop() : undefined)));
      throw started.find((one) => one.status === 'rejected')?.reason;
    }
    const servers = { tcpRx: started[0].value, baseline: started[1].value };
    try {
      /** @param {import('./servers.js').RunningServer} server */
      const idle = async (server) => {
        const heapBefore = await server.heap();
        const held = await holdIdleConnections({
          port: server.port,
          count: scenario.connections,
          hold: scenario.hold,
          greet: scenario.greet,
          // RSS first: the probe's collections change it.
          measure: async () => ({ rss: residentBytes(server.pid), heap: await server.heap() }),
        });
        const { rss, heap } = held.measured;
        return { ...NOT_MEASURED, opened: held.opened, failed: held.failed + held.sampled - held.answered, rss, heapPerConnection: (heap - heapBefore) / held.opened };
      };
      /** @type {Array<'tcpRx' | 'baseline'>} */
      const order = round % 2 === 0 ? ['tcpRx', 'baseline'] : ['baseline', 'tcpRx'];
      for (const which of order) {
        rounds[which].push(await idle(servers[which]));
        await waitQuiet(servers[which].pid);
      }
    } finally {
      await Promise.all([servers.tcpRx.stop(), servers.baseline.stop()]);
    }
  }
  /** @param {Measure[]} held */
  const medianOf = (held) => {
    return {
      ...NOT_MEASURED,
      opened: Math.min(...held.map((one) => one.opened)),
      failed: held.reduce((sum, one) => sum + one.failed, 0),
      rss: median(held.map((one) => one.rss)),
      heapPerConnection: median(held.map((one) => one.heapPerConnection)),
      rounds: held.map(({ rss, heapPerConnection }) => ({ rss, heapPerConnection })),
    };
  };
  return { name: scenario.name, kind: 'idle', tcpRx: medianOf(rounds.tcpRx), baseline: medianOf(rounds.baseline) };
}

const started = Date.now();
const date = new Date();
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Linux ${release()}, Node ${process.version}`;
if (process.argv.includes('--resp')) {
  process.stderr.write(`perf --resp${quick ? ' --quick' : ''}: ${machine}; ${canPin ? 'servers on core 0, redis-benchmark on core 1' : 'not pinned (no taskset)'}\n`);
  console.log(formatResp(await runResp({ quick })));
  process.exit(0);
}
if (process.argv.includes('--scale')) {
  process.stderr.write(`perf --scale${quick ? ' --quick' : ''}: ${machine}\n`);
  console.log(formatScaleOut(await runScaleOut({ quick })));
  process.exit(0);
}
if (process.argv.includes('--shutdown')) {
  process.stderr.write(`perf --shutdown${quick ? ' --quick' : ''}: ${machine}\n`);
  console.log(formatShutdownResets(await runShutdownResets({ runs: quick ? 4 : 12 })));
  process.exit(0);
}
const baselineLabel = against === undefined ? 'plain net' : `tcp-rx at ${against}`;
process.stderr.write(`perf${quick ? ' --quick' : ''}${only === undefined ? '' : ` --only ${only}`}: ${machine}; load by ${GENERATORS[load].label} (TLS: ${TLS_GENERATOR.label}); baseline: ${baselineLabel}; ${canPin ? 'servers on core 0, load generator on core 1' : 'not pinned (no taskset)'}\n`);

/** @type {ScenarioResult[]} */
const results = [];
for (const scenario of SCENARIOS) {
  process.stderr.write(`  ${scenario.name}…`);
  const scenarioStart = Date.now();
  results.push(await runScenario(scenario));
  process.stderr.write(` ${((Date.now() - scenarioStart) / 1000).toFixed(1)} s\n`);
}

const targets = checkTargets(results);
const subtitle = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${machine} · load: ${GENERATORS[load].label}${anyTls ? `, TLS: ${TLS_GENERATOR.label}` : ''} · baseline: ${baselineLabel}${quick ? ' · --quick' : ''}${only === undefined ? '' : ` · --only ${only}`}`;
console.log(`\n${subtitle}\n\n${formatTable(results)}\n\nReference targets (tcp-rx):`);
for (const { target, pass, measured } of targets) console.log(`${pass ? '✅' : '❌'} ${target}: ${measured}`);

// A whole run ends with the RESP scenario; a partial one (--only) or a comparison of two builds does not.
const charted = only === undefined && against === undefined;
let resp;
let scale;
if (charted) {
  process.stderr.write('  RESP: redis-benchmark against examples/redis.ts and redis-server…');
  const respStart = Date.now();
  resp = await runResp({ quick });
  process.stderr.write(` ${((Date.now() - respStart) / 1000).toFixed(1)} s\n`);
  console.log(`\n${formatResp(resp)}`);
  process.stderr.write('  Scale-out: --processes 2 against 1, and the HAProxy hop…\n');
  scale = await runScaleOut({ quick });
  console.log(`\n${formatScaleOut(scale)}`);
}

mkdirSync(here('results'), { recursive: true });
const resultsFile = here(`results/${date.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(resultsFile, JSON.stringify({ date: date.toISOString(), machine, load, baseline: baselineLabel, pinned: canPin, quick, only, scenarios: results, targets, resp, scale }, null, 2) + '\n');
// The chart in the README is of a whole run against plain net.
if (charted) writeFileSync(here('latest.svg'), renderChart(results, subtitle));
console.log(`\nwrote ${resultsFile}${charted ? ` and ${here('latest.svg')}` : ''} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
