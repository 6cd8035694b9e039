import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import { startCliServer } from '../helpers/cli.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

/** A client that keeps `depth` requests in flight and records what it sent and what came back. */
class PipeliningClient {
  readonly sent: string[] = [];
  readonly replies: string[] = [];
  error: Error | undefined;
  readonly closed: Promise<unknown>;
  #partial = '';
  #id: number;

  constructor(readonly socket: Socket, id: number, depth: number) {
    this.#id = id;
    socket.setEncoding('latin1');
    socket.on('error', (error) => (this.error = error));
    socket.on('data', (text: string) => {
      const lines = (this.#partial + text).split('\n');
      this.#partial = lines.pop()!;
      for (const line of lines) {
        this.replies.push(line);
        this.#send();
      }
    });
    socket.on('end', () => socket.end());
    this.closed = new Promise((resolve) => socket.once('close', resolve));
    for (let i = 0; i < depth; i++) this.#send();
  }

  #send(): void {
    if (this.socket.readableEnded || this.socket.destroyed || this.sent.length >= 5000) return;
    const request = `client ${this.#id} request ${this.sent.length}`;
    this.sent.push(request);
    this.socket.write(request + '\n');
  }
}

t.test('SIGTERM under load: every request the server took is answered, then exit 0', async (t) => {
  const server = await startCliServer(['--drain-timeout', '10s']);
  t.teardown(() => void server.child.kill('SIGKILL'));
  const sockets = await Promise.all(
    Array.from({ length: 200 }, async () => {
      const socket = connect(server.port, '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    }),
  );
  const clients = sockets.map((socket, id) => new PipeliningClient(socket, id, 4));
  // Shut down mid-run, with every connection being served (drain.test.ts covers those still in the accept queue).
  for (let waited = 0; waited < 10_000 && clients.some((client) => client.replies.length === 0); waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  const signalled = Date.now();
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, 'exit 0: drained');
  const took = Date.now() - signalled;
  await Promise.all(clients.map((client) => client.closed));

  let answered = 0;
  for (const client of clients) {
    t.equal(client.error, undefined, 'closed cleanly, never reset');
    const echoed = client.replies.map((reply) => reply.replace(ECHO_PREFIX, ''));
    if (!client.replies.every((reply) => ECHO_PREFIX.test(reply)) || echoed.some((reply, i) => reply !== client.sent[i])) {
      t.fail('replies are the requests, in order, with none missing in between', { sent: client.sent.slice(0, 5), echoed: echoed.slice(0, 5) });
    }
    answered += client.replies.length;
  }
  t.ok(answered > 200, `${answered} requests answered across 200 connections`);
  t.ok(took < 10_000, `exited within the drain timeout (${took} ms)`);
  for (const phase of [/SIGTERM: shutting down/g, /stopped accepting/g, /drained/g]) {
    t.equal(server.stderr().match(phase)?.length, 1, `logged once: ${phase.source}`);
  }
});

t.test('close() destroys what is left at the drain timeout and says so', async (t) => {
  const server = await startServer(t, { drainTimeout: 200, idleTimeout: 0, readTimeout: 0 });
  const stuck = await LineClient.open(server.address.port);
  stuck.send('an unfinished request'); // keeps the connection mid-frame: it cannot drain
  await new Promise((resolve) => setTimeout(resolve, 50));
  const result = await server.close();
  t.same(result, { destroyed: 1 });
  await stuck.closed;
});

t.test('close() closes idle connections at once', async (t) => {
  const server = await startServer(t, { drainTimeout: 5000 });
  const idle = await LineClient.open(server.address.port);
  idle.send('hello\n');
  await idle.readLines(1);
  const started = Date.now();
  t.same(await server.close(), { destroyed: 0 });
  await idle.readToEnd();
  t.ok(Date.now() - started < 1000, 'without waiting for the drain timeout');
});

t.test('a second signal forces the exit at once', async (t) => {
  const server = await startCliServer(['--drain-timeout', '30s', '--read-timeout', '0']);
  const stuck = await LineClient.open(server.port);
  stuck.send('unfinished');
  await new Promise((resolve) => setTimeout(resolve, 100));
  server.child.kill('SIGTERM');
  await server.waitFor(/stopped accepting/);
  server.child.kill('SIGINT');
  t.equal(await server.exited, 3, 'exit 3: connections were not drained');
  t.match(server.stderr(), /SIGINT again: exiting without draining/);
  stuck.close();
});
