#!/usr/bin/env node
// @ts-check
/**
 * The bar tcp-rx must beat: the reference protocol (perf/baseline-protocol.js)
 * on plain `node:net`, no RxJS, written the way a competent Node developer would.
 *
 * Usage: node perf/baseline-server.js [host:port]   (or env BASELINE_ADDR; default 127.0.0.1:9090)
 */
import { createServer } from 'node:net';
import { serveReference, splitAddress } from './baseline-protocol.js';

const [host, port] = splitAddress(process.argv[2] ?? process.env.BASELINE_ADDR ?? '127.0.0.1:9090');

const server = createServer({ noDelay: true }, serveReference);

server.listen(port, host, () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`baseline listening on ${address.address}:${address.port}\n`);
});
for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT'])) process.once(signal, () => process.exit(0));
