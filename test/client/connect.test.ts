import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import { connect, ConnectionRefusedError } from '../../source/index.js';

/** A loopback port that nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

t.test('connecting where nothing listens rejects with ConnectionRefusedError naming the address', async (t) => {
  const port = await freePort();
  const error = await connect(`127.0.0.1:${port}`).catch((error: unknown) => error);
  t.type(error, ConnectionRefusedError);
  t.equal((error as ConnectionRefusedError).address, `127.0.0.1:${port}`);
  t.match(String(error), `connection refused (127.0.0.1:${port})`);
});

t.test('a malformed address is a RangeError', async (t) => {
  t.throws(() => connect('no-port-here'), RangeError);
});
