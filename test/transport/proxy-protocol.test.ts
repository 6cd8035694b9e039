import { once } from 'node:events';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import t from 'tap';
import { type Logger, type ServerEvent } from '../../source/index.js';
import { createCa } from '../helpers/certificates.js';
import { LineClient } from '../helpers/line-client.js';
import { inet, v1Header, v2Header, whoami as whoamiWith } from '../helpers/proxy-header.js';
import { recordEvents, startServer } from '../helpers/server.js';

/** Answers each line with who the connection's peer is and what its PROXY header said: `<address>:<port> <version>/<command> <alpn> <line>`. */
const whoami = whoamiWith(({ peer, proxy }) => `${peer.address}:${peer.port} ${proxy?.version}/${proxy?.command} ${proxy?.alpn}`);

/** A raw client from `localAddress`. */
async function rawClient(port: number, localAddress: string): Promise<LineClient> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return LineClient.over(socket);
}

function failures(events: readonly ServerEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'proxy-failed' ? [event.reason] : []));
}

t.test('v1: the header and the first requests in one segment; the client is the peer', async (t) => {
  const server = await startServer(t, { proxyProtocol: true }, whoami);
  const client = await LineClient.open(server.address.port);
  client.send(Buffer.concat([v1Header('203.0.113.7', '10.0.0.1', 51234, 443), Buffer.from('one\ntwo\n')]));
  t.same(await client.readLines(2), ['203.0.113.7:51234 1/proxy undefined one', '203.0.113.7:51234 1/proxy undefined two']);
  client.close();
  t.match(server.snapshot().proxy, { headers: { v1: 1 }, local: 0, failures: {} });
});

t.test('a header split over several segments, the request in the last', async (t) => {
  const server = await startServer(t, { proxyProtocol: true }, whoami);
  const client = await LineClient.open(server.address.port);
  client.socket.setNoDelay(true);
  const bytes = Buffer.concat([v2Header({ addresses: inet('198.51.100.9', '10.0.0.1', 40000, 443), tlvs: [[0x01, Buffer.from('h2')]] }), Buffer.from('ping\n')]);
  for (const piece of [bytes.subarray(0, 5), bytes.subarray(5, 14), bytes.subarray(14, 30), bytes.subarray(30)]) {
    client.send(piece);
    await new Promise((resolve) => setTimeout(resolve, 20)); // each its own segment, each its own read
  }
  t.same(await client.readLines(1), ['198.51.100.9:40000 2/proxy h2 ping']);
  client.close();
});

t.test('what came with the header waits with the connection in the queue, and is its first chunk when served', async (t) => {
  const server = await startServer(t, { proxyProtocol: true, workers: 1 }, whoami);
  const recorder = recordEvents(server);
  const busy = await LineClient.open(server.address.port);
  busy.send(Buffer.concat([v1Header('192.0.2.1', '10.0.0.1', 1, 2), Buffer.from('busy\n')]));
  await busy.readLines(1);
  const waiting = await LineClient.open(server.address.port);
  waiting.send(Buffer.concat([v1Header('192.0.2.2', '10.0.0.1', 2, 2), Buffer.from('queued\n')]));
  await recorder.waitFor((event) => event.type === 'queued');
  busy.close();
  t.same(await waiting.readLines(1), ['192.0.2.2:2 1/proxy undefined queued']);
  waiting.close();
});

t.test('header, request and FIN in one write: the reply comes, and the connection ends as usual', async (t) => {
  const server = await startServer(t, { proxyProtocol: true }, whoami);
  const recorder = recordEvents(server);
  const client = await LineClient.open(server.address.port);
  client.socket.end(Buffer.concat([v1Header('192.0.2.1', '10.0.0.1', 1234, 443), Buffer.from('last words\n')]));
  t.equal((await client.readToEnd()).toString(), '192.0.2.1:1234 1/proxy undefined last words\n');
  await recorder.waitFor((event) => event.type === 'closed');
  t.same(recorder.closeReasons(), ['end']);
});

