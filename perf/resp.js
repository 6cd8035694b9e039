#!/usr/bin/env node
// @ts-check
/**
 * The RESP scenario of `npm run perf` (alone: `npm run perf -- --resp`):
 * the real `redis-benchmark -t ping,set,get -c 50`, pipelined 16 deep and
 * not at all, against `examples/redis.ts` (run as the README says, with
 * ts-node) and against a real `redis-server`, each pinned to the server core
 * in turn, the benchmark on the other. Rounds alternate which server goes
 * first; the median of each figure is kept. Skipped, with a line saying so,
 * when redis-server or redis-benchmark is not installed.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { canPin, cpuSeconds, freePort, notInstalled, runPinned, spawnPinned, waitListening } from './processes.js';
import { SERVER_CORE } from './servers.js';
import { medianBy } from './median.js';

const LOAD_CORE = 1;
const here = (/** @type {string} */ path) => fileURLToPath(new URL(path, import.meta.url));

/**
 * `cpu`: the server's CPU time (user + system) per request over the whole redis-benchmark run, in µs:
 * steadier than requests/s on a shared machine.
 * @typedef {{ test: string, depth: number, requestsPerSecond: number, p50: number, p99: number, cpu: number }} RespMeasure
 */
/** @typedef {{ skipped: string } | { skipped?: undefined, redisVersion: string, rows: Array<{ test: string, depth: number, tcpRx: RespMeasure, redis: RespMeasure }> }} RespResult */

/** The servers compared: how to start each on a port. */
const SERVERS = {
  tcpRx: {
    label: 'examples/redis.ts',
    start: (/** @type {number} */ port) =>
      spawnPinned(SERVER_CORE, process.execPath, ['--no-warnings=ExperimentalWarning', '--loader', 'ts-node/esm', here('../examples/redis.ts')], {
        cwd: here('..'),
        env: { ...process.env, PORT: String(port), TS_NODE_TRANSPILE_ONLY: 'true' },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
  },
  redis: {
    label: 'redis-server',
    start: (/** @type {number} */ port) =>
      spawnPinned(SERVER_CORE, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'ignore', 'pipe'] }),
  },
};

/**
 * Starts server `name` on a free port; resolves once it accepts connections.
 * @param {keyof typeof SERVERS} name
 */
