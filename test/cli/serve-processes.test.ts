import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { get } from 'node:http';
import t, { type Test } from 'tap';
import { parseExposition, type Sample } from '../../source/top/exposition.js';
import { startCliServer, type CliProcess } from '../helpers/cli.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { resendingLoad } from '../helpers/resending-load.js';

type Server = CliProcess & { port: number };

/** `serve --processes 2` with its /metrics on a free port; resolves with that port too. */
async function startCluster(args: string[] = []): Promise<{ server: Server; metricsPort: number }> {
  const server = await startCliServer(['--processes', '2', '--metrics-addr', '127.0.0.1:0', '--metrics-interval', '500ms', ...args]);
  const [, metricsPort] = await server.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
  return { server, metricsPort: Number(metricsPort) };
}

function scrape(port: number): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', timeout: 5_000 }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk));
      response.on('end', () => resolve(parseExposition(text)));
    }).on('error', reject);
  });
}

const value = (samples: readonly Sample[], name: string): number => samples.find((sample) => sample.name === name && Object.keys(sample.labels).length === 0)!.value;
/** The per-process series of `name`, by `process` label (a pid, or `exited`). */
const byProcess = (samples: readonly Sample[], name: string): Map<string, number> =>
  new Map(samples.filter((sample) => sample.name === name).map((sample) => [sample.labels['process']!, sample.value]));
const total = (series: Map<string, number>): number => [...series.values()].reduce((sum, count) => sum + count, 0);
const workerPids = (samples: readonly Sample[]): string[] =>
  samples.filter((sample) => sample.name === 'tcprx_process_uptime_seconds' && sample.labels['role'] === 'worker').map((sample) => sample.labels['process']!).sort();

/** Which of `pids` hold a descriptor of the socket listening on `port` (from /proc). */
function listeningSocketHolders(port: number, pids: readonly number[]): number[] {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const listening = ['/proc/net/tcp', '/proc/net/tcp6']
    .flatMap((table) => readFileSync(table, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1]?.endsWith(`:${portHex}`) && fields[3] === '0A') // 0A: LISTEN
    .map((fields) => `socket:[${fields[9]}]`);
  // A descriptor, or a whole process, may be gone by the time it is read.
  const quietly = <T>(read: () => T, otherwise: T): T => {
    try {
      return read();
    } catch {
      return otherwise;
    }
  };
  const holds = (pid: number): boolean =>
    quietly(() => readdirSync(`/proc/${pid}/fd`), []).some((fd) => listening.includes(quietly(() => readlinkSync(`/proc/${pid}/fd/${fd}`), '')));
  return pids.filter(holds);
}

/** `count` connections at once, one request each; resolves with the replies. */
async function echoOnce(port: number, count: number): Promise<string[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => LineClient.open(port)));
  clients.forEach((client, i) => client.send(`hello ${i}\n`));
  const replies = await Promise.all(clients.map(async (client) => (await client.readLines(1))[0]!.replace(ECHO_PREFIX, '')));
  for (const client of clients) client.socket.end();
  await Promise.all(clients.map((client) => client.closed));
  return replies;
}

/** The whole server's counters are the sums of its processes' (the workers gone included). */
function checkSums(t: Test, samples: readonly Sample[]): void {
  for (const [whole, each] of [
    ['tcprx_requests_total', 'tcprx_process_requests_total'],
    ['tcprx_replies_total', 'tcprx_process_replies_total'],
    ['tcprx_connections_total', 'tcprx_process_connections_total'],
    ['tcprx_connections_active', 'tcprx_process_connections_active'],
    ['process_resident_memory_bytes', 'tcprx_process_resident_memory_bytes'],
  ] as const) {
    t.equal(value(samples, whole), total(byProcess(samples, each)), `${whole} = sum of ${each}`);
  }
  t.equal(value(samples, 'tcprx_reply_latency_seconds_count'), value(samples, 'tcprx_replies_total'), 'the merged histogram counts every reply');
}

