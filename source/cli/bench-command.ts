import { formatAddress, parseAddress } from '../address.js';
import { runLoad, type LoadResult } from '../bench/load-generator.js';
import { residentBytes } from '../bench/process-memory.js';
import { formatProgress } from '../bench/progress-line.js';
import { formatReport, successRate } from '../bench/report.js';
import { checkTargets } from '../bench/targets.js';
import type { Command } from './command.js';
import { parseCount, parseDuration } from './units.js';

const flags = {
  addr: { description: 'server to load: host:port or [::1]:port', default: '127.0.0.1:8080', parse: parseAddress },
  clients: { description: 'concurrent clients, each keeping --depth requests in flight', default: '100', parse: (t: string) => parseCount(t) },
  requests: { description: 'requests to measure in all (unless --duration)', default: '100000', parse: (t: string) => parseCount(t) },
  duration: { description: 'measure for this long instead of counting --requests', parse: parsePositiveDuration },
  pool: { description: 'connections the clients share (default: one per client)', parse: (t: string) => parseCount(t) },
  depth: { description: 'requests in flight per client (pipelining)', default: '1', parse: (t: string) => parseCount(t) },
  message: { description: 'the request line sent', default: 'hello', parse: parseMessage },
  warmup: { description: 'run unmeasured for this long first', default: '500ms', parse: parseDuration },
  timeout: { description: 'requests unanswered this long fail and drop their connection', default: '5s', parse: parsePositiveDuration },
  serverPid: { description: "the server's process id, to check its memory (Linux /proc)", parse: (t: string) => parseCount(t) },
  json: { description: 'print the results as JSON', boolean: true, default: 'false', parse: Boolean },
};

function parsePositiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new RangeError(`'${text}' is not a duration above 0`);
  return ms;
}

function parseMessage(text: string): Buffer {
  if (text.includes('\n')) throw new RangeError('a message may not contain a newline');
  return Buffer.from(text);
}

export const benchCommand: Command<typeof flags> = {
  name: 'bench',
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
      warmup: options.warmup,
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