async function start(name) {
  const port = await freePort();
  const child = SERVERS[name].start(port);
  let log = '';
  child.stderr?.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await Promise.race([waitListening(port, 60_000), exited.then(() => Promise.reject(new Error(`${SERVERS[name].label} exited before listening:\n${log}`)))]);
  return {
    port,
    pid: /** @type {number} */ (child.pid),
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * One redis-benchmark run; its CSV read into a measure per test.
 * @param {{ port: number, pid: number }} server
 * @param {number} depth
 * @param {number} requests
 * @returns {Promise<RespMeasure[]>}
 */
async function benchmark(server, depth, requests) {
  const cpuBefore = cpuSeconds(server.pid);
  const args = ['-h', '127.0.0.1', '-p', String(server.port), '-t', 'ping,set,get', '-c', '50', '-P', String(depth), '-n', String(requests), '--csv'];
  const { code, stdout, stderr } = await runPinned(LOAD_CORE, 'redis-benchmark', args);
  if (code !== 0) throw new Error(`redis-benchmark ${args.join(' ')} failed: ${stderr}`);
  const tests = 4; // PING_INLINE, PING_MBULK, SET, GET
  const cpu = ((cpuSeconds(server.pid) - cpuBefore) / (tests * requests)) * 1e6;
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.replaceAll('"', '').split(','))
    .map(([test = '', rps, , , p50, , p99]) => ({ test, depth, requestsPerSecond: Number(rps), p50: Number(p50), p99: Number(p99), cpu }));
}

/** @param {RespMeasure[]} runs the run with the median requests/s */
const median = (runs) => medianBy(runs, (run) => run.requestsPerSecond);

/**
 * Runs the scenario.
 * @param {{ quick?: boolean }} [options]
 * @returns {Promise<RespResult>}
 */
export async function runResp({ quick = false } = {}) {
  for (const tool of ['redis-server', 'redis-benchmark']) {
    const skipped = notInstalled(tool, ['--version'], 'redis-server redis-tools');
    if (skipped !== undefined) return { skipped };
  }
  const redisVersion = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
  const rounds = quick ? 1 : 3;
  const loads = [
    { depth: 16, requests: quick ? 200_000 : 1_000_000 },
    { depth: 1, requests: quick ? 20_000 : 100_000 },
  ];
  /** @type {Record<'tcpRx' | 'redis', RespMeasure[]>} */
  const runs = { tcpRx: [], redis: [] };
  const servers = { tcpRx: await start('tcpRx'), redis: await start('redis') };
  try {
    for (let round = 0; round < rounds; round++) {
      /** @type {Array<'tcpRx' | 'redis'>} */
      const order = round % 2 === 0 ? ['tcpRx', 'redis'] : ['redis', 'tcpRx'];
      for (const which of order) for (const { depth, requests } of loads) runs[which].push(...(await benchmark(servers[which], depth, requests)));
    }
  } finally {
    await Promise.all([servers.tcpRx.stop(), servers.redis.stop()]);
  }
  const pick = (/** @type {RespMeasure[]} */ measures, /** @type {string} */ test, /** @type {number} */ depth) => median(measures.filter((m) => m.test === test && m.depth === depth));
  const rows = loads.flatMap(({ depth }) =>
    [...new Set(runs.redis.map((m) => m.test))].map((test) => ({ test, depth, tcpRx: pick(runs.tcpRx, test, depth), redis: pick(runs.redis, test, depth) })),
  );
  return { redisVersion, rows };
}

const int = (/** @type {number} */ value) => Math.round(value).toLocaleString('en-US');

/**
 * The result as a Markdown table, and the target (≥ 0.5× redis-server on SET and GET at -P 16).
 * @param {RespResult} result
 */
export function formatResp(result) {
  if (result.skipped !== undefined) return `RESP scenario skipped: ${result.skipped}`;
  const rows = [
    ['redis-benchmark -c 50', 'tcp-rx req/s', `redis ${result.redisVersion} req/s`, 'ratio', 'tcp-rx p50 / p99 ms', 'redis p50 / p99 ms', 'server CPU µs / request, tcp-rx / redis'],
    ...result.rows.map(({ test, depth, tcpRx, redis }) => [
      `${test} -P ${depth}`,
      int(tcpRx.requestsPerSecond),
      int(redis.requestsPerSecond),
      `${(tcpRx.requestsPerSecond / redis.requestsPerSecond).toFixed(2)}×`,
      `${tcpRx.p50.toFixed(2)} / ${tcpRx.p99.toFixed(2)}`,
      `${redis.p50.toFixed(2)} / ${redis.p99.toFixed(2)}`,
      `${tcpRx.cpu.toFixed(2)} / ${redis.cpu.toFixed(2)} (${(tcpRx.cpu / redis.cpu).toFixed(2)}×)`,
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (/** @type {string[]} */ row) => `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  const table = [line(rows[0]), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
  const targets = ['SET', 'GET'].map((test) => {
    const row = result.rows.find((r) => r.test === test && r.depth === 16);
    const ratio = row === undefined ? NaN : row.tcpRx.requestsPerSecond / row.redis.requestsPerSecond;
    return `${ratio >= 0.5 ? '✅' : '❌'} ${test} -P 16 ≥ 0.5× redis-server: ${ratio.toFixed(2)}×`;
  });
  return `${table}\n\n${targets.join('\n')}`;
}

// Run alone: `node perf/resp.js [--quick]` (after `npm run build`: the example imports the built package).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  process.stderr.write(`perf resp${quick ? ' --quick' : ''}: ${canPin ? 'servers on core 0, redis-benchmark on core 1' : 'not pinned (no taskset)'}\n`);
  console.log(formatResp(await runResp({ quick })));
}
