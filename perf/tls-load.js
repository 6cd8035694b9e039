#!/usr/bin/env node
// @ts-check
/**
 * The load of the TLS scenarios, printed as one JSON line shaped like
 * `tcp-rx bench --json`'s.
 *
 *   node perf/tls-load.js requests <port> <ca.pem> <clients> <depth> <duration ms> <warmup ms>
 *     `clients` TLS connections, each keeping `depth` requests in flight:
 *     tcp-rx bench's own load generator (dist/bench/load-generator.js) over TLS.
 *   node perf/tls-load.js handshakes <port> <ca.pem> <concurrency> <duration ms> <warmup ms>
 *     `concurrency` clients, each in a loop: a new TLS connection (a full
 *     handshake, no session resumption), one request, its reply, close.
 *     `requestsPerSecond` is then connections (handshakes) per second, and
 *     the latency that of a whole connection.
 */
import { readFileSync } from 'node:fs';
import { createHistogram, performance } from 'node:perf_hooks';
import { connect, createSecureContext } from 'node:tls';
import { runLoad } from '../dist/bench/load-generator.js';

const [mode, portText, caFile, ...rest] = process.argv.slice(2);
if ((mode !== 'requests' && mode !== 'handshakes') || portText === undefined || caFile === undefined) {
  process.stderr.write('usage: node perf/tls-load.js requests|handshakes <port> <ca.pem> …\n');
  process.exit(2);
}
const port = Number(portText);
// One context for every connection: `ca` given to each connect would build (and parse the CA into) a context per handshake.
const tls = { secureContext: createSecureContext({ ca: readFileSync(caFile) }), servername: 'localhost' };
const REQUEST = Buffer.from('hello\n');

if (mode === 'requests') {
  const [clients, depth, duration, warmup] = rest.map(Number);
  const result = await runLoad({
    host: '127.0.0.1', port, clients, connections: clients, depth, message: Buffer.from('hello'), requests: 0, duration, warmup, timeout: 5000, tls,
  });
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  const [concurrency, duration, warmup] = rest.map(Number);
  process.stdout.write(JSON.stringify(await handshakes(concurrency, duration, warmup)) + '\n');
}

/**
 * @param {number} concurrency
 * @param {number} duration
 * @param {number} warmup
 */
async function handshakes(concurrency, duration, warmup) {
  const latencies = createHistogram();
  let measureFrom = Infinity;
  let stopAt = Infinity;
  let successful = 0;
  let failed = 0;
  let opened = 0;
  let connectFailed = 0;
  /** One new connection: resolves once it has answered one request, or failed. */
  const once = () =>
    new Promise((resolve) => {
      const started = performance.now();
      let secure = false;
      let settled = false;
      let reply = '';
      const socket = connect({ host: '127.0.0.1', port, ...tls });
      socket.setNoDelay(true);
      const done = (/** @type {boolean} */ ok) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (started >= measureFrom) {
          if (ok) {
            successful++;
            latencies.record(Math.max(1, Math.round((performance.now() - started) * 1e6)));
          } else {
            failed++;
            if (!secure) connectFailed++;
          }
        }
        resolve(undefined);
      };
      socket.once('secureConnect', () => {
        secure = true;
        opened++;
        socket.write(REQUEST);
      });
      socket.on('data', (chunk) => {
        reply += chunk;
        if (reply.includes('\n')) done(reply.startsWith('['));
      });
      socket.on('error', () => done(false));
      socket.once('close', () => done(false)); // closed before its reply
    });
  const client = async () => {
    while (performance.now() < stopAt) await once();
  };
  const start = performance.now();
  measureFrom = start + warmup;
  stopAt = measureFrom + duration;
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - measureFrom) / 1000;
  const ms = (/** @type {number} */ nanoseconds) => (successful > 0 ? nanoseconds / 1e6 : 0);
  return {
    connections: { wanted: concurrency, opened, failed: connectFailed },
    duration: seconds * 1000,
    total: successful + failed,
    successful,
    failed,
    requestsPerSecond: (successful + failed) / seconds,
    latency: { avg: ms(latencies.mean), p50: ms(latencies.percentile(50)), p99: ms(latencies.percentile(99)), max: ms(latencies.max) },
  };
}
