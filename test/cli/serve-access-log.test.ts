import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startCliServer } from '../helpers/cli.js';
import { LineClient } from '../helpers/line-client.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcp-rx-access-log-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fileLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
}

/** `count` connections that each send a line, read its reply, and close. */
async function closedConnections(port: number, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const client = await LineClient.open(port);
      client.send('one line\n');
      await client.readLines(1);
      client.socket.end();
      await client.closed;
    }),
  );
}

/** Polls (at most 5 s) until `path` holds `count` lines. */
async function untilLines(path: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (fileLines(path).length < count) {
    if (Date.now() > deadline) throw new Error(`${path}: ${fileLines(path).length} lines, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('SIGTERM with connections open: after the exit, one line per connection', async (t) => {
  const path = join(tempDir(t), 'access.log');
  const server = await startCliServer(['--access-log', path, '--log-format', 'json']);
  const clients = await Promise.all(Array.from({ length: 25 }, () => LineClient.open(server.port)));
  for (const client of clients) client.send('still here\n');
  await Promise.all(clients.map((client) => client.readLines(1)));
  const open = new Set(clients.map((client) => client.socket.localPort)); // a closed socket forgets it
  await closedConnections(server.port, 5);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  const records = fileLines(path).map((line) => JSON.parse(line) as { port: number; requests: number; reason: string });
  t.equal(records.length, 30, 'lines = connections, the 25 the shutdown closed among them');
  t.equal(records.filter((record) => open.has(record.port)).length, 25);
  t.ok(records.every((record) => record.requests === 1));
});

t.test('SIGUSR1 after logrotate renamed the file: later lines in a new file, none lost', async (t) => {
  const path = join(tempDir(t), 'access.log');
  const server = await startCliServer(['--access-log', path]);
  await closedConnections(server.port, 3);
  await untilLines(path, 3);
  renameSync(path, `${path}.1`);
  server.child.kill('SIGUSR1');
  await server.waitFor(/SIGUSR1: access log reopened/);
  await closedConnections(server.port, 4);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  t.equal(fileLines(`${path}.1`).length, 3, 'the rotated file keeps what was written before');
  t.equal(fileLines(path).length, 4, 'the new file gets what came after');
  t.match(fileLines(path)[0], /^\S+Z peer=127\.0\.0\.1:\d+ duration=\S+ms in=9 out=\d+ requests=1 reason=end$/, 'text, as --log-format says');
  t.notMatch(server.stderr(), /Debugger listening/, 'SIGUSR1 did not start the inspector');
});

t.test('--processes 2: every worker appends to the one file, and SIGUSR1 to the primary reopens it in each', async (t) => {
  const path = join(tempDir(t), 'access.log');
  const server = await startCliServer(['--access-log', path, '--processes', '2']);
  await closedConnections(server.port, 6);
  await untilLines(path, 6);
  renameSync(path, `${path}.1`);
  server.child.kill('SIGUSR1');
  await server.waitFor(/SIGUSR1: access log reopened[^\n]*\n(?:.*\n)*.*SIGUSR1: access log reopened/, 5_000);
  await closedConnections(server.port, 8);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  t.equal(fileLines(`${path}.1`).length, 6, 'the rotated file keeps what was written before');
  t.equal(fileLines(path).length, 8, 'the new file gets every line after, from both workers');
  t.ok(fileLines(path).every((line) => /^\S+Z peer=127\.0\.0\.1:\d+ .* reason=end$/.test(line)), 'whole lines, none interleaved');
});

t.test('--access-log - writes the lines to stdout, apart from the log on stderr', async (t) => {
  const server = await startCliServer(['--access-log', '-']);
  await closedConnections(server.port, 2);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  const lines = server.stdout().split('\n').filter((line) => line !== '');
  t.equal(lines.length, 2);
  for (const line of lines) t.match(line, /^\S+Z peer=127\.0\.0\.1:\d+ duration=\S+ms in=9 out=\d+ requests=1 reason=end$/);
  t.notMatch(server.stderr(), /peer=/, 'no access line among the log lines');
});

t.test('an access log path that cannot be opened: one line on stderr, exit 1', async (t) => {
  const { runCli } = await import('../helpers/cli.js');
  const run = runCli(['serve', '--addr', '127.0.0.1:0', '--access-log', join(tempDir(t), 'missing', 'access.log')]);
  t.equal(await run.exited, 1);
  t.match(run.stderr(), /^tcp-rx: ENOENT: no such file or directory, open '.*access\.log'\n$/);
});
