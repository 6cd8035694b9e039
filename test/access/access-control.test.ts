import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { AccessControl, parseCidr } from '../../source/index.js';
import { PerIpLimit } from '../../source/access/per-ip-limit.js';
import { createCa } from '../helpers/certificates.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { recordEvents, startServer } from '../helpers/server.js';

/** What the server did to a connection: served it (an echo), or closed it, with what it sent first. */
async function outcome(port: number, from: string): Promise<string> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => {});
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  await once(socket, 'connect');
  socket.write('knock knock\n');
  const deadline = Date.now() + 3000;
  while (!received.includes('\n') && !socket.destroyed && !socket.readableEnded && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  socket.destroy();
  return ECHO_PREFIX.test(received) ? 'served' : `closed:${JSON.stringify(received)}`;
}

t.test('parseCidr takes IPv4 and IPv6 ranges and single addresses, and says what it wants', async (t) => {
  t.same(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
  t.same(parseCidr('127.0.0.2'), { address: '127.0.0.2', prefix: 32, family: 'ipv4' });
  t.same(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  for (const bad of ['10.0.0.0/33', '::/129', 'example.com/8', '10.0.0/8', '10.0.0.0/8/8', '10.0.0.0/x', '']) {
    t.throws(() => parseCidr(bad), { name: 'RangeError', message: /CIDR notation/ }, bad);
  }
});

t.test('AccessControl: deny wins, an allow list refuses the rest, IPv4-mapped IPv6 matches IPv4 ranges', async (t) => {
  const access = new AccessControl({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24'] });
  t.ok(access.allows('10.1.2.3'));
  t.ok(access.allows('::ffff:10.1.2.3'));
  t.ok(access.allows('2001:db8::5'));
  t.notOk(access.allows('10.6.6.6'));
  t.notOk(access.allows('::ffff:10.6.6.6'));
  t.notOk(access.allows('192.168.0.1'));
  t.notOk(access.allows('2001:db9::5'));
  t.notOk(access.allows(undefined), 'a peer already gone');
  const denyOnly = new AccessControl({ deny: ['127.0.0.2'] });
  t.ok(denyOnly.allows('127.0.0.1'));
  t.notOk(denyOnly.allows('127.0.0.2'));
});

t.test('--deny closes a peer by its address at once, without reading; others are served', async (t) => {
  const server = await startServer(t, { deny: ['127.0.0.2/32'] });
  const recorder = recordEvents(server);
  t.equal(await outcome(server.address.port, '127.0.0.2'), 'closed:""');
  t.equal(await outcome(server.address.port, '127.0.0.1'), 'served');
  t.equal(recorder.events.filter((event) => event.type === 'opened').length, 1, 'the denied peer took no worker');
  t.same(server.snapshot().rejectReasons, { denied: 1 });
  t.equal(server.snapshot().connections.rejected, 1);
});

t.test('--allow serves only its ranges; deny wins over it', async (t) => {
  const server = await startServer(t, { allow: ['127.0.0.0/30'], deny: ['127.0.0.3'] });
  t.equal(await outcome(server.address.port, '127.0.0.1'), 'served');
  t.equal(await outcome(server.address.port, '127.0.0.2'), 'served');
  t.equal(await outcome(server.address.port, '127.0.0.3'), 'closed:""', 'allowed but denied');
  t.equal(await outcome(server.address.port, '127.0.0.5'), 'closed:""', 'outside the allowed range');
  t.same(server.snapshot().rejectReasons, { denied: 2 });
});

t.test('--max-conns-per-ip: one past it gets ERR too many connections; a closed connection frees its place', async (t) => {
  const server = await startServer(t, { maxConnsPerIp: 2 });
  const first = await LineClient.open(server.address.port);
  const second = await LineClient.open(server.address.port);
  for (const client of [first, second]) {
    client.send('in\n');
    await client.readLines(1);
  }
  t.equal(await outcome(server.address.port, '127.0.0.1'), 'closed:"ERR too many connections\\n"');
  t.equal(await outcome(server.address.port, '127.0.0.2'), 'served', 'another address has its own count');
  first.close();
  await first.closed;
  for (const deadline = Date.now() + 3000; server.snapshot().connections.active > 1 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(await outcome(server.address.port, '127.0.0.1'), 'served', 'the place is free again');
  t.same(server.snapshot().rejectReasons, { 'too-many-connections': 1 });
  second.close();
});

t.test('PerIpLimit forgets an address when its last connection closes', async (t) => {
  const limit = new PerIpLimit(1);
  const server = await startServer(t);
  const sockets: Socket[] = [];
  for (let index = 0; index < 3; index++) {
    const socket = connect(server.address.port, '127.0.0.1');
    await once(socket, 'connect');
    sockets.push(socket);
  }
  t.ok(limit.acquire(sockets[0]!, '10.0.0.1'));
  t.notOk(limit.acquire(sockets[1]!, '::ffff:10.0.0.1'), 'the same peer, seen as IPv4-mapped IPv6');
  t.ok(limit.acquire(sockets[2]!, '10.0.0.2'));
  t.equal(limit.addresses, 2);
  sockets[0]!.destroy();
  sockets[2]!.destroy();
  await Promise.all([once(sockets[0]!, 'close'), once(sockets[2]!, 'close')]);
  t.equal(limit.addresses, 0);
  sockets[1]!.destroy();
});

t.test('over TLS, access control acts before the handshake: a peer over its limit is closed at once', async (t) => {
  const ca = createCa(t);
  const cert = ca.issue('localhost', { dns: ['localhost'] });
  const server = await startServer(t, { tls: { cert: cert.cert, key: cert.key }, maxConnsPerIp: 1, deny: ['127.0.0.2'] });
  const recorder = recordEvents(server);
  const options = { ca: ca.cert, servername: 'localhost' };
  const client = await LineClient.openTls(server.address.port, options);
  client.send('first\n');
  t.match((await client.readLines(1))[0], ECHO_PREFIX);
  await t.rejects(LineClient.openTls(server.address.port, options), 'one too many: no handshake');
  const fromElsewhere = connect({ port: server.address.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  await once(fromElsewhere, 'connect');
  await t.rejects(LineClient.openTls(server.address.port, { ...options, socket: fromElsewhere }), 'denied: no handshake');
  t.same(server.snapshot().rejectReasons, { 'too-many-connections': 1, denied: 1 });
  t.equal(recorder.events.filter((event) => event.type === 'handshake-failed').length, 0, 'no handshake was attempted');
  client.close();
});
