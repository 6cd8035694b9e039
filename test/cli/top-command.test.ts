import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import xterm from '@xterm/headless';
import t, { type Test } from 'tap';
import { serveMetrics } from '../../source/metrics/metrics-endpoint.js';
import { CLI, runCli, startCliServer } from '../helpers/cli.js';
import { LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

/** A tcp-rx server in this process with its /metrics endpoint; resolves with both ports. */
async function serverWithMetrics(t: Test): Promise<{ port: number; metrics: string }> {
  const server = await startServer(t);
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  return { port: server.address.port, metrics: `127.0.0.1:${endpoint.address.port}` };
}

/** `tcp-rx serve` as its own process, with its metrics endpoint; killed when the test ends. */
async function cliServerWithMetrics(t: Test) {
  const server = await startCliServer(['--metrics-addr', '127.0.0.1:0', '--metrics-interval', '0']);
  const [, metrics] = await server.waitFor(/metrics on http:\/\/(127\.0\.0\.1:\d+)\/metrics/);
  t.teardown(() => void server.child.kill('SIGKILL'));
  return Object.assign(server, { metrics: metrics! });
}

/** An HTTP server answering every request with `status` and `body`: a port that is not a tcp-rx endpoint. */
async function httpServer(t: Test, status: number, body: string): Promise<string> {
  const http = createServer((_, response) => response.writeHead(status).end(body)).listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.teardown(() => void http.close());
  return `127.0.0.1:${(http.address() as AddressInfo).port}`;
}

t.test('piped, top prints a line per server per scrape: requests/s, p99, connections, memory', async (t) => {
  const { port, metrics } = await serverWithMetrics(t);
  const client = await LineClient.open(port);
  const top = runCli(['top', metrics, '--interval', '300ms', '--count', '4']);
  // Traffic while it watches: a request at a time until it is done (bounded in count and time).
  let finished = false;
  void top.exited.then(() => (finished = true));
  for (let request = 0; !finished && request < 50_000; request++) {
    client.send(`request ${request}\n`);
    await client.readLines(request + 1);
    if (request % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.equal(await top.exited, 0, top.stderr());
  const lines = top.stdout().trimEnd().split('\n');
  t.equal(lines.length, 4, 'one line per scrape');
  const pattern = new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${metrics} req/s=(\\S+) p99_ms=(\\S+) active=1 workers=1000 queued=0 queue=1000 rejected/s=\\S+ closed/s=\\S+ loop_p99_ms=[\\d.]+ rss_mib=[\\d.]+$`);
  for (const line of lines) t.match(line, pattern);
  t.match(lines[0], / req\/s=- p99_ms=- /, 'no rate from one scrape');
  const rates = lines.slice(1).map((line) => Number(pattern.exec(line)![1]));
  t.ok(rates.some((rate) => rate > 0), `requests seen: ${rates.join(', ')} req/s`);
  client.close();
});

t.test('a server killed while watched is shown as down, and top keeps going for the others', async (t) => {
  const doomed = await cliServerWithMetrics(t);
  const { metrics } = await serverWithMetrics(t);
  const garbage = await httpServer(t, 200, '<html>hello</html>\n');
  const missing = await httpServer(t, 404, 'not here\n');
  const top = runCli(['top', doomed.metrics, metrics, garbage, missing, '--interval', '250ms', '--count', '8']);
  const firstLine = async (): Promise<void> => {
    for (let tries = 0; !top.stdout().includes(doomed.metrics) && tries < 200; tries++) await new Promise((resolve) => setTimeout(resolve, 25));
  };
  await firstLine();
  doomed.child.kill('SIGKILL');
  t.equal(await top.exited, 0, top.stderr());
  const lines = top.stdout().trimEnd().split('\n');
  const of = (address: string): string[] => lines.filter((line) => line.split(' ')[1] === address);
  t.match(of(doomed.metrics)[0], /req\/s=/, 'up at first');
  t.match(of(doomed.metrics).at(-1), new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${doomed.metrics} down: connection refused$`), 'down once killed');
  t.equal(of(metrics).length, 8, 'the live server on every scrape');
  t.ok(of(metrics).every((line) => line.includes('req/s=')));
  t.ok(of(garbage).every((line) => line.endsWith('down: garbage: line 1 is not a metric: "<html>hello</html>"')), of(garbage)[0]);
  t.ok(of(missing).every((line) => line.endsWith('down: HTTP 404 Not Found')), of(missing)[0]);
});

t.test('top needs an address, and a good one', async (t) => {
  const none = runCli(['top']);
  t.equal(await none.exited, 2);
  t.match(none.stderr(), /^tcp-rx: give the --metrics-addr of at least one server/);
  const bad = runCli(['top', 'nowhere']);
  t.equal(await bad.exited, 2);
  t.match(bad.stderr(), /^tcp-rx: 'nowhere' is not an address/);
  const interval = runCli(['top', ':9100', '--interval', '10ms']);
  t.equal(await interval.exited, 2);
  t.match(interval.stderr(), /^tcp-rx: --interval: '10ms' is shorter than 100ms\n$/);
});

/**
 * Runs `tcp-rx top …` on a 100 × 30 pseudo-terminal (util-linux `script`),
 * sends `key` once the view shows `ready`, and resolves with everything the
 * terminal was sent and the exit code.
 */
async function onTerminal(args: string[], ready: RegExp, key: string): Promise<{ output: Buffer; code: number | null }> {
  const command = `stty cols 100 rows 30; exec ${[process.execPath, CLI, 'top', ...args].map((arg) => `'${arg}'`).join(' ')}`;
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const text = (): string => Buffer.concat(chunks).toString('utf8');
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const deadline = Date.now() + 15_000;
  while (!ready.test(text()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  child.stdin.write(key);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = await exited;
  clearTimeout(timer);
  return { output: Buffer.concat(chunks), code };
}

/** What a terminal shows after `output`: the screen in use and its lines. */
async function screenOf(output: Buffer): Promise<{ type: string; lines: string[]; cursorHidden: boolean }> {
  const terminal = new xterm.Terminal({ cols: 100, rows: 30, allowProposedApi: true });
  await new Promise<void>((resolve) => terminal.write(output, resolve));
  const buffer = terminal.buffer.active;
  const lines = Array.from({ length: terminal.rows }, (_, row) => buffer.getLine(row)!.translateToString(true));
  return { type: buffer.type, lines, cursorHidden: output.lastIndexOf('\x1b[?25l') > output.lastIndexOf('\x1b[?25h') };
}

t.test('on a terminal, top is a full-screen live view that q leaves, giving the terminal back', async (t) => {
  const { port, metrics } = await serverWithMetrics(t);
  const client = await LineClient.open(port);
  const pump = setInterval(() => client.send('x\n'.repeat(50)), 20);
  t.teardown(() => clearInterval(pump));
  const { output, code } = await onTerminal([metrics, '127.0.0.1:1', '--interval', '200ms'], /requests\/s +[1-9][\d,]* +[▁-█ ]*[▂-█]/, 'q');
  t.equal(code, 0);
  const leaving = output.lastIndexOf('\x1b[?1049l');
  t.ok(leaving > 0, 'leaves the alternate screen');
  const shown = await screenOf(output.slice(0, leaving));
  t.equal(shown.type, 'alternate', 'drawn on the alternate screen');
  t.match(shown.lines[0], /^tcp-rx top · 2 servers · every 0\.2s · \d\d:\d\d:\d\d +q: quit$/);
  const text = shown.lines.join('\n');
  t.match(text, new RegExp(`\\n${metrics}  up \\d+s\\n`));
  t.match(text, /\n {2}requests\/s +[\d,]+  +[▁-█ ]+\n/, 'requests/s with its sparkline');
  t.match(text, /\n {2}p99 latency +[\d.]+ ms  +[▁-█ ]+\n/, 'p99 with its sparkline');
  t.match(text, /\n {2}connections +active 1 of 1,000 workers {3}queued 0 of 1,000 {3}served 1\n/);
  t.match(text, /\n {2}rejected +none\n/);
  t.match(text, /\n {2}process +event loop p99 [\d.]+ ms {3}rss [\d.]+ MiB {3}heap [\d.]+ MiB\n/);
  t.match(text, /\n127\.0\.0\.1:1 {2}DOWN since \d\d:\d\d:\d\d: connection refused\n/, 'a server that is not there is down');
  const after = await screenOf(output);
  t.equal(after.type, 'normal', 'back on the normal screen');
  t.notOk(after.cursorHidden, 'with the cursor shown');
  t.ok(after.lines.every((line) => line === ''), 'as it was');
  client.close();
});

t.test('Ctrl-C leaves the full-screen view too', async (t) => {
  const { metrics } = await serverWithMetrics(t);
  const { output, code } = await onTerminal([metrics, '--interval', '200ms'], /connections +active/, '\x03');
  t.equal(code, 0);
  t.equal((await screenOf(output)).type, 'normal');
});
