import { createServer, connect, Socket } from 'node:net';
import { once } from 'node:events';
import { connect as connectTls, createServer as createTlsServer, TLSSocket } from 'node:tls';
import t from 'tap';
import { readIntoSharedBuffer, sharedRead } from '../../source/server/shared-read-buffer.js';
import { createCa } from '../helpers/certificates.js';

function ignore(): void {}

t.test('an accepted TCP socket reads into the shared buffer: no second socket, and the server counts it once', async (t) => {
  const server = createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [Socket];
  const read = new Promise<{ socket: Socket; bytes: string }>((resolve) => {
    t.ok(
      readIntoSharedBuffer(accepted, function (this: Socket, bytes: number) {
        resolve({ socket: this, bytes: sharedRead(bytes).toString() });
      }),
      'reads into the shared buffer',
    );
  });
  accepted.on('data', () => t.fail('no chunk of its own'));
  accepted.resume();
  client.write('hello');
  const { socket, bytes } = await read;
  t.equal(socket, accepted, 'the callback is called on the accepted socket');
  t.equal(bytes, 'hello');
  // A stage before the connection (the PROXY header's) reads so too: the connection takes the reads over.
  const next = new Promise<string>((resolve) => {
    t.ok(readIntoSharedBuffer(accepted, (bytes: number) => resolve(sharedRead(bytes).toString())), 'a socket reading into it already hands its reads over');
  });
  client.write('again');
  t.equal(await next, 'again', 'the next read goes to the new callback');
  const count = await new Promise<number>((resolve) => server.getConnections((_, n) => resolve(n)));
  t.equal(count, 1, 'the server counts the connection once');
  accepted.destroy();
  client.destroy();
  server.close();
});

t.test('a TLS socket reads into the shared buffer once its handshake is done, unless data waits in it already', async (t) => {
  const ca = createCa(t);
  const { cert, key } = ca.issue('localhost', { dns: ['localhost'] });
  const server = createTlsServer({ cert, key });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  t.teardown(() => server.close());
  const open = async (): Promise<{ client: TLSSocket; accepted: TLSSocket }> => {
    const accepted = once(server, 'secureConnection') as Promise<[TLSSocket]>;
    const client = connectTls({ port, host: '127.0.0.1', ca: ca.cert, servername: 'localhost' });
    await once(client, 'secureConnect');
    return { client, accepted: (await accepted)[0].pause() };
  };

  const { client, accepted } = await open();
  const read = new Promise<string>((resolve) => {
    t.ok(readIntoSharedBuffer(accepted, (bytes: number) => resolve(sharedRead(bytes).toString())), 'reads into the shared buffer');
  });
  accepted.on('data', () => t.fail('no chunk of its own'));
  accepted.resume();
  client.write('hello over tls');
  t.equal(await read, 'hello over tls');
  client.destroy();

  const early = await open();
  early.client.write('early');
  // Decrypted and held by the paused socket (within 2 s).
  for (let waited = 0; early.accepted.readableLength === 0 && waited < 2000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(readIntoSharedBuffer(early.accepted, ignore), false, 'one holding data already is left as it is');
  t.equal(early.accepted.read()?.toString(), 'early', 'and reads on through its own path');
  early.client.destroy();
});

t.test("a socket without a handle is left to Node's own read path", async (t) => {
  t.equal(readIntoSharedBuffer(new Socket(), ignore), false);
});
