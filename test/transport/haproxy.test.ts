import { once } from 'node:events';
import { connect } from 'node:net';
import t from 'tap';
import { freePort, startHaproxy } from '../helpers/haproxy.js';
import { LineClient } from '../helpers/line-client.js';
import { whoami as whoamiWith } from '../helpers/proxy-header.js';
import { recordEvents, startServer } from '../helpers/server.js';

/** Answers each line with the connection's peer and what its PROXY header said. */
const whoami = whoamiWith(({ peer, proxy }) => `${peer.address}:${peer.port} v${proxy?.version} ${proxy?.command} id=${proxy?.uniqueId?.toString('latin1')}`);

/** A client of `port` from 127.0.0.2, so that its address is not haproxy's. */
async function clientFrom127002(port: number): Promise<LineClient> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  await once(socket, 'connect');
  return LineClient.over(socket);
}

t.test('behind a real haproxy in TCP mode, send-proxy and send-proxy-v2: the client is seen with its own address and port', async (t) => {
  const server = await startServer(t, { proxyProtocol: { trustedProxies: ['127.0.0.1/32'] } }, whoami);
  const recorder = recordEvents(server);
  const [v1, v2] = [await freePort(), await freePort()];
  await startHaproxy(
    t,
    `defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s

frontend v1
  bind 127.0.0.1:${v1}
  default_backend v1

backend v1
  server tcprx 127.0.0.1:${server.address.port} send-proxy

frontend v2
  bind 127.0.0.1:${v2}
  unique-id-format conn-%ci-%cp
  default_backend v2

backend v2
  option tcp-check
  tcp-check send-binary 6865616c74680a
  tcp-check expect string health
  server tcprx 127.0.0.1:${server.address.port} send-proxy-v2 proxy-v2-options unique-id check inter 200ms
`,
  );
  for (const [port, version, id] of [[v1, 1, undefined], [v2, 2, 'conn-127.0.0.2-']] as const) {
    const client = await clientFrom127002(port);
    client.send('who am I?\n');
    const [reply] = await client.readLines(1);
    const { localPort } = client.socket;
    t.equal(reply, `127.0.0.2:${localPort} v${version} proxy id=${id === undefined ? 'undefined' : `${id}${localPort}`} who am I?`, `send-proxy${version === 2 ? '-v2' : ''}`);
    client.close();
  }
  // haproxy's health checks (one line, its answer expected), with send-proxy-v2: LOCAL headers, served with the socket's addresses.
  await recorder.waitFor((event) => event.type === 'proxy-header' && event.command === 'local');
  const refused = Object.keys(server.snapshot().proxy?.failures ?? {}).filter((reason) => reason !== 'missing');
  t.same(refused, [], 'no header refused (a connection haproxy gave up before sending its header would be `missing`)');
});
