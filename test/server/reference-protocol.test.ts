import t from 'tap';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

t.test('answers a line with an RFC 3339 UTC timestamp and the line', async (t) => {
  const { address } = await startServer(t);
  const client = await LineClient.open(address.port);
  const before = Date.now();
  client.send('hello world\n');
  const [reply] = await client.readLines(1);
  client.close();
  const match = ECHO_PREFIX.exec(reply!);
  t.ok(match, `reply has the reference format: ${reply}`);
  t.equal(reply!.slice(match![0].length), 'hello world');
  const stamped = Date.parse(match![1]!);
  t.ok(stamped >= before - 5 && stamped <= Date.now() + 5, 'timestamp is the current time');
  t.match(match![1]!, /\.\d{6}Z$/, 'fractional seconds to the microsecond');
});

t.test('answers 1,000 pipelined lines sent in one write, in order', async (t) => {
  const { address } = await startServer(t);
  const client = await LineClient.open(address.port);
  const requests = Array.from({ length: 1000 }, (_, i) => `request ${i}`);
  client.send(requests.map((line) => line + '\n').join(''));
  const replies = await client.readLines(1000);
  client.close();
  t.same(
    replies.map((reply) => reply.replace(ECHO_PREFIX, '')),
    requests,
  );
  t.ok(replies.every((reply) => ECHO_PREFIX.test(reply)), 'every reply has the prefix');
});

t.test('strips the \\r of CRLF line ends', async (t) => {
  const { address } = await startServer(t);
  const client = await LineClient.open(address.port);
  client.send('one\r\ntwo\r\n');
  const replies = await client.readLines(2);
  client.close();
  t.same(replies.map((reply) => reply.replace(ECHO_PREFIX, '')), ['one', 'two']);
  t.notOk(client.received.includes('\r'), 'no \\r comes back');
});

t.test('answers empty lines with an empty echo', async (t) => {
  const { address } = await startServer(t);
  const client = await LineClient.open(address.port);
  client.send('\n\r\nx\n');
  const replies = await client.readLines(3);
  client.close();
  t.same(replies.map((reply) => reply.replace(ECHO_PREFIX, '')), ['', '', 'x']);
});

t.test('answers a line split across many writes', async (t) => {
  const { address } = await startServer(t);
  const client = await LineClient.open(address.port);
  const line = 'x'.repeat(10_000);
  for (let i = 0; i < line.length; i += 999) {
    client.send(line.slice(i, i + 999));
    await new Promise((resolve) => setImmediate(resolve));
  }
  client.send('\n');
  const [reply] = await client.readLines(1);
  client.close();
  t.equal(reply!.replace(ECHO_PREFIX, ''), line);
});

t.test('serves 50 concurrent connections, each its own replies', async (t) => {
  const { address } = await startServer(t);
  const clients = await Promise.all(Array.from({ length: 50 }, () => LineClient.open(address.port)));
  clients.forEach((client, i) => client.send(`client ${i} a\nclient ${i} b\n`));
  const replies = await Promise.all(clients.map((client) => client.readLines(2)));
  clients.forEach((client) => client.close());
  replies.forEach((pair, i) => t.same(pair.map((reply) => reply.replace(ECHO_PREFIX, '')), [`client ${i} a`, `client ${i} b`]));
});

t.test('echoes invalid UTF-8 and NUL bytes exactly', async (t) => {
  const { address } = await startServer(t);
  const client = await LineClient.open(address.port);
  const payload = Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0x80, 0x41, 0xed, 0xa0, 0x80]);
  client.send(Buffer.concat([payload, Buffer.from('\n')]));
  await client.readLines(1);
  client.close();
  const [reply] = client.lines;
  const prefixLength = reply!.indexOf('] Echo: ') + '] Echo: '.length;
  t.same([...reply!.subarray(prefixLength)], [...payload], 'the bytes after the prefix are the bytes sent');
});

t.test('answers a client that half-closes after sending, then closes', async (t) => {
  const { address } = await startServer(t);
  const client = await LineClient.open(address.port);
  client.socket.end('first\nsecond\n');
  const everything = await client.readToEnd();
  const replies = everything.toString().trimEnd().split('\n');
  t.same(replies.map((reply) => reply.replace(ECHO_PREFIX, '')), ['first', 'second']);
});

t.test('answers ERR incomplete line when the input ends mid-line', async (t) => {
  const { address } = await startServer(t);
  const client = await LineClient.open(address.port);
  client.socket.end('whole\npartial');
  const replies = (await client.readToEnd()).toString().trimEnd().split('\n');
  t.equal(replies.length, 2);
  t.equal(replies[0]!.replace(ECHO_PREFIX, ''), 'whole');
  t.equal(replies[1], 'ERR incomplete line');
});

t.test('an over-long line gets ERR line too long and closes only that connection', async (t) => {
  const { address } = await startServer(t, { maxLine: 1024 });
  const bystander = await LineClient.open(address.port);
  const offender = await LineClient.open(address.port);
  offender.send('fine\n' + 'y'.repeat(5000) + '\n');
  const replies = (await offender.readToEnd()).toString().trimEnd().split('\n');
  t.same(
    replies.map((reply) => reply.replace(ECHO_PREFIX, '')),
    ['fine', 'ERR line too long'],
    'the reply before it, then the error, then close',
  );
  bystander.send('still here\n');
  const [reply] = await bystander.readLines(1);
  bystander.close();
  t.equal(reply!.replace(ECHO_PREFIX, ''), 'still here');
});

t.test('a line of exactly the maximum length is accepted', async (t) => {
  const { address } = await startServer(t, { maxLine: 1024 });
  const client = await LineClient.open(address.port);
  const line = 'z'.repeat(1024);
  client.send(line.slice(0, 500));
  await new Promise((resolve) => setTimeout(resolve, 20));
  client.send(line.slice(500) + '\r\n');
  const [reply] = await client.readLines(1);
  client.close();
  t.equal(reply!.replace(ECHO_PREFIX, ''), line);
});
