#!/usr/bin/env node
// @ts-check
/**
 * SIGTERM under connection churn: how many clients are reset rather than
 * served or refused. `node perf/shutdown-resets.js [runs]` (after `npm run
 * build`; also `npm run perf -- --shutdown`).
 *
 * 16 clients, each in a loop: connect, send a line, read the reply, close,
 * connect again. 300 ms in, the server gets SIGTERM. From then on each
 * connection ends one of three ways: answered (accepted before the listener
 * closed), refused (it came after: the client knows nothing was sent), or
 * reset after its handshake (it was in the kernel's accept queue when the
 * socket closed: the client cannot tell whether its request was read). The
 * last is what a graceful shutdown should keep to a handshake's width of
 * bad luck. Setups alternate run by run: one process, and `--processes 2`.
 * Probabilistic by nature: a benchmark, not a test.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../dist/cli/tcp-rx.js', import.meta.url));
const nodeFlags = readFileSync(bin, 'latin1').split('\n', 1)[0].split(' ').slice(3);
const CLIENTS = 16;

/**
 * @typedef {{ answered: number, refused: number, reset: number, other: number }} Ending
 * @typedef {{ label: string, processes: number, runs: number, runsWithResets: number } & Ending} SetupResult
 */

/**
 * One SIGTERM under churn against `tcp-rx serve --processes <processes>`.
 * @param {number} processes
 * @returns {Promise<Ending>}
 */
async function sigtermUnderChurn(processes) {
  const server = spawn(process.execPath, [...nodeFlags, bin, 'serve', '--addr', '127.0.0.1:0', '--processes', String(processes), '--metrics-interval', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (chunk) => (log += chunk));
  let port = 0;
  for (let wait = 0; port === 0 && wait < 200; wait++) {
    port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(log)?.[1] ?? 0);
    if (port === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (port === 0) throw new Error(`perf/shutdown-resets: the server did not start: ${log.trim()}`);
  const ending = { answered: 0, refused: 0, reset: 0, other: 0 };
  let signalled = false;
  let stopped = false;
  /** One connection: resolves once it has ended, counting how after the signal. */
  const session = () =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let connected = false;
      let reply = '';
      /** @param {keyof Ending | 'stop'} how */
      const end = (how) => {
        if (signalled && how !== 'stop') ending[how]++;
        resolve(undefined);
      };
      socket.on('connect', () => ((connected = true), socket.write('hello\n')));
      socket.on('data', (chunk) => {
        reply += chunk;
        if (reply.includes('\n')) socket.end();
      });
      socket.on('error', (/** @type {NodeJS.ErrnoException} */ error) => {
        if (error.code === 'ECONNREFUSED') stopped = true;
        end(error.code === 'ECONNREFUSED' ? 'refused' : error.code === 'ECONNRESET' && connected ? 'reset' : 'other');
      });
      socket.on('close', (hadError) => hadError || end(reply.includes('\n') ? 'answered' : 'other'));
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
  const clients = Array.from({ length: CLIENTS }, async () => {
    for (let sessions = 0; !stopped && sessions < 100_000; sessions++) await session();
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  signalled = true;
  server.kill('SIGTERM');
  const [code] = await once(server, 'exit');
  stopped = true;
  await Promise.all(clients);
  if (code !== 0) throw new Error(`perf/shutdown-resets: the server exited with ${code}: ${log.trim().slice(-500)}`);
  return ending;
}

/**
 * `runs` SIGTERMs for each setup, alternated.
 * @param {{ runs?: number }} [options]
 * @returns {Promise<SetupResult[]>}
 */
export async function runShutdownResets({ runs = 12 } = {}) {
  /** @type {SetupResult[]} */
  const results = [
    { label: '1 process', processes: 1, runs: 0, runsWithResets: 0, answered: 0, refused: 0, reset: 0, other: 0 },
    { label: '--processes 2', processes: 2, runs: 0, runsWithResets: 0, answered: 0, refused: 0, reset: 0, other: 0 },
  ];
  for (let run = 0; run < runs; run++) {
    for (const result of results) {
      const ending = await sigtermUnderChurn(result.processes);
      result.runs++;
      if (ending.reset > 0) result.runsWithResets++;
      for (const key of /** @type {(keyof Ending)[]} */ (['answered', 'refused', 'reset', 'other'])) result[key] += ending[key];
    }
  }
  return results;
}

/** @param {SetupResult[]} results */
export function formatShutdownResets(results) {
  const rows = results.map((r) => `| ${r.label} | ${r.runs} | ${r.runsWithResets} | ${r.reset} | ${r.refused} | ${r.answered} | ${r.other} |`);
  return ['| SIGTERM under churn (16 clients) | runs | runs with a reset | reset after handshake | refused | answered after the signal | other |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(formatShutdownResets(await runShutdownResets({ runs: Number(process.argv[2] ?? 12) })));
}
