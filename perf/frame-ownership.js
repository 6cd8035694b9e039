#!/usr/bin/env node
// @ts-check
/**
 * What owned frames cost, side by side in one run:
 *
 *   npm run build && node perf/frame-ownership.js [seconds=4] [runs=3]
 *
 * Two servers run the same pipeline, `lines` into a handler that answers
 * each frame, once with owned frames (the default: one copy per read of the
 * whole lines in it) and once with `borrowed: true` (views of the shared
 * read buffer, the reference protocol's choice); then a pipeline that keeps
 * its frames past their read (a `concatMap` whose step is a resolved promise,
 * as the json-rpc example's is), which only owned frames make safe. Each is
 * a separate process pinned to core 0, driven by line-load.c pinned to core
 * 1 at 100 connections × 32 requests in flight; runs alternate.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin, cpuSeconds, freePort, runPinned, spawnNode, waitListening } from './processes.js';
import { SERVER_CORE } from './servers.js';
import { median } from './median.js';

const here = (/** @type {string} */ path) => fileURLToPath(new URL(path, import.meta.url));
const seconds = Number(process.argv[2] ?? 4);
const runs = Number(process.argv[3] ?? 3);
const LOAD_CORE = 1;

/** The pipelines, as module source run by `node --input-type=module`, listening on PORT. */
const index = JSON.stringify(here('../dist/index.js'));
const VARIANTS = {
  'echo, borrowed frames': `pipe(lines({ borrowed: true }), echo())`,
  'echo, owned frames': `pipe(lines(), echo())`,
  'concatMap(async), owned frames': `pipe(lines(), concatMap(async (line) => echoReply(line)))`,
};
const server = (/** @type {string} */ pipeline) =>
  `import { concatMap, pipe } from 'rxjs'; import { echo, echoReply, lines, serve, silentLogger } from ${index};
   await serve({ host: '127.0.0.1', port: Number(process.env.PORT), logger: silentLogger, metricsInterval: 0 }, ${pipeline});`;

const lineLoad = join(mkdtempSync(join(tmpdir(), 'tcp-rx-perf-')), 'line-load');
if (spawnSync('cc', ['-O2', '-o', lineLoad, here('line-load.c')]).status !== 0) throw new Error('needs a C compiler (cc)');

/** @type {Record<string, Array<{ rps: number, cpuPerRequest: number }>>} */
const results = Object.fromEntries(Object.keys(VARIANTS).map((name) => [name, []]));
for (let run = 0; run < runs; run++) {
  const names = Object.keys(VARIANTS);
  if (run % 2 === 1) names.reverse();
  for (const name of names) {
    const port = await freePort();
    const child = spawnNode(SERVER_CORE, ['--max-semi-space-size=1', '--input-type=module', '-e', server(VARIANTS[/** @type {keyof typeof VARIANTS} */ (name)])], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitListening(port);
    const cpuBefore = cpuSeconds(/** @type {number} */ (child.pid));
    const { stdout } = await runPinned(LOAD_CORE, lineLoad, ['127.0.0.1', String(port), '100', '32', String(seconds), '1']);
    const measured = JSON.parse(stdout);
    const cpu = cpuSeconds(/** @type {number} */ (child.pid)) - cpuBefore;
    results[name].push({ rps: measured.requestsPerSecond, cpuPerRequest: (cpu / (measured.requestsPerSecond * (seconds + 1))) * 1e6 });
    child.kill('SIGKILL');
  }
}

const base = median(results['echo, borrowed frames'].map((r) => r.rps));
console.log(`100 × 32 pipelined, ${seconds} s × ${runs} runs, medians${canPin ? ', server on core 0, load on core 1' : ''}`);
console.log('| pipeline | req/s | vs borrowed | server CPU µs/request |\n| --- | --- | --- | --- |');
for (const [name, runsOf] of Object.entries(results)) {
  const rps = median(runsOf.map((r) => r.rps));
  console.log(`| ${name} | ${Math.round(rps).toLocaleString('en-US')} | ${(rps / base).toFixed(2)}× | ${median(runsOf.map((r) => r.cpuPerRequest)).toFixed(2)} |`);
}
