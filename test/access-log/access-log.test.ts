import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { finalize, map, pipe } from 'rxjs';
import { lines as framing, metricsLine, prometheusText, stateless, type Logger, type ServerEvent } from '../../source/index.js';
import { createCa } from '../helpers/certificates.js';
import { LineClient } from '../helpers/line-client.js';
import { recordEvents, startServer } from '../helpers/server.js';

/** A temp dir for the test's log files, removed when it ends. */
function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcp-rx-access-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What a client did over one connection, and its local port (the peer port the server saw). */
interface Conversation {
  readonly port: number;
  readonly sent: number;
  readonly received: number;
}

/** Connects, sends `data`, waits for `replies` lines, then ends its side (or not) and waits for the close. */
async function converse(port: number, data: string, replies: number, { end = true } = {}): Promise<Conversation> {
  const client = await LineClient.open(port);
  const local = client.socket.localPort!;
  if (data !== '') client.send(data);
  await client.readLines(replies);
  if (end) client.socket.end();
  await client.closed;
  return { port: local, sent: Buffer.byteLength(data), received: client.received.length };
}

/** `count` conversations, `parallel` at a time. */
async function conversations(port: number, count: number, parallel = 50): Promise<Conversation[]> {
  const done: Conversation[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, i) => converse(port, `request ${start + i}\nand one more\n`, 2));
    done.push(...(await Promise.all(batch)));
  }
  return done;
}

function fileLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
}

const TEXT_LINE = /^(\S+Z) peer=127\.0\.0\.1:(\d+) duration=(\d+\.\d{3})ms in=(\d+) out=(\d+) requests=(\d+) reason=(\S+)$/;

/** Totals of `access-log` events. */
function accessLogTotals(events: readonly ServerEvent[]): { written: number; dropped: number } {
  let written = 0;
  let dropped = 0;
  for (const event of events) {
    if (event.type !== 'access-log') continue;
    written += event.written;
    dropped += event.dropped;
  }
  return { written, dropped };
}

t.test('a text line per closed connection: peer, duration, bytes both ways, requests and why it closed', async (t) => {
  const path = join(tempDir(t), 'access.log');
  const server = await startServer(t, { idleTimeout: 300, maxLine: 16, metricsInterval: 0, accessLog: { to: path, format: 'text' } });
  const { port } = server.address;
  const started = Date.now();
  const [ended, idle, tooLong] = await Promise.all([
    converse(port, 'hello\nworld\n', 2),
    converse(port, '', 0, { end: false }),
    converse(port, 'x'.repeat(20) + '\n', 1, { end: false }),
  ]);
  await server.close();
  const lines = fileLines(path);
  t.equal(lines.length, 3, 'three connections, three lines');
  const byPort = new Map(lines.map((line) => {
    const match = TEXT_LINE.exec(line);
    t.ok(match, line);
    return [Number(match![2]), match!] as const;
  }));
  const check = (what: string, client: Conversation, requests: number, reason: string): void => {
    const match = byPort.get(client.port);
    t.ok(match, `${what}: a line for its port`);
    const [, time, , duration, bytesIn, bytesOut, count, closeReason] = match!;
    t.equal(Number(bytesIn), client.sent, `${what}: bytes in are what it sent`);
    t.equal(Number(bytesOut), client.received, `${what}: bytes out are what it received`);
    t.equal(Number(count), requests, `${what}: requests`);
    t.equal(closeReason, reason, `${what}: reason`);
    t.ok(Date.parse(time!) >= started - 5 && Date.parse(time!) <= Date.now(), `${what}: time of the close`);
    t.ok(Number(duration) >= 0 && Number(duration) <= Date.now() - started + 5, `${what}: duration`);
  };
  check('ended', ended, 2, 'end');
  check('idle', idle, 0, 'idle-timeout');
  check('too long', tooLong, 0, 'frame-too-long');
  t.ok(Number(byPort.get(idle.port)![3]) >= 290, 'the idle one was served for its idle timeout');
  t.same(server.snapshot().accessLog, { written: 3, dropped: 0 });
});

