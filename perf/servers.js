// @ts-check
/** The servers under test, each a separate process pinned to the server core. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnNode, waitListening } from './processes.js';

export const SERVER_CORE = 0;

const here = (/** @type {string} */ path) => fileURLToPath(new URL(path, import.meta.url));

/**
 * A server under test. `heap()`, for one started with `probe`, is its V8 heap in use after a full
 * collection (perf/heap-probe.js); NaN otherwise.
 * @typedef {{ name: string, port: number, pid: number, stop(): Promise<void>, heap(): Promise<number> }} RunningServer
 */

const TCP_RX = here('../dist/cli/tcp-rx.js');

/**
 * A tcp-rx bin as a server under test: its CLI with workers for 10,000 connections and no
 * idle cut-off during a run, run with the Node flags on its shebang (`#!/usr/bin/env -S node …`), as installed.
 * @param {string} bin
 */
function tcpRx(bin) {
  const nodeFlags = readFileSync(bin, 'latin1').split('\n', 1)[0].split(' ').slice(3);
  return (/** @type {number} */ port) => [
    ...nodeFlags, bin, 'serve', '--addr', `127.0.0.1:${port}`, '--workers', '12000', '--queue', '1000', '--idle-timeout', '0', '--log-format', 'json',
  ];
}

/** The servers compared, by name: how to start each on a port. */
export const SERVERS = {
  'tcp-rx': tcpRx(TCP_RX),
  baseline: (/** @type {number} */ port) => [here('baseline-server.js'), `127.0.0.1:${port}`],
  /** The same over TLS, with the certificate both TLS servers present. */
  'tcp-rx-tls': (/** @type {number} */ port) => [
    ...SERVERS['tcp-rx'](port), '--tls-cert', tlsCertificate().certFile, '--tls-key', tlsCertificate().keyFile,
  ],
  'baseline-tls': (/** @type {number} */ port) => [here('tls-baseline-server.js'), `127.0.0.1:${port}`, tlsCertificate().certFile, tlsCertificate().keyFile],
};

/** @type {{ certFile: string, keyFile: string } | undefined} */
let certificate;

/**
 * The certificate of the TLS scenarios, made with openssl on first use: RSA
 * 2048 (still the most common server key; its signature is the server's
 * cost of a handshake), self-signed for `localhost`, so that the load
 * generator trusts it as its own CA.
 */
export function tlsCertificate() {
  if (certificate !== undefined) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'tcp-rx-perf-tls-'));
  const certFile = join(dir, 'localhost.pem');
  const keyFile = join(dir, 'localhost.key');
  const made = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
  ], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`perf: the TLS scenarios need openssl: ${made.error?.message ?? made.stderr.trim()}`);
  return (certificate = { certFile, keyFile });
}

/**
 * Makes another build of tcp-rx the baseline (`npm run perf -- --against OLD/dist/cli/tcp-rx.js`),
 * to measure a change side by side with the build before it: over TLS too, with the same certificate.
 * @param {string} bin
 */
export function compareAgainst(bin) {
  SERVERS.baseline = tcpRx(bin);
  SERVERS['baseline-tls'] = (/** @type {number} */ port) => [...tcpRx(bin)(port), '--tls-cert', tlsCertificate().certFile, '--tls-key', tlsCertificate().keyFile];
}

const HEAP_PROBE = here('heap-probe.js');

/**
 * Starts server `name` on a free port; resolves once it accepts connections.
 * With `probe`, its heap can be read (see {@link RunningServer}).
 * @param {keyof typeof SERVERS} name
 * @param {{ probe?: boolean }} [options]
 * @returns {Promise<RunningServer>}
 */
export async function startServer(name, { probe = false } = {}) {
  const port = await freePort();
  const probeFile = probe ? join(mkdtempSync(join(tmpdir(), 'tcp-rx-perf-heap-')), 'heap') : undefined;
  const args = probe ? ['--expose-gc', '--import', HEAP_PROBE, ...SERVERS[name](port)] : SERVERS[name](port);
  const env = probeFile === undefined ? process.env : { ...process.env, PERF_HEAP_PROBE_FILE: probeFile };
  const child = spawnNode(SERVER_CORE, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let log = ''; // kept to explain an early exit; a server's log lines are not the run's output
  child.stderr?.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await Promise.race([waitListening(port), exited.then(() => Promise.reject(new Error(`${name} exited before listening:\n${log}`)))]);
  if (child.pid === undefined) throw new Error(`${name} has no pid`);
  return {
    name,
    port,
    // With taskset the child is taskset, which execs node: same pid.
    pid: child.pid,
    async stop() {
      child.kill('SIGKILL');
      await exited;
      if (probeFile !== undefined) rmSync(dirname(probeFile), { recursive: true, force: true });
    },
    async heap() {
      if (probeFile === undefined) return Number.NaN;
      rmSync(probeFile, { force: true });
      child.kill('SIGUSR2');
      for (let waited = 0; waited < 10_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        try {
          const text = readFileSync(probeFile, 'latin1');
          if (text.endsWith('\n')) return Number(text);
        } catch {
          // not written yet
        }
      }
      return Number.NaN;
    },
  };
}
