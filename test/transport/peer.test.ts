import fc from 'fast-check';
import t from 'tap';
import { packIPv4, unpackIPv4 } from '../../source/transport/peer.js';
import type { ServerEvent } from '../../source/index.js';
import { LineClient } from '../helpers/line-client.js';
import { whoami } from '../helpers/proxy-header.js';
import { recordEvents, startServer } from '../helpers/server.js';

t.test('an IPv4 address packs into an integer and back to the very same text', async (t) => {
  fc.assert(
    fc.property(fc.ipV4(), (address) => {
      const packed = packIPv4(address);
      t.ok(packed !== undefined && Number.isInteger(packed) && packed >= -(2 ** 31) && packed < 2 ** 31, `${address} packs into an int32`);
      t.equal(unpackIPv4(packed!), address);
    }),
    { numRuns: 300 },
  );
});

t.test('what is not a dotted quad as Node writes one stays a string', async (t) => {
  for (const address of ['::1', '::ffff:127.0.0.1', '127.0.0.01', '01.2.3.4', '256.0.0.1', '1.2.3.1000', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4 ', 'a.b.c.d', '', undefined]) {
    t.equal(packIPv4(address), undefined, String(address));
  }
});

t.test('the peer, over IPv4 and IPv6: to the protocol while served, and in the closed event after a reset', async (t) => {
  for (const host of ['127.0.0.1', '::1']) {
    const server = await startServer(t, { host }, whoami(({ peer }) => `${peer.address}:${peer.port}:${peer.proxied}`));
    const { waitFor } = recordEvents(server);
    const client = await LineClient.open(server.address.port, host);
    const port = client.socket.localPort;
    client.socket.write('hi\n');
    t.same(await client.readLines(1), [`${host}:${port}:false hi`], `${host}: the protocol sees the client`);
    client.socket.resetAndDestroy(); // the server's socket forgets its peer as it closes
    const closed = (await waitFor((event) => event.type === 'closed')) as Extract<ServerEvent, { type: 'closed' }>;
    t.same(closed.peer, { address: host, port, proxied: false }, `${host}: the closed event names it`);
    t.equal(closed.reason, 'reset');
  }
});
