import { concatMap, delay, map, of, pipe, type OperatorFunction } from 'rxjs';
import t from 'tap';
import { delimited, fixedLength, lengthField, lengthPrefixed, resp, respReply, type Protocol } from '../../source/index.js';
import { recordEvents, startServer } from '../helpers/server.js';
import { LineClient } from '../helpers/line-client.js';

/** Each codec, how a request is written for it, and how its frames read as text. */
const CODECS: Array<{ name: string; framing: OperatorFunction<Buffer, unknown>; request: (text: string) => Buffer; text: (frame: unknown) => string }> = [
  { name: 'delimited', framing: delimited(['\0', '\r\n']), request: (text) => Buffer.from(text + '\0'), text: String },
  { name: 'fixedLength', framing: fixedLength(8), request: (text) => Buffer.from(text.padEnd(8, '.')), text: (frame) => String(frame).replace(/\.+$/, '') },
  {
    name: 'lengthField',
    framing: lengthField({ length: 2, strip: 2 }),
    request: (text) => Buffer.concat([Buffer.of(0, text.length), Buffer.from(text)]),
    text: String,
  },
  {
    name: 'resp',
    framing: resp({ encoding: 'utf8' }),
    request: (text) => Buffer.from(`*2\r\n$4\r\nECHO\r\n$${text.length}\r\n${text}\r\n`),
    text: (frame) => (frame as string[]).join(' '),
  },
];

for (const codec of CODECS) {
  t.test(`${codec.name}: over a socket, with an asynchronous handler, a pipelined burst is taken no faster than the connection has room`, async (t) => {
    // Each frame waits in a delay: at maxPending 3 the framing must stop after 3 frames of the burst and resume later.
    const protocol: Protocol = pipe(
      codec.framing,
      concatMap((frame) => of(codec.text(frame)).pipe(delay(1))),
      map((text) => text + '\n'),
    );
    const server = await startServer(t, { maxPending: 3 }, protocol);
    const events = recordEvents(server);
    const client = await LineClient.open(server.address.port);
    const requests = Array.from({ length: 40 }, (_, i) => `req${i}`);
    client.send(Buffer.concat(requests.map(codec.request)));
    t.same(await client.readLines(40), codec.name === 'resp' ? requests.map((r) => `ECHO ${r}`) : requests, 'all answered, in order');
    const reads = events.events.flatMap((event) => (event.type === 'read' ? [event.frames] : []));
    t.ok(Math.max(...reads) <= 3, `no read handed more than 3 frames on (${reads.join(' ')})`);
    t.equal(reads.reduce((sum, frames) => sum + frames, 0), 40, 'every frame counted once');
    client.close();
  });
}

t.test('delimited: an over-long frame gets ERR frame too long and a close; others carry on', async (t) => {
  const server = await startServer(t, {}, pipe(delimited('\0', { maxLength: 16 }), map((frame) => `got ${frame}\n`)));
  const events = recordEvents(server);
  const bad = await LineClient.open(server.address.port);
  const good = await LineClient.open(server.address.port);
  bad.send('fine\0' + 'x'.repeat(100));
  t.equal((await bad.readToEnd()).toString(), 'got fine\nERR frame too long\n');
  good.send('still\0');
  t.same(await good.readLines(1), ['got still']);
  good.close();
  await events.waitFor((event) => event.type === 'closed' && event.reason === 'frame-too-long');
});

t.test('lengthField + lengthPrefixed: a binary echo, one byte per write', async (t) => {
  const echo = pipe(lengthField({ length: 4, adjustment: -4, strip: 4 }), lengthPrefixed({ length: 4, includeHeader: true }));
  const server = await startServer(t, {}, echo);
  const client = await LineClient.open(server.address.port);
  const frame = Buffer.concat([Buffer.of(0, 0, 0, 9), Buffer.from('hello')]);
  for (const byte of Buffer.concat([frame, frame])) {
    client.send(Buffer.of(byte));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await client.until(() => client.received.length >= 18, 5000, 'two replies');
  t.equal(client.received.toString('hex'), frame.toString('hex').repeat(2));
  client.close();
});

t.test('resp: a malformed command is answered with a RESP error, then the connection closes', async (t) => {
  const server = await startServer(t, {}, pipe(resp(), map(() => respReply.simple('OK'))));
  const events = recordEvents(server);
  const client = await LineClient.open(server.address.port);
  client.send('*1\r\n$4\r\nPING\r\n*1\r\n*1\r\n');
  t.equal((await client.readToEnd()).toString(), "+OK\r\n-ERR Protocol error: expected '$', got '*'\r\n");
  await events.waitFor((event) => event.type === 'closed' && event.reason === 'malformed-frame');
});