t.test('JSON lines (the logger\'s format by default): exactly one per connection, whatever their number', async (t) => {
  const path = join(tempDir(t), 'access.json');
  const jsonLogger: Logger = { format: 'json', log() {} };
  const server = await startServer(t, { metricsInterval: 0, logger: jsonLogger, accessLog: path });
  const clients = await conversations(server.address.port, 120);
  await server.close();
  const records = fileLines(path).map((line) => JSON.parse(line) as Record<string, unknown>);
  t.equal(records.length, 120, 'lines = connections closed');
  const byPort = new Map(records.map((record) => [record['port'], record]));
  t.equal(byPort.size, 120, 'one line for each peer');
  for (const client of clients) {
    const record = byPort.get(client.port);
    if (record === undefined) {
      t.fail(`no line for port ${client.port}`);
      continue;
    }
    t.match(record, { address: '127.0.0.1', bytesIn: client.sent, bytesOut: client.received, requests: 2, reason: 'end' }, `port ${client.port}`);
  }
  t.same(Object.keys(records[0]!), ['time', 'address', 'port', 'duration', 'bytesIn', 'bytesOut', 'requests', 'reason']);
  t.equal(typeof records[0]!['duration'], 'number');
});

t.test('reopened after a rename, lines go to the new file; none lost between the two', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'access.log');
  const server = await startServer(t, { metricsInterval: 0, accessLog: path });
  const recorded = recordEvents(server);
  await conversations(server.address.port, 5);
  await recorded.waitFor(() => accessLogTotals(recorded.events).written === 5);
  renameSync(path, `${path}.1`);
  // Closed while the file is renamed and not yet reopened: their lines may land in either file, never nowhere.
  const between = conversations(server.address.port, 5);
  await server.reopenAccessLog();
  await between;
  await conversations(server.address.port, 5);
  await server.close();
  const rotated = fileLines(`${path}.1`);
  const fresh = fileLines(path);
  t.ok(rotated.length >= 5, 'the lines written before the rename stay in the rotated file');
  t.ok(fresh.length >= 5, 'the lines after the reopen are in the new file');
  t.equal(rotated.length + fresh.length, 15, 'together: one per connection');
});

t.test('over TLS, bytes are those of the conversation (what the client sent and read), not of its records', async (t) => {
  const ca = createCa(t);
  const { cert, key } = ca.issue('localhost', { dns: ['localhost'] });
  const lines: string[] = [];
  const server = await startServer(t, { metricsInterval: 0, tls: { cert, key }, accessLog: { to: (line) => void lines.push(line), format: 'json' } });
  const client = await LineClient.openTls(server.address.port, { ca: ca.cert, servername: 'localhost' });
  const local = client.socket.localPort;
  client.send('over tls\n');
  await client.readLines(1);
  client.socket.end();
  await client.closed;
  await server.close();
  t.equal(lines.length, 1);
  t.match(JSON.parse(lines[0]!), { port: local, bytesIn: 9, bytesOut: client.received.length, requests: 1, reason: 'end' });
});

t.test('a stream that never drains: serving goes on, lines past the buffer are dropped and counted in the metrics', async (t) => {
  let handed = 0;
  const stuck = new Writable({
    highWaterMark: 16,
    write(_chunk, _encoding, _callback) {
      handed++; // never called back: a pipe nobody reads
    },
  });
  const server = await startServer(t, { metricsInterval: 0, drainTimeout: 300, accessLog: { to: stuck, maxBuffered: 1024 } });
  const recorded = recordEvents(server);
  const clients = await conversations(server.address.port, 40);
  t.equal(clients.length, 40, 'every connection served');
  t.ok(clients.every((client) => client.received > 0), 'and answered');
  await recorded.waitFor(() => accessLogTotals(recorded.events).dropped > 0);
  const during = server.snapshot().accessLog!;
  t.ok(during.dropped > 0 && during.written === 0, 'lines dropped, none written');
  t.match(metricsLine(server.snapshot()), new RegExp(`AccessLog=written:0,dropped:${during.dropped}\\b`), 'in the log line');
  t.match(prometheusText(server.snapshot()), new RegExp(`\\ntcprx_access_log_dropped_lines_total ${during.dropped}\\n`), 'in the exposition');
  const started = Date.now();
  await server.close();
  t.ok(Date.now() - started < 2000, 'close() does not wait past its deadline for a stuck sink');
  t.equal(handed, 1, 'one batch handed over; the rest waited for it');
  t.same(server.snapshot().accessLog, { written: 0, dropped: 40 }, 'at close, what could not be written is counted as dropped: 40 in all');
});

