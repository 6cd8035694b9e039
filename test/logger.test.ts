import { PassThrough } from 'node:stream';
import { map, pipe } from 'rxjs';
import t from 'tap';
import { jsonLogger, lines, ProtocolError, textLogger, type Logger } from '../source/index.js';
import { LineClient } from './helpers/line-client.js';
import { recordEvents, startServer } from './helpers/server.js';

/** A logger's output stream, read back as text. */
function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

/** Characters a terminal acts on: C0 controls, DEL, C1 controls (U+009B is a CSI by itself), line and paragraph separators. */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/;

const circular = (): object => {
  const object: Record<string, unknown> = { name: 'loop' };
  object['self'] = object;
  return object;
};

const hostile = {
  message: 'ERR unknown command a\x1b[2Jb\rc\nd\u009b31m\u2028e',
  error: new Error('bad \x1b]0;pwned\x07 input\nsecond line'),
  bytes: 'x\x1b[1;31my',
  circular: circular(),
  big: 12n,
  missing: undefined,
};
const shared = { twice: 'seen' };

for (const [name, make] of Object.entries({ text: textLogger, json: jsonLogger }) as Array<[string, (stream: PassThrough) => Logger]>) {
  t.test(`${name} logger: one line per record, control characters escaped, any value rendered`, async (t) => {
    const { stream, text } = capture();
    const logger = make(stream);
    logger.log('warn', hostile.message, { peer: '127.0.0.1:1', error: hostile.error, bytes: hostile.bytes, circular: hostile.circular, big: hostile.big, missing: hostile.missing, pair: [shared, shared] });
    logger.log('info', 'plain', { count: 3 });
    const output = text();
    const logged = output.split('\n');
    t.equal(logged.length, 3, 'two records, two lines');
    t.equal(logged[2], '', 'each ends with a newline');
    t.notMatch(output.replaceAll('\n', ''), CONTROL, 'no raw control character');
    t.match(logged[0], /ERR unknown command a/);
    t.match(logged[0], /\\u001b\[2J|\\x1b\[2J/, 'ESC shown escaped');
    t.match(logged[0], /loop/, 'a circular value rendered');
    t.match(logged[0], /12/, 'a BigInt rendered');
    t.match(logged[0], /\[\{\\?"twice\\?":\\?"seen\\?"\},\{\\?"twice\\?":\\?"seen\\?"\}\]/, 'an object twice, not in a cycle, written twice');
    t.match(logged[0], /second line/, 'the error with its stack');
    if (name === 'json') {
      const record = JSON.parse(logged[0]!) as Record<string, string>;
      t.equal(record['message'], hostile.message, 'JSON keeps the message exactly, escaped');
      t.match(record['error'], /^Error: bad \x1b]0;pwned\x07 input\nsecond line\n\s+at /);
      t.equal(record['bytes'], hostile.bytes);
    } else {
      t.match(logged[0], /^\S+ warn ERR unknown command a\\x1b\[2Jb\\rc\\nd\\x9b31m\\u2028e peer=127\.0\.0\.1:1 /);
      t.match(logged[0], / bytes="x\\u001b\[1;31my" /, 'a field value with a control character is quoted and escaped');
    }
  });
}

t.test('a peer whose bytes reach a ProtocolError message cannot forge log lines', async (t) => {
  const { stream, text } = capture();
  const refuse = pipe(
    lines(),
    map((line) => {
      throw new ProtocolError(`ERR unknown command ${line.toString().replaceAll('|', '\n')}\n`, 'bad-command');
    }),
  );
  const server = await startServer(t, { logger: textLogger(stream), metricsInterval: 0 }, refuse);
  const recorded = recordEvents(server);
  const client = await LineClient.open(server.address.port);
  client.send('x|2026-01-01T00:00:00.000Z info forged line\x1b[2J\r\n');
  await client.readToEnd();
  await recorded.waitFor((event) => event.type === 'closed');
  const logged = text().split('\n').filter((line) => line.includes('unknown command'));
  t.equal(logged.length, 1, 'one line');
  t.notOk(text().split('\n').some((line) => line.startsWith('2026-01-01')), 'no forged record');
  t.match(logged[0], /ERR unknown command x\\n2026-01-01T00:00:00\.000Z info forged line\\x1b\[2J peer=/);
  t.notMatch(text(), /\x1b/);
});

t.test('a handler that throws a value no logger can serialise costs only its connection', async (t) => {
  for (const make of [textLogger, jsonLogger]) {
    const { stream, text } = capture();
    const explode = pipe(
      lines(),
      map((line) => {
        if (line.toString() === 'loop') throw circular();
        throw 12n;
      }),
    );
    const server = await startServer(t, { logger: make(stream), metricsInterval: 0 }, explode);
    const recorded = recordEvents(server);
    for (const request of ['loop', 'big']) {
      const client = await LineClient.open(server.address.port);
      client.send(`${request}\n`);
      t.equal((await client.readToEnd()).toString(), 'ERR internal\n');
    }
    await recorded.waitFor((event) => recorded.closeReasons().length === 2 && event.type === 'closed');
    t.equal(text().match(/handler failed/g)?.length, 2, 'each logged');
    t.match(text(), /loop/);
  }
});