t.test('v2 LOCAL (a health check) and UNSPEC are served with the socket\'s own addresses', async (t) => {
  const server = await startServer(t, { proxyProtocol: true }, whoami);
  for (const header of [v2Header({ command: 0, familyTransport: 0 }), v2Header({ familyTransport: 0, addresses: Buffer.from('?') })]) {
    const client = await LineClient.open(server.address.port);
    client.send(Buffer.concat([header, Buffer.from('health\n')]));
    const [line] = await client.readLines(1);
    t.equal(line, `127.0.0.1:${client.socket.localPort} 2/${header[12] === 0x20 ? 'local' : 'proxy'} undefined health`);
    client.close();
  }
  t.match(server.snapshot().proxy, { headers: { v2: 2 }, local: 1 });
});

t.test('access control judges the client named by the header: --deny of its address, --max-conns-per-ip by it', async (t) => {
  const server = await startServer(t, { proxyProtocol: true, deny: ['203.0.113.0/24'], maxConnsPerIp: 1 }, whoami);
  const denied = await LineClient.open(server.address.port);
  denied.send(Buffer.concat([v1Header('203.0.113.7', '10.0.0.1', 1, 2), Buffer.from('let me in\n')]));
  t.equal((await denied.readToEnd()).toString(), '', 'closed unread, though its socket comes from 127.0.0.1');
  const first = await LineClient.open(server.address.port);
  first.send(Buffer.concat([v1Header('192.0.2.1', '10.0.0.1', 1, 2), Buffer.from('first\n')]));
  await first.readLines(1);
  const second = await LineClient.open(server.address.port);
  second.send(Buffer.concat([v1Header('192.0.2.1', '10.0.0.1', 3, 2), Buffer.from('second\n')]));
  t.equal((await second.readToEnd()).toString(), 'ERR too many connections\n', 'the same client through another proxy connection');
  const other = await LineClient.open(server.address.port);
  other.send(Buffer.concat([v1Header('192.0.2.2', '10.0.0.1', 1, 2), Buffer.from('other\n')]));
  t.same(await other.readLines(1), ['192.0.2.2:1 1/proxy undefined other'], 'another client, by the same proxy');
  t.same(server.snapshot().rejectReasons, { denied: 1, 'too-many-connections': 1 });
  first.close();
  other.close();
});

t.test('logs name the client as peer, and the proxy it came through', async (t) => {
  const records: Array<{ message: string; fields: Readonly<Record<string, unknown>> }> = [];
  const logger: Logger = { log: (_level, message, fields = {}) => records.push({ message, fields }) };
  const server = await startServer(t, { proxyProtocol: true, maxLine: 16, logger });
  const client = await LineClient.open(server.address.port);
  const proxyPort = client.socket.localPort;
  client.send(Buffer.concat([v1Header('203.0.113.7', '10.0.0.1', 5555, 443), Buffer.from(`${'x'.repeat(40)}\n`)]));
  t.match((await client.readToEnd()).toString(), /^ERR line too long/);
  const record = records.find(({ message }) => /too long/.test(message));
  t.match(record?.fields, { peer: '203.0.113.7:5555', proxy: `127.0.0.1:${proxyPort}` });
});

t.test('a peer outside the trusted proxies is closed unread', async (t) => {
  const server = await startServer(t, { proxyProtocol: { trustedProxies: ['127.0.0.1/32'] } }, whoami);
  const recorder = recordEvents(server);
  const untrusted = await rawClient(server.address.port, '127.0.0.2');
  untrusted.send(Buffer.concat([v1Header('192.0.2.1', '10.0.0.1', 1, 2), Buffer.from('hi\n')]));
  t.equal((await untrusted.readToEnd()).toString(), '');
  const trusted = await rawClient(server.address.port, '127.0.0.1');
  trusted.send(Buffer.concat([v1Header('192.0.2.1', '10.0.0.1', 1, 2), Buffer.from('hi\n')]));
  t.same(await trusted.readLines(1), ['192.0.2.1:1 1/proxy undefined hi']);
  trusted.close();
  t.same(failures(recorder.events), ['untrusted']);
  t.equal(recorder.events.filter((event) => event.type === 'opened').length, 1, 'the untrusted peer took no worker');
});