t.test('--processes 2: connections land on both workers, /metrics adds them up, a killed worker is replaced', async (t) => {
  const { server, metricsPort } = await startCluster();
  t.teardown(() => void server.child.kill('SIGKILL'));
  // The workers accept from a shared socket: which one takes a connection is the kernel's choice, so batches until both have.
  let samples: Sample[] = [];
  let batches = 0;
  let pids: string[] = [];
  let served = new Map<string, number>();
  do {
    t.same(await echoOnce(server.port, 16), Array.from({ length: 16 }, (_, i) => `hello ${i}`));
    batches++;
    samples = await scrape(metricsPort);
    pids = workerPids(samples);
    served = byProcess(samples, 'tcprx_process_connections_total');
  } while (batches < 10 && !pids.every((pid) => served.get(pid)! > 0));
  t.equal(pids.length, 2, 'two workers');
  t.same(listeningSocketHolders(server.port, [server.child.pid!, ...pids.map(Number)]), [server.child.pid, ...pids.map(Number)], 'each worker holds the listening socket and accepts from it (SCHED_NONE); the primary keeps it for new workers');
  t.ok(pids.every((pid) => served.get(pid)! > 0), `each worker served some connections: ${JSON.stringify([...served])} after ${batches} batches of 16`);
  t.equal(value(samples, 'tcprx_requests_total'), 16 * batches);
  checkSums(t, samples);

  process.kill(Number(pids[0]), 'SIGKILL');
  const [, replacement] = await server.waitFor(/worker replaced pid=(\d+)/);
  t.match(server.stderr(), new RegExp(`worker died: replacing it pid=${pids[0]} signal=SIGKILL`));
  t.same(await echoOnce(server.port, 8), Array.from({ length: 8 }, (_, i) => `hello ${i}`), 'new connections served');
  samples = await scrape(metricsPort);
  t.same(workerPids(samples), [pids[1], replacement].sort(), 'the killed worker is gone, its replacement serves');
  t.equal(value(samples, 'tcprx_requests_total'), 16 * batches + 8, "the killed worker's requests still count");
  checkSums(t, samples);

  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  t.match(server.stderr(), /drained: every worker answered every request and exited/);
});

t.test('SIGTERM: the primary lets go of the shared socket at once, so the last worker to stop listening closes it', async (t) => {
  const { server, metricsPort } = await startCluster();
  t.teardown(() => void server.child.kill('SIGKILL'));
  const [first, last] = workerPids(await scrape(metricsPort)).map(Number) as [number, number];
  const everyone = [server.child.pid!, first, last];
  t.same(listeningSocketHolders(server.port, everyone), everyone, 'serving: the primary and both workers hold the socket');
  // Held still, the last worker keeps its descriptor open (and cannot answer the primary) until let go.
  process.kill(last, 'SIGSTOP');
  let stopped = true; // a stopped worker outlives its primary's SIGKILL: a failed test kills it too
  t.teardown(() => void (stopped && process.kill(last, 'SIGKILL')));
  server.child.kill('SIGTERM');
  let holders = everyone;
  for (let polls = 0; polls < 200 && holders.includes(first); polls++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    holders = listeningSocketHolders(server.port, everyone);
  }
  t.same(holders, [last], 'the first worker has stopped listening, and the primary holds no copy: the last worker\'s close will close the socket');
  process.kill(last, 'SIGCONT');
  stopped = false;
  t.equal(await server.exited, 0, 'then every worker drains: exit 0');
});

t.test('SIGHUP under steady load replaces every worker: nothing refused, reset or lost; then SIGTERM drains, exit 0', async (t) => {
  const { server, metricsPort } = await startCluster();
  t.teardown(() => void server.child.kill('SIGKILL'));
  const before = workerPids(await scrape(metricsPort));
  const load = resendingLoad(server.port, { clients: 4, depth: 8, rounds: 5 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  server.child.kill('SIGHUP');
  await server.waitFor(/restart done/, 20_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const during = await load.stop();
  t.same(during.errors, [], 'no connection refused or reset');
  t.equal(during.disordered, 0, 'every reply in order');
  t.equal(during.answered, during.requests, `all ${during.requests} requests answered (${during.resent} resent after a clean FIN) over ${during.connections} connections`);
  const after = workerPids(await scrape(metricsPort));
  t.equal(after.length, 2);
  t.notOk(after.some((pid) => before.includes(pid)), `every worker replaced: ${before} → ${after}`);
  checkSums(t, await scrape(metricsPort));

  // SIGTERM in the middle of pipelined requests: each is answered before the FIN. The connections are
  // served first: one still in the kernel's accept queue when the last worker closes may be reset (README).
  const clients = await Promise.all(Array.from({ length: 8 }, () => LineClient.open(server.port)));
  await Promise.all(clients.map(async (client, c) => (client.send(`c${c} r0\n`), await client.readLines(1))));
  clients.forEach((client, c) => client.send(Array.from({ length: 199 }, (_, i) => `c${c} r${i + 1}\n`).join('')));
  server.child.kill('SIGTERM');
  const replies = await Promise.all(clients.map((client) => client.readToEnd(10_000)));
  t.equal(await server.exited, 0, 'exit 0: every worker drained');
  replies.forEach((text, c) =>
    t.same(
      text.toString().trim().split('\n').map((reply) => reply.replace(ECHO_PREFIX, '')),
      Array.from({ length: 200 }, (_, i) => `c${c} r${i}`),
      `client ${c}: all 200 answered, in order`,
    ),
  );
  t.ok(clients.every((client) => client.error === undefined), 'no reset');
});
