#!/usr/bin/env node
// @ts-check
/**
 * `node perf/bin-memory.js [runs] [idle]`: the resident memory of the built
 * `tcp-rx serve` bin, started as installed (node flags from its shebang) and
 * pinned to the server core: at startup (1 s after it listens, median of
 * `runs`, default 7) and holding `idle` (default 10,000) idle connections
 * 3 s after they arrive (median of 3). For what a change to the bin's
 * startup (a library it imports) costs every server process.
 */
import { holdIdleConnections } from './idle-connections.js';
import { residentBytes, waitQuiet } from './processes.js';
import { startServer } from './servers.js';
import { median } from './median.js';

const runs = Number(process.argv[2] ?? 7);
const idle = Number(process.argv[3] ?? 10_000);
const mib = (/** @type {number} */ bytes) => (bytes / 1024 ** 2).toFixed(1);

const startup = [];
for (let run = 0; run < runs; run++) {
  const server = await startServer('tcp-rx');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  startup.push(residentBytes(server.pid));
  await server.stop();
}
console.log(`startup RSS: median ${mib(median(startup))} MiB of ${startup.map(mib).join(', ')}`);

if (idle > 0) {
  const held = [];
  for (let run = 0; run < 3; run++) {
    const server = await startServer('tcp-rx');
    const result = await holdIdleConnections({ port: server.port, count: idle, hold: 3000, measure: () => residentBytes(server.pid) });
    if (result.opened !== idle || result.answered !== result.sampled) throw new Error(`held ${result.opened} of ${idle}, ${result.answered}/${result.sampled} answered`);
    held.push(result.measured);
    await waitQuiet(server.pid);
    await server.stop();
  }
  console.log(`${idle.toLocaleString('en-US')} idle, 3 s on: median ${mib(median(held))} MiB of ${held.map(mib).join(', ')}`);
}
