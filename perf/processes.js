// @ts-check
/** Child processes of the perf run: pinned to a core, watched through /proc. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createServer } from 'node:net';
import { once } from 'node:events';
import { residentBytes as readResidentBytes } from '../dist/bench/process-memory.js';

/** Whether processes can be pinned to a core (Linux with taskset). */
export const canPin = process.platform === 'linux' && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/**
 * Why a scenario that needs `command` is skipped here (it does not run with
 * `versionArgs`), or `undefined` where it is installed.
 * @param {string} command
 * @param {string[]} versionArgs
 * @param {string} debianPackages what installs it
 */
export function notInstalled(command, versionArgs, debianPackages) {
  return spawnSync(command, versionArgs).status === 0 ? undefined : `${command} is not installed (Debian: apt-get install ${debianPackages})`;
}

/**
 * Spawns `node args…` pinned to `core` when taskset exists.
 * @param {number} core
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} [options]
 */
export function spawnNode(core, args, options = {}) {
  return spawnPinned(core, process.execPath, args, options);
}

/**
 * Spawns `command args…` pinned to `core` when taskset exists.
 * @param {number} core
 * @param {string} command
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} [options]
 */
export function spawnPinned(core, command, args, options = {}) {
  const [file, argv] = canPin ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
  return spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/** A loopback port that is free now. */
export async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Resolves once something accepts connections on `port`; rejects after `timeout` ms.
 * @param {number} port
 */
export async function waitListening(port, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket.destroy() && true));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The process's resident set size in bytes (VmRSS); NaN where it cannot be read.
 * @param {number} pid
 */
export function residentBytes(pid) {
  return readResidentBytes(pid) ?? Number.NaN;
}

/**
 * CPU time the process has used, in seconds (user + system, from /proc/<pid>/stat).
 * @param {number} pid
 */
export function cpuSeconds(pid) {
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

/**
 * Runs `command args…` (pinned to `core`) to the end; resolves with its output.
 * @param {number} core
 * @param {string} command
 * @param {string[]} args
 */
export async function runPinned(core, command, args) {
  const child = spawnPinned(core, command, args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  return { code, stdout, stderr };
}

/**
 * Waits until process `pid` has gone quiet (under 5% of a core over 100 ms),
 * at most `timeout` ms: a server still closing the last run's 10,000
 * connections would otherwise steal the shared core from the next run.
 * @param {number} pid
 */
export async function waitQuiet(pid, timeout = 3_000) {
  const deadline = Date.now() + timeout;
  let before = cpuSeconds(pid);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = cpuSeconds(pid);
    if (now - before < 0.005) return;
    before = now;
  }
}

/** `line-load.c`, compiled on first use. @type {{ binary: string, tls: boolean } | undefined} */
let lineLoad;
/**
 * The C load generator perf/line-load.c, built with `cc` on first use; exits the run if it cannot be.
 * It is built with OpenSSL (`--tls`, for the TLS scenarios) where OpenSSL's headers are installed
 * (Debian: libssl-dev), else without, and `tls` says which.
 * @returns {{ binary: string, tls: boolean }}
 */
export function buildLineLoad() {
  if (lineLoad !== undefined) return lineLoad;
  const binary = join(mkdtempSync(join(tmpdir(), 'tcp-rx-perf-')), 'line-load');
  const source = fileURLToPath(new URL('line-load.c', import.meta.url));
  const withTls = spawnSync('cc', ['-O2', '-DLINE_LOAD_TLS', '-o', binary, source, '-lssl', '-lcrypto'], { encoding: 'utf8' });
  if (withTls.status === 0) return (lineLoad = { binary, tls: true });
  const built = spawnSync('cc', ['-O2', '-o', binary, source], { encoding: 'utf8' });
  if (built.status !== 0) {
    process.stderr.write(`perf: --load c needs a C compiler: cc ${built.error?.message ?? built.stderr.trim()}\n`);
    process.exit(1);
  }
  return (lineLoad = { binary, tls: false });
}

/**
 * Process `pid` and its children (a cluster primary's workers), from /proc.
 * @param {number} pid
 */
export function processTree(pid) {
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
  return [pid, ...children];
}
