import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Listener } from '../../source/server/listener.js';

const CONNECTIONS = 20;

/**
 * Another process opens `CONNECTIONS` connections to `port` and sends a line
 * on each, while this one's event loop is held (so none is accepted: they
 * wait in the kernel's accept queue); then `close` is called in that same
 * turn, as `node:cluster`'s disconnect() calls a worker server's close().
 * Resolves with what the peers saw: the replies, and the errors.
 */
async function closeWithQueue(t: Test, server: NetServer, close: () => void): Promise<{ replies: number; errors: string[] }> {
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => {});
    socket.end('served\n');
    socket.resume(); // read (and drop) the line, so the close is a FIN
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'tcp-rx-listener-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ready = join(dir, 'connected');
  const peers = spawn(process.execPath, ['-e', PEERS, String(port), String(CONNECTIONS), ready], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void peers.kill());
  // Held without a turn of the event loop until every handshake is done (the peer process says so in a file).
  const hold = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 10_000;
  while (!existsSync(ready) && Date.now() < deadline) Atomics.wait(hold, 0, 0, 5);
  t.ok(existsSync(ready), `${CONNECTIONS} handshakes done while nothing was accepted`);
  close();
  let output = '';
  peers.stdout.on('data', (chunk: Buffer) => (output += chunk));
  await once(peers, 'exit');
  return JSON.parse(output) as { replies: number; errors: string[] };
}

/** The peers: connect, send a line, read to the end; print `{ replies, errors }`. */
const PEERS = `
const { connect } = require('node:net');
const { writeFileSync } = require('node:fs');
const [port, count, ready] = process.argv.slice(1);
let connected = 0;
const results = Array.from({ length: Number(count) }, () => new Promise((resolve) => {
  const socket = connect(Number(port), '127.0.0.1', () => { if (++connected === Number(count)) writeFileSync(ready, ''); });
  let text = '';
  socket.write('hello\\n');
  socket.on('data', (chunk) => (text += chunk));
  socket.on('error', (error) => resolve({ error: error.code }));
  socket.on('close', () => resolve({ text }));
  setTimeout(() => socket.destroy(new Error('timeout')), 10_000).unref();
}));
Promise.all(results).then((all) => {
  process.stdout.write(JSON.stringify({ replies: all.filter((r) => r.text === 'served\\n').length, errors: all.flatMap((r) => (r.error ? [r.error] : [])) }));
});
`;

t.test("a plain net.Server's close() resets the connections still in the kernel's accept queue", async (t) => {
  const server = new NetServer();
  const seen = await closeWithQueue(t, server, () => server.close());
  t.equal(seen.replies, 0, 'none served');
  t.equal(seen.errors.length, CONNECTIONS, `every one reset: ${[...new Set(seen.errors)].join(', ')}`);
});

t.test("Listener's close() accepts the queued connections first, whoever calls it", async (t) => {
  const server = new Listener({});
  const seen = await closeWithQueue(t, server, () => server.close());
  t.same(seen.errors, [], 'none reset');
  t.equal(seen.replies, CONNECTIONS, 'every one accepted and served');
  t.notOk(server.listening, 'and then it stopped listening');
  const closed = await new Promise<Error | undefined>((resolve) => server.close(resolve));
  t.match(closed, { code: 'ERR_SERVER_NOT_RUNNING' }, "closing again is net.Server's error, in the callback");
});

/**
 * A `node:cluster` worker whose Listener stops listening; prints the
 * listening handle's descriptor as it was when cluster's own `close`
 * message to the primary was sent (-1: closed already).
 */
const CLUSTER_WORKER = `
import cluster from 'node:cluster';
const { Listener } = await import(process.argv[1]);
cluster.schedulingPolicy = cluster.SCHED_NONE;
if (cluster.isPrimary) {
  const worker = cluster.fork();
  worker.on('message', (message) => { process.stdout.write(JSON.stringify(message)); worker.kill(); });
} else {
  const server = new Listener({});
  server.listen(0, '127.0.0.1', async () => {
    const handle = server._handle;
    const send = process.send;
    let descriptorWhenTold = 'never told';
    process.send = function (message, ...rest) {
      if (message?.cmd === 'NODE_CLUSTER' && message.act === 'close') descriptorWhenTold = handle.fd;
      return send.call(this, message, ...rest);
    };
    await server.stopListening();
    process.send = send;
    process.send({ descriptorWhenTold });
  });
}
`;

t.test('in a cluster worker, Listener closes its descriptor before node:cluster tells the primary', async (t) => {
  const listener = new URL('../../dist/server/listener.js', import.meta.url).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', CLUSTER_WORKER, listener], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  await once(child, 'exit');
  // Told first, the primary may take this core while the socket is still open and no one accepts.
  t.same(JSON.parse(output), { descriptorWhenTold: -1 }, 'closed, then told');
});
