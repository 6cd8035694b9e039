import { formatAddress, parseAddress } from '../address.js';
import { runLoad, type LoadResult } from '../bench/load-generator.js';
import { residentBytes } from '../bench/process-memory.js';
import { formatProgress } from '../bench/progress-line.js';
import { formatReport, successRate } from '../bench/report.js';
import { checkTargets } from '../bench/targets.js';
import type { Command } from './command.js';
import { parseCount, parseDuration } from './units.js';

/** As many clients or connections as one process can hold open, and then some. */
const CLIENTS = { max: 1_000_000 };
/** A measured run: from a millisecond up to what a timer holds. */
const RUN_TIME = { min: 1, zeroMeansOff: false };

const flags = {
  addr: { description: 'server to load: host:port or [::1]:port', default: '127.0.0.1:8080', parse: parseAddress },
  clients: { description: 'concurrent clients, each keeping --depth requests in flight', default: '100', parse: (t: string) => parseCount(t, CLIENTS) },
  requests: { description: 'requests each client sends (unless --duration): clients × requests in all', default: '1000', parse: (t: string) => parseCount(t, { max: 1_000_000_000 }) },
  duration: { description: 'measure for this long instead of counting --requests', parse: (t: string) => parseDuration(t, RUN_TIME) },
  pool: { description: 'connections the clients share (default: one per client)', parse: (t: string) => parseCount(t, CLIENTS) },
  depth: { description: 'requests in flight per client (pipelining)', default: '1', parse: (t: string) => parseCount(t, { max: 10_000 }) },
  message: { description: 'the request line sent', default: 'hello', parse: parseMessage },
  warmup: { description: 'requests each of a tenth of the clients sends first, unmeasured (0 = no warm-up)', default: '10', parse: (t: string) => parseCount(t, { min: 0, max: 1_000_000_000 }) },
  timeout: { description: 'requests unanswered this long fail and drop their connection', default: '5s', parse: (t: string) => parseDuration(t, RUN_TIME) },
  serverPid: { description: "the server's process id, to check its memory (Linux /proc)", parse: (t: string) => parseCount(t, { max: 4_194_304 }) },
  json: { description: 'print the results as JSON', boolean: true, default: 'false', parse: Boolean },
};

function parseMessage(text: string): Buffer {
  if (text.includes('\n')) throw new RangeError('a message may not contain a newline');
  return Buffer.from(text);
}

export const benchCommand: Command<typeof flags> = {
  name: 'bench',
  usage: 'bench [flags]',
  summary: 'load a server with the reference protocol and check the performance targets',
  flags,
  async run(options) {
    const { host = '127.0.0.1', port } = options.addr;
    const live = !options.json && process.stderr.isTTY;
    let serverRss: number | undefined;
    const result = await runLoad({
      host,
      port,
      clients: options.clients,
      connections: options.pool ?? options.clients,
      depth: options.depth,
      message: options.message,
      requests: options.requests,
      duration: options.duration,
      warmupRequests: options.warmup,
      timeout: options.timeout,
      onProgress: live ? (progress) => process.stderr.write(formatProgress(progress)) : undefined,
      onMeasured: () => (serverRss = options.serverPid === undefined ? undefined : residentBytes(options.serverPid)),
    });
    if (live) process.stderr.write('\r'.padEnd(61) + '\r');
    if (result.connections.opened === 0) throw new Error(`could not connect to ${formatAddress({ host, port })}`);
    const checks = checkTargets(result, serverRss);
    process.stdout.write(options.json ? JSON.stringify(toJson(result, serverRss, checks)) + '\n' : formatReport(result, checks));
    return result.failed === 0 ? 0 : 1;
  },
};

function toJson(result: LoadResult, serverRss: number | undefined, checks: ReturnType<typeof checkTargets>): object {
  return { ...result, successRate: successRate(result), serverRss: serverRss ?? null, targets: checks };
}
