import { once } from 'node:events';
import { connect } from 'node:net';
import t from 'tap';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { runCli, startCliServer } from '../helpers/cli.js';
import { v1Header } from '../helpers/proxy-header.js';

t.test('tcp-rx serve --proxy-protocol: a header from a trusted proxy is read, an untrusted peer is closed and logged', async (t) => {
  const server = await startCliServer(['--proxy-protocol', '--trusted-proxies', '127.0.0.1/32', '--proxy-header-timeout', '1s', '--metrics-interval', '0']);
  t.teardown(() => void server.child.kill('SIGKILL'));
  t.match(server.stderr(), /listening on .* proxyProtocol=127\.0\.0\.1\/32/);
  const client = await LineClient.open(server.port);
  client.send(Buffer.concat([v1Header('203.0.113.7', '10.0.0.1', 5555, 7000), Buffer.from('through the proxy\n')]));
  const [reply] = await client.readLines(1);
  t.equal(reply!.replace(ECHO_PREFIX, ''), 'through the proxy');
  client.close();
  const socket = connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  socket.on('error', () => {});
  await once(socket, 'connect');
  const untrusted = LineClient.over(socket);
  untrusted.send(Buffer.concat([v1Header('203.0.113.7', '10.0.0.1', 5555, 7000), Buffer.from('hi\n')]));
  t.equal((await untrusted.readToEnd()).toString(), '');
  await server.waitFor(/PROXY header refused peer=127\.0\.0\.2:\d+ reason=untrusted/);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('--trusted-proxies without --proxy-protocol is a usage error, exit 2', async (t) => {
  const run = runCli(['serve', '--addr', '127.0.0.1:0', '--trusted-proxies', '10.0.0.0/8']);
  t.equal(await run.exited, 2);
  t.match(run.stderr(), /^tcp-rx: --trusted-proxies needs --proxy-protocol\n$/);
});
