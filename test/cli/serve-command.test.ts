import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { runCli, startCliServer } from '../helpers/cli.js';

t.test('tcp-rx serve answers the reference protocol and exits 0 on SIGTERM', async (t) => {
  const server = await startCliServer(['--workers', '2000']);
  const client = await LineClient.open(server.port);
  client.send('over the wire\n');
  const [reply] = await client.readLines(1);
  t.equal(reply!.replace(ECHO_PREFIX, ''), 'over the wire');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  await client.readToEnd();
  t.match(server.stderr(), /SIGTERM: shutting down/);
  t.match(server.stderr(), /drained/);
});

t.test('flags can come from TCPRX_* environment variables', async (t) => {
  const server = await startCliServer([], { TCPRX_MAX_LINE: '16B' });
  const client = await LineClient.open(server.port);
  client.send('x'.repeat(17) + '\n');
  t.equal((await client.readToEnd()).toString(), 'ERR line too long\n');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('a bad flag or value is one line on stderr naming it, exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['serve', '--bogus', '1'], /^tcp-rx: unknown flag --bogus/],
    [['serve', '--idle-timeout', '60'], /^tcp-rx: --idle-timeout: '60' is not a duration/],
    [['serve', '--addr', 'nowhere'], /^tcp-rx: --addr: 'nowhere' is not an address/],
    [['serve', '--workers', '0'], /^tcp-rx: --workers: '0' is not a whole number/],
    [['frobnicate'], /^tcp-rx: unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const run = runCli(args);
    t.equal(await run.exited, 2, args.join(' '));
    t.match(run.stderr(), message);
    t.equal(run.stderr().trimEnd().split('\n').length, 1, 'one line');
  }
});

t.test('a port in use is a clear message and exit 1', async (t) => {
  const first = await startCliServer();
  const second = runCli(['serve', '--addr', `127.0.0.1:${first.port}`]);
  t.equal(await second.exited, 1);
  t.equal(second.stderr(), `tcp-rx: address 127.0.0.1:${first.port} is already in use\n`);
  first.child.kill('SIGTERM');
  await first.exited;
});

t.test('--help lists the commands, serve --help explains every flag; --version prints the version', async (t) => {
  const overview = runCli(['--help']);
  t.equal(await overview.exited, 0);
  t.match(overview.stdout(), /serve .*\n.*bench .*\n.*top /);
  const help = runCli(['serve', '--help']);
  t.equal(await help.exited, 0);
  for (const flag of ['addr', 'workers', 'queue', 'backlog', 'max-line', 'keepalive', 'idle-timeout', 'read-timeout', 'write-timeout', 'drain-timeout', 'log-format']) {
    t.match(help.stdout(), new RegExp(`--${flag} .*TCPRX_${flag.toUpperCase().replace('-', '_')}`), flag);
  }
  for (const args of [['--version'], ['serve', '--version']]) {
    const version = runCli(args);
    t.equal(await version.exited, 0);
    t.match(version.stdout(), /^\d+\.\d+\.\d+\n$/, args.join(' '));
  }
  const none = runCli([]);
  t.equal(await none.exited, 2);
  t.equal(none.stderr(), 'tcp-rx: missing command (see --help)\n');
});

t.test('the bin runs as an executable, and npm start gives node the flags on its shebang', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const { spawnSync } = await import('node:child_process');
  const root = new URL('../../', import.meta.url);
  const { bin, scripts } = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  const path = bin['tcp-rx']!.replace(/^\.\//, '');
  const shebang = /^#!\/usr\/bin\/env -S node((?: --[\w-]+=\S+)*)\n/.exec(await readFile(new URL(path, root), 'utf8'));
  t.ok(shebang, 'the bin starts node with flags through env -S');
  t.equal(scripts.start, `node${shebang![1]} ${path} serve`);
  const run = spawnSync(fileURLToPath(new URL(path, root)), ['--version'], { encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
});

t.test('a flag without its value or a stray argument is a usage error, exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['serve', '--addr'], /^tcp-rx: --addr needs a value\n$/],
    [['serve', 'extra'], /^tcp-rx: unexpected argument 'extra'/],
    [['serve', '--workers=0'], /^tcp-rx: --workers: /],
    [['serve', '--keepalive', '500ms'], /^tcp-rx: --keepalive: '500ms' is shorter than 1s \(0 turns it off\)\n$/],
    [['serve', '--drain-timeout', '600h'], /^tcp-rx: --drain-timeout: '600h' is longer than 2147483647ms/],
    [['serve', '--max-line', '2GiB'], /^tcp-rx: --max-line: '2GiB' is more than 1GiB\n$/],
  ];
  for (const [args, message] of cases) {
    const cli = runCli(args);
    t.equal(await cli.exited, 2, args.join(' '));
    t.match(cli.stderr(), message);
  }
});

t.test('a bad value in a TCPRX_* variable is named in one line, exit 2', async (t) => {
  const run = runCli(['serve', '--addr', '127.0.0.1:0'], { TCPRX_KEEPALIVE: '100ms' });
  t.equal(await run.exited, 2);
  t.equal(run.stderr(), "tcp-rx: TCPRX_KEEPALIVE: '100ms' is shorter than 1s (0 turns it off)\n");
});
