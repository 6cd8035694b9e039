import { createServer, connect, Socket } from 'node:net';
import { once } from 'node:events';
import { TLSSocket } from 'node:tls';
import t from 'tap';
import { readIntoSharedBuffer } from '../../source/server/shared-read-buffer.js';

const options = { noDelay: true, keepAlive: 0 };
function ignore(): void {}

t.test('an accepted TCP socket is re-homed: the new socket owns the handle and the server still counts it', async (t) => {
  const server = createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [Socket];
  const adopted = readIntoSharedBuffer(accepted, ignore, options);
  t.ok(adopted, 're-homed');
  t.not(adopted, accepted);
  const count = await new Promise<number>((resolve) => server.getConnections((_, n) => resolve(n)));
  t.equal(count, 1, 'the server counts the connection once');
  adopted!.destroy();
  client.destroy();
  server.close();
});

t.test("sockets that are not an accepted plain TCP socket are left to Node's own read path", async (t) => {
  t.equal(readIntoSharedBuffer(new Socket(), ignore, options), undefined, 'a socket without a handle');
  const tls = new TLSSocket(new Socket());
  t.equal(readIntoSharedBuffer(tls, ignore, options), undefined, 'a TLS socket');
  tls.destroy();
});