t.test('no header, a bad one, one cut short or too slow: closed, counted by reason', async (t) => {
  const server = await startServer(t, { proxyProtocol: { headerTimeout: 300 } }, whoami);
  const recorder = recordEvents(server);
  const cases: Array<[string, (client: LineClient) => void]> = [
    ['missing', (client) => client.send('GET / HTTP/1.1\r\n\r\n')],
    ['malformed', (client) => client.send('PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\nhi\n')],
    ['oversized', (client) => client.send(`PROXY TCP4 ${'1'.repeat(120)}`)],
    ['truncated', (client) => client.socket.end('PROXY TCP4 1.2.3.4 ')],
    ['timeout', (client) => client.send('PROXY TCP4 1.2.3.4 ')],
    ['timeout', () => {}],
  ];
  for (const [reason, act] of cases) {
    const client = await LineClient.open(server.address.port);
    const started = Date.now();
    act(client);
    t.equal((await client.readToEnd(3000)).toString(), '', `${reason}: closed without a word`);
    if (reason === 'timeout') t.ok(Date.now() - started >= 250, 'after the header timeout');
  }
  t.same(failures(recorder.events), cases.map(([reason]) => reason));
  t.same(server.snapshot().proxy?.failures, { missing: 1, malformed: 1, oversized: 1, truncated: 1, timeout: 2 });
  t.equal(recorder.events.filter((event) => event.type === 'opened').length, 0, 'none took a worker');
});

t.test('TLS: the header comes first on the raw socket, the handshake in the same segment after it', async (t) => {
  const ca = createCa(t);
  const issued = ca.issue('localhost', { dns: ['localhost'] });
  const server = await startServer(t, { proxyProtocol: true, tls: { cert: issued.cert, key: issued.key } }, whoami);
  // A TLS client over a stream that puts the header before its first write (the ClientHello): one write, one segment.
  const raw = connect(server.address.port, '127.0.0.1');
  await once(raw, 'connect');
  let header: Buffer | undefined = v2Header({ addresses: inet('203.0.113.9', '10.0.0.1', 6000, 443), tlvs: [[0x01, Buffer.from('h2')]] });
  const carrier = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      raw.write(header === undefined ? chunk : Buffer.concat([header, chunk]), done);
      header = undefined;
    },
    read() {},
    final(done) {
      raw.end(done);
    },
  });
  raw.on('data', (chunk) => carrier.push(chunk));
  raw.on('end', () => carrier.push(null));
  const tls = connectTls({ socket: carrier, ca: ca.cert, servername: 'localhost' });
  await once(tls, 'secureConnect');
  const client = LineClient.over(tls);
  client.send('secure\n');
  t.same(await client.readLines(1), ['203.0.113.9:6000 2/proxy h2 secure']);
  client.close();
  raw.destroy();
});

t.test('where the shared read buffer cannot take a socket, the header is read through Node\'s own path, nothing after it lost', async (t) => {
  const { createServer, Socket } = await import('node:net');
  const { ProxyProtocol, handOver, proxyInfo } = await import('../../source/transport/proxy-protocol.js');
  const { from } = await import('rxjs');
  class OwnSocket extends Socket {} // not a plain net.Socket: the shared read buffer leaves it alone
  const listener = createServer({ pauseOnConnect: true, allowHalfOpen: true });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  t.teardown(() => listener.close());
  const accepted = once(listener, 'connection') as Promise<[InstanceType<typeof Socket>]>;
  const client = await LineClient.open((listener.address() as { port: number }).port);
  const [socket] = await accepted;
  Object.setPrototypeOf(socket, OwnSocket.prototype);
  const events: ServerEvent[] = [];
  const stage = new ProxyProtocol({}, { events: { next: (event) => events.push(event) }, logger: { log() {} } });
  const read = new Promise<InstanceType<typeof Socket>>((resolve) => from([socket]).pipe(stage.headers()).subscribe(resolve));
  client.send(Buffer.concat([v1Header('192.0.2.1', '10.0.0.1', 1, 2), Buffer.from('first')]));
  const served = await read;
  t.equal(served, socket, 'the socket itself');
  t.match(proxyInfo(served)?.source, { address: '192.0.2.1', port: 1 });
  client.send(' second');
  let rest = handOver(served, served)!.toString();
  served.on('data', (chunk) => (rest += chunk));
  served.resume();
  for (const deadline = Date.now() + 3000; rest.length < 'first second'.length && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(rest, 'first second', 'what came with the header first, then what the socket reads');
  t.same(events, [{ type: 'proxy-header', version: 1, command: 'proxy' }]);
  served.destroy();
  client.close();
});
