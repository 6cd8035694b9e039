import { execFile } from 'node:child_process';
import { filter, map, pipe } from 'rxjs';
import t from 'tap';
import { lines } from '../../source/index.js';
import { CLI } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';


interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tcp-rx bench …`, the built bin, as a separate process. */
function bench(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'bench', ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

t.test('bench --json counts every request answered by tcp-rx: --requests per client', async (t) => {
  const server = await startServer(t);
  let requests = 0;
  server.events$.subscribe((event) => void (event.type === 'read' && (requests += event.frames)));
  const { code, stdout, stderr } = await bench(['--addr', `127.0.0.1:${server.address.port}`, '--clients', '2', '--requests', '50', '--warmup', '0', '--json']);
  t.equal(code, 0, stderr);
  const result = JSON.parse(stdout);
  t.match(result, { connections: { wanted: 2, opened: 2, failed: 0 }, total: 100, successful: 100, failed: 0, successRate: 100, serverRss: null });
  t.equal(requests, 100, 'the server read 2 clients × 50 requests');
  t.ok(result.latency.p50 > 0 && result.latency.p50 <= result.latency.p99 && result.latency.p99 <= result.latency.max, 'latency percentiles in order');
  t.same(
    result.targets.map((check: { status: string }) => check.status).slice(0, 3),
    ['fail', result.requestsPerSecond >= 100_000 ? 'pass' : 'fail', 'skipped'],
    '2 connections miss the 10K target; memory is not measured without --server-pid',
  );
});

t.test('bench counts as the reference: clients × requests over a pool, after a warm-up of a tenth of the clients', async (t) => {
  const server = await startServer(t);
  let opened = 0;
  let requests = 0;
  server.events$.subscribe((event) => {
    if (event.type === 'opened') opened++;
    if (event.type === 'read') requests += event.frames;
  });
  // The reference's `benchmark -clients 100 -requests 1000 -pool 10`, a tenth of it.
  const { code, stdout, stderr } = await bench([
    '--addr', `127.0.0.1:${server.address.port}`, '--clients', '20', '--requests', '100', '--pool', '5', '--depth', '2', '--warmup', '7', '--json',
  ]);
  t.equal(code, 0, stderr);
  t.match(JSON.parse(stdout), { connections: { wanted: 5, opened: 5 }, total: 2000, successful: 2000, failed: 0 });
  t.equal(opened, 5, 'the server saw the pool: five connections');
  t.equal(requests, 2000 + 2 * 7, 'and 20 × 100 measured requests after 2 warm-up clients × 7');
});

t.test('bench prints the two blocks of the reference, with its lines under its names', async (t) => {
  const { address } = await startServer(t);
  const { code, stdout } = await bench(['--addr', `127.0.0.1:${address.port}`, '--clients', '4', '--requests', '25', '--pool', '2', '--server-pid', String(process.pid)]);
  t.equal(code, 0);
  const lines = stdout.split('\n');
  t.same(lines.slice(0, 2), ['Load Test Results', '=================']);
  const reference = ['Duration', 'Total Requests', 'Successful Requests', 'Failed Requests', 'Success Rate', 'Requests/Second', 'Average Latency', 'Connection Pool Size'];
  t.same(lines.slice(2, 10).map((line) => line.split(':')[0]), reference, "the reference's lines first, in its order");
  t.same(lines.slice(10, 14).map((line) => line.split(':')[0]), ['P50 Latency', 'P99 Latency', 'Max Latency', 'Connections Opened'], 'then ours');
  t.match(stdout, /\nDuration: +\d+\.\d\ds\n/);
  t.match(stdout, /\nTotal Requests: +100\n/);
  t.match(stdout, /\nSuccessful Requests: +100\n/);
  t.match(stdout, /\nFailed Requests: +0\n/);
  t.match(stdout, /\nSuccess Rate: +100\.00%\n/);
  t.match(stdout, /\nRequests\/Second: +\d+\.\d\d\n/);
  t.match(stdout, /\nAverage Latency: +\d+\.\d{3}ms\n/);
  t.match(stdout, /\nConnection Pool Size: +2\n/);
  t.match(stdout, /\nConnections Opened: +2 in \d+\.\d\ds\n/);
  t.match(stdout, /Performance Validation\n=+\n/);
  t.match(stdout, /➖ < 100 MB memory at 10,000 connections: server RSS [\d.]+ MiB with only 2 connections/);
});

t.test('bench --duration runs for that long and counts what was answered', async (t) => {
  const { address } = await startServer(t);
  const { code, stdout, stderr } = await bench(['--addr', `127.0.0.1:${address.port}`, '--clients', '2', '--duration', '300ms', '--warmup', '0', '--json']);
  t.equal(code, 0, stderr);
  const result = JSON.parse(stdout);
  t.ok(result.duration >= 300, `measured ${result.duration} ms`);
  t.ok(result.successful > 0 && result.total === result.successful, `${result.successful} answered`);
});

t.test('replies that are not echoes count as failed; exit code 1', async (t) => {
  const { address } = await startServer(t, {}, pipe(lines(), map(() => 'ERR nope\n')));
  const { code, stdout } = await bench(['--addr', `127.0.0.1:${address.port}`, '--clients', '2', '--requests', '10', '--json']);
  t.equal(code, 1);
  t.match(JSON.parse(stdout), { total: 20, successful: 0, failed: 20, successRate: 0 });
});

t.test('requests a silent server never answers fail after --timeout', async (t) => {
  const { address } = await startServer(t, {}, pipe(lines(), filter(() => false)));
  const { code, stdout } = await bench(['--addr', `127.0.0.1:${address.port}`, '--clients', '2', '--requests', '20', '--warmup', '0', '--timeout', '200ms', '--json']);
  t.equal(code, 1);
  t.match(JSON.parse(stdout), { total: 40, successful: 0, failed: 40 });
});

t.test('bench against a closed port fails with one line naming the address', async (t) => {
  const { code, stderr } = await bench(['--addr', '127.0.0.1:1', '--clients', '1', '--requests', '1', '--warmup', '0']);
  t.equal(code, 1);
  t.equal(stderr, 'tcp-rx: could not connect to 127.0.0.1:1\n');
});

t.test('a bad flag value is a usage error, exit code 2', async (t) => {
  const { code, stderr } = await bench(['--depth', '0']);
  t.equal(code, 2);
  t.match(stderr, /--depth: '0' is not a whole number ≥ 1/);
});

t.test('connections a busy server turns away count their requests as failed', async (t) => {
  // One worker, no queue: of three connections two get `ERR server busy` and are closed.
  const { address } = await startServer(t, { workers: 1, queue: 0 });
  const { code, stdout } = await bench(['--addr', `127.0.0.1:${address.port}`, '--clients', '3', '--requests', '10', '--warmup', '0', '--json']);
  t.equal(code, 1);
  const result = JSON.parse(stdout);
  t.equal(result.total, 30, 'every request is accounted for');
  t.ok(result.failed >= 2, `${result.failed} failed`);
  t.equal(result.successful + result.failed, 30);
});
