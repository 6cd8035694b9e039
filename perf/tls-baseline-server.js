#!/usr/bin/env node
// @ts-check
/**
 * The TLS bar tcp-rx must beat: the reference protocol (perf/baseline-protocol.js)
 * on Node's own `tls.createServer`, as a competent Node developer would write it:
 * the same certificate, TLS 1.2 minimum, Nagle off, a 10 s handshake timeout.
 *
 * Usage: node perf/tls-baseline-server.js host:port cert.pem key.pem
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import { serveReference, splitAddress } from './baseline-protocol.js';

const [address, certFile, keyFile] = process.argv.slice(2);
if (address === undefined || certFile === undefined || keyFile === undefined) {
  process.stderr.write('usage: node perf/tls-baseline-server.js host:port cert.pem key.pem\n');
  process.exit(2);
}
const [host, port] = splitAddress(address);

const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2', handshakeTimeout: 10_000, noDelay: true },
  serveReference,
);
server.on('tlsClientError', (_error, socket) => socket.destroy());

server.listen(port, host, () => {
  const bound = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`tls baseline listening on ${bound.address}:${bound.port}\n`);
});
for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT'])) process.once(signal, () => process.exit(0));
