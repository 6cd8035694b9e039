import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LineClient } from '../helpers/line-client.js';

const INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

// Standard output as a pipe Node has opened (by writing to process.stdout) is non-blocking: a write to a
// full one fails with EAGAIN at once. Such a write is tried again, not counted as failed.
const CHILD = `
process.stdout.write('');
const { serve, silentLogger } = await import(${JSON.stringify(INDEX)});
const server = await serve({ host: '127.0.0.1', port: 0, metricsInterval: 0, logger: silentLogger, accessLog: '-' });
process.stderr.write(server.address.port + '\\n');
process.once('SIGTERM', async () => {
  await server.close();
  process.stderr.write(JSON.stringify(server.snapshot().accessLog) + '\\n');
});
`;

t.test('standard output that is a full non-blocking pipe: lines wait for the reader, none is lost', async (t) => {
  // A pipe of its own, not one of spawn's, which Node would read into its buffer: full at 64 KiB.
  const dir = mkdtempSync(join(tmpdir(), 'tcp-rx-stdout-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'stdout');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { stdio: ['ignore', writer, 'pipe'] });
  closeSync(writer);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit');
  while (!/^\d+\n/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(stderr);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const port = Number(stderr.split('\n')[0]);
  const count = 1000; // about 100 KiB of lines
  for (let start = 0; start < count; start += 100) {
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        const client = await LineClient.open(port);
        client.send('x\n');
        await client.readLines(1);
        client.socket.end();
        await client.closed;
      }),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // writes refused meanwhile: EAGAIN, tried again
  let stdout = '';
  const output = new Socket({ fd: reader, readable: true, writable: false });
  output.on('data', (chunk) => (stdout += chunk));
  const ended = once(output, 'end');
  child.kill('SIGTERM');
  await Promise.all([exited, ended]);
  t.equal(stdout.split('\n').filter((line) => line !== '').length, count, 'every line, once the pipe was read');
  t.match(stderr, new RegExp(`\\{"written":${count},"dropped":0\\}`));
});
