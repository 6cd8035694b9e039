import { spawn, spawnSync } from 'node:child_process';
import t from 'tap';
import { startExample } from './helpers/example.js';
import { LineClient } from './helpers/line-client.js';

// The real client, from Debian's redis-tools (`.ci/run` installs it).
if (spawnSync('redis-cli', ['--version']).status !== 0) throw new Error('redis-cli not found: apt-get install redis-tools (.ci/run does)');

/** Runs redis-cli with `args`, `input` on its stdin; resolves with what it printed. Killed after `timeout` ms. */
function redisCli(args: string[], input = '', timeout = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== null) reject(new Error(`redis-cli ${args.join(' ')} was killed (${signal}) after: ${output}`));
      else resolve(output);
    });
    child.stdin.end(input);
  });
}

/** A command as clients send it: an array of bulk strings. */
const command = (...args: string[]): string => `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;

// Each command of the session and redis-cli's output for it (raw output: not a terminal), as redis-server 7 answers.
const SESSION: Array<[string, string]> = [
  ['PING', 'PONG'],
  ['PING "hello world"', 'hello world'],
  ['SET k v', 'OK'],
  ['GET k', 'v'],
  ['SET k v2 NX', ''],
  ['SET k v3 XX', 'OK'],
  ['SET k v4 NX GET', 'v3'],
  ['SET nope x XX', ''],
  ['SET k2 v EX 100', 'OK'],
  ['TTL k2', '100'],
  ['SET k3 v PX 5000', 'OK'],
  ['TTL k3', '5'],
  ['SET k4 v EX 0', "ERR invalid expire time in 'set' command\n"],
  ['SET k4 v EX abc', 'ERR value is not an integer or out of range\n'],
  ['SET k4 v EX 10 PX 100', 'ERR syntax error\n'],
  ['SET k2 v2 KEEPTTL', 'OK'],
  ['TTL k2', '100'],
  ['SET k2 v3', 'OK'],
  ['TTL k2', '-1'],
  ['TTL missing', '-2'],
  ['EXISTS k k k2 missing', '3'],
  ['DEL k missing k2', '2'],
  ['INCR counter', '1'],
  ['INCRBY counter 10', '11'],
  ['DECR counter', '10'],
  ['INCRBY counter abc', 'ERR value is not an integer or out of range\n'],
  ['SET big 9223372036854775807', 'OK'],
  ['INCR big', 'ERR increment or decrement would overflow\n'],
  ['MSET a 1 b 2 c 3', 'OK'],
  ['MGET a b nope c', '1\n2\n\n3'],
  ['MSET a', "ERR wrong number of arguments for 'mset' command\n"],
  ['EXPIRE a 100', '1'],
  ['EXPIRE a 50 GT', '0'],
  ['EXPIRE a 10 NX', '0'],
  ['EXPIRE a 10 XX LT', '1'],
  ['TTL a', '10'],
  ['EXPIRE a 10 NX XX', 'ERR NX and XX, GT or LT options at the same time are not compatible\n'],
  ['EXPIRE b -1', '1'],
  ['EXISTS b', '0'],
  ['DBSIZE', '5'],
  ['GET', "ERR wrong number of arguments for 'get' command\n"],
  ['FOO bar baz', "ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \n"],
  ['FLUSHDB', 'OK'],
  ['DBSIZE', '0'],
];

t.test('redis-cli: a scripted session gets exactly what redis-server answers', async (t) => {
  const port = await startExample(t, 'examples/redis.ts');
  const output = await redisCli(['-p', String(port)], SESSION.map(([request]) => request).join('\n') + '\n');
  t.equal(output, SESSION.map(([, reply]) => reply + '\n').join(''));
  // And one command from the command line, formatted for a person.
  t.equal(await redisCli(['-p', String(port), '--no-raw', 'ECHO', 'hi']), '"hi"\n');
});

t.test('redis-cli --pipe: a pipelined batch of 2,000 commands, every reply counted, then read back', async (t) => {
  const port = await startExample(t, 'examples/redis.ts');
  const batch = Array.from({ length: 1000 }, (_, i) => command('SET', `key:${i}`, `value ${i}`) + command('INCR', 'counter')).join('');
  t.equal(
    await redisCli(['-p', String(port), '--pipe'], batch),
    'All data transferred. Waiting for the last reply...\nLast reply received from server.\nerrors: 0, replies: 2000\n',
  );
  t.equal(await redisCli(['-p', String(port), 'MGET', 'key:0', 'key:999', 'key:1000']), 'value 0\nvalue 999\n\n');
  t.equal(await redisCli(['-p', String(port), 'GET', 'counter']), '1000\n');
});

t.test('a pipelined burst in one write gets its replies in order, byte for byte; QUIT ends the connection', async (t) => {
  const port = await startExample(t, 'examples/redis.ts');
  const client = await LineClient.open(port);
  client.send(
    command('SET', 'x', 'bin\r\nary') +
      command('GET', 'x') +
      'PING\r\n' + // inline, as telnet users type it
      command('INCR', 'x') +
      command('MGET', 'x', 'y') +
      command('nosuch') +
      command('QUIT') +
      command('PING'), // after QUIT: never answered
  );
  const replies = await client.readToEnd();
  t.equal(
    replies.toString(),
    '+OK\r\n$8\r\nbin\r\nary\r\n+PONG\r\n-ERR value is not an integer or out of range\r\n*2\r\n$8\r\nbin\r\nary\r\n$-1\r\n' +
      "-ERR unknown command 'nosuch', with args beginning with: \r\n+OK\r\n",
  );
});