t.test('a full disk (/dev/full): lines dropped and counted, the failure logged once, serving goes on', async (t) => {
  const logged: string[] = [];
  const logger: Logger = { log: (level, message) => void logged.push(`${level} ${message}`) };
  const server = await startServer(t, { metricsInterval: 0, logger, accessLog: '/dev/full' });
  const recorded = recordEvents(server);
  for (let round = 0; round < 3; round++) {
    t.equal((await conversations(server.address.port, 4)).length, 4, 'served');
    await recorded.waitFor(() => accessLogTotals(recorded.events).dropped === 4 * (round + 1));
  }
  await server.close();
  t.same(server.snapshot().accessLog, { written: 0, dropped: 12 });
  const failures = logged.filter((line) => line.startsWith('error access log: write failed'));
  t.equal(failures.length, 1, 'one line for the first failure; the rest are counted');
  t.match(logged.join('\n'), /suppressed \d+ error records/, 'and the count of the rest at close');
});

t.test('a pipe nobody reads: the event loop never waits for it, lines are dropped and counted, close() keeps its deadline', async (t) => {
  const fifo = join(tempDir(t), 'pipe');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // there, but never reads
  t.teardown(() => closeSync(reader)); // which also ends the write the pipe stalled (EPIPE)
  const server = await startServer(t, { metricsInterval: 0, drainTimeout: 300, accessLog: { to: fifo, maxBuffered: 8 * 1024 } });
  const recorded = recordEvents(server);
  let served = 0;
  // The pipe holds 64 KiB (about 700 lines), the buffer 8 KiB more; past that, lines are dropped.
  for (let round = 0; round < 20 && accessLogTotals(recorded.events).dropped === 0; round++) {
    served += (await conversations(server.address.port, 100, 100)).length;
  }
  const { dropped } = accessLogTotals(recorded.events);
  t.ok(dropped > 0, `lines dropped (${dropped}) once the pipe and the buffer were full`);
  t.equal(served % 100, 0, 'every connection was served meanwhile');
  const started = Date.now();
  await server.close();
  t.ok(Date.now() - started < 2000, 'close() gave up on the stalled write at its deadline');
  const totals = server.snapshot().accessLog!;
  t.equal(totals.written + totals.dropped, served, 'each line written or counted as dropped');
});

t.test('a function sink gets each line; one it throws on is counted as dropped', async (t) => {
  const lines: string[] = [];
  let calls = 0;
  const server = await startServer(t, {
    metricsInterval: 0,
    accessLog: {
      to: (line) => {
        if (calls++ === 1) throw new Error('not this one');
        lines.push(line);
      },
      format: 'text',
    },
  });
  await conversations(server.address.port, 3, 1);
  await server.close();
  t.equal(lines.length, 2);
  for (const line of lines) t.match(line, TEXT_LINE);
  t.same(server.snapshot().accessLog, { written: 2, dropped: 1 });
});

t.test('a path that cannot be opened fails serve() before anything listens', async (t) => {
  const dir = tempDir(t);
  await t.rejects(startServer(t, { accessLog: join(dir, 'missing', 'access.log') }), { code: 'ENOENT' });
});

t.test('a connection that hibernated between requests is logged with all of them', async (t) => {
  const lines: string[] = [];
  let subscriptions = 0;
  const counting = stateless(
    pipe(
      framing(),
      finalize(() => subscriptions++),
      map(() => 'ok\n'),
    ),
  );
  const server = await startServer(t, { accessLog: { to: (line: string) => lines.push(line), format: 'text' } }, counting);
  const client = await LineClient.open(server.address.port);
  client.send('a\nb\n');
  await client.readLines(2);
  await client.until(() => subscriptions === 1, 5_000, 'the pipeline to hibernate');
  client.send('c\nd\ne\n');
  await client.readLines(5);
  client.socket.end();
  await client.closed;
  await server.close();
  t.equal(lines.length, 1);
  t.match(lines[0], / requests=5 reason=end$/, 'the requests before the hibernation count too');
});
