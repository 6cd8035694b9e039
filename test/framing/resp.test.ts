import fc from 'fast-check';
import assert from 'node:assert/strict';
import t from 'tap';
import { BufferPool, FrameTooLongError, IncompleteFrameError, MalformedFrameError, ProtocolError, resp } from '../../source/index.js';
import { cuts, decode, split } from '../helpers/framing.js';

/** A command as clients send it: an array of bulk strings. */
const command = (...args: Array<string | Uint8Array>): Buffer =>
  Buffer.concat([
    Buffer.from(`*${args.length}\r\n`),
    ...args.flatMap((arg) => {
      const bytes = Buffer.from(arg);
      return [Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')];
    }),
  ]);

const strings = (input: string | Buffer, options: Parameters<typeof resp>[0] = {}) =>
  decode(resp({ ...options, encoding: 'latin1' }), [Buffer.from(input)]);

t.test('decodes arrays of bulk strings, pipelined, into commands of Buffers the pipeline keeps', async (t) => {
  const input = Buffer.concat([command('SET', 'key', 'a\r\nvalue'), command('GET', 'key'), command('PING')]);
  const { frames, completed } = decode(resp(), [input.subarray(0, 20), input.subarray(20)]);
  t.ok(completed);
  t.same(
    frames.map((args) => args.map(String)),
    [['SET', 'key', 'a\r\nvalue'], ['GET', 'key'], ['PING']],
    'intact although the read buffer was overwritten after each read',
  );
  t.ok(frames.every((args) => args.every((arg) => Buffer.isBuffer(arg))));
});

t.test('with an encoding, arguments are strings; latin1 keeps any byte', async (t) => {
  const { frames } = decode(resp({ encoding: 'latin1' }), [command('SET', Buffer.of(0, 0xff, 0x80), 'é')]);
  t.same(frames, [['SET', '\u0000\u00ff\u0080', Buffer.from('é').toString('latin1')]]);
  t.same(decode(resp({ encoding: 'utf8' }), [command('ECHO', 'héllo')]).frames, [['ECHO', 'héllo']]);
});

t.test("inline commands, split as Redis's sdssplitargs splits them", async (t) => {
  t.same(strings('PING\r\nECHO   hello  \n').frames, [['PING'], ['ECHO', 'hello']]);
  t.same(strings('SET "a b" "x\\x41\\n\\"y"\r\n').frames, [['SET', 'a b', 'xA\n"y']]);
  t.same(strings("SET 'it\\'s' 'a\\nb'\r\n").frames, [['SET', "it's", 'a\\nb']]);
  t.same(strings('SET ab"cd ef"\r\n').frames, [['SET', 'abcd ef']], 'a quote inside a word opens a quoted part, as in Redis');
  t.same(strings('\r\n\n  \r\n*0\r\n*-1\r\nPING\r\n').frames, [['PING']], 'empty commands are skipped');
});

t.test('protocol errors answer in Redis words and end the stream after the commands before them', async (t) => {
  const cases: Array<[string, string, typeof ProtocolError]> = [
    ['*1\r\n*1\r\n$4\r\nPING\r\n', "-ERR Protocol error: expected '$', got '*'\r\n", MalformedFrameError],
    ['*x\r\n', '-ERR Protocol error: invalid multibulk length\r\n', MalformedFrameError],
    ['*01\r\n', '-ERR Protocol error: invalid multibulk length\r\n', MalformedFrameError],
    ['*1\r\n$-1\r\n', '-ERR Protocol error: invalid bulk length\r\n', MalformedFrameError],
    ['*1\r\n$2\r\nabc\r\n', '-ERR Protocol error: expected CRLF after a bulk string\r\n', MalformedFrameError],
    ['*1\r\n$1\r', '-ERR Protocol error: unfinished command\r\n', IncompleteFrameError],
    ['SET "a\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n', MalformedFrameError],
    ['SET "a"b\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n', MalformedFrameError],
  ];
  for (const [input, reply, type] of cases) {
    const { frames, error } = strings('PING\r\n' + input);
    t.same(frames, [['PING']], JSON.stringify(input));
    t.type(error, type, JSON.stringify(input));
    t.equal((error as ProtocolError).reply, reply, JSON.stringify(input));
  }
});

t.test('limits: arguments, argument size, command size and inline size are refused as they are announced', async (t) => {
  const pool = new BufferPool({ blockSize: 16 });
  const many = decode(resp({ maxArrayLength: 3, pool }), [Buffer.from('*4\r\n')], pool);
  t.type(many.error, FrameTooLongError);
  t.equal((many.error as FrameTooLongError).reply, '-ERR Protocol error: invalid multibulk length\r\n');
  // The bulk's length alone is enough: none of its bytes is buffered.
  const big = decode(resp({ maxBulkLength: 100, pool }), [Buffer.from('*2\r\n$3\r\nSET\r\n$101\r\n'), Buffer.alloc(101)], pool);
  t.type(big.error, FrameTooLongError);
  t.equal((big.error as FrameTooLongError).reply, '-ERR Protocol error: invalid bulk length\r\n');
  t.ok(big.peakBlocks <= 2, 'only the header was held');
  const long = decode(resp({ maxLength: 40, pool }), [command('SET', 'k', 'v'.repeat(30))], pool);
  t.type(long.error, FrameTooLongError);
  t.equal((long.error as FrameTooLongError).reply, '-ERR Protocol error: too big request\r\n');
  const inline = decode(resp({ maxInlineLength: 32, pool }), [Buffer.from('x'.repeat(20)), Buffer.from('x'.repeat(20))], pool);
  t.type(inline.error, FrameTooLongError);
  t.equal((inline.error as FrameTooLongError).reply, '-ERR Protocol error: too big inline request\r\n');
  t.ok(inline.peakBlocks <= 2);
  t.equal(pool.stats().inUse, 0);
});

t.test('refuses nonsensical limits and unknown encodings', async (t) => {
  t.throws(() => resp({ maxBulkLength: 0 }), RangeError);
  t.throws(() => resp({ encoding: 'klingon' as BufferEncoding }), RangeError);
});

const arg = fc.uint8Array({ maxLength: 40 });
/** Inline-safe words: no blanks, quotes or NUL, so that the command is its words joined by spaces. */
const word = fc.stringMatching(/^[A-Za-z0-9:_.-]{1,12}$/);
const anyCommand = fc.oneof(
  fc.array(arg, { minLength: 1, maxLength: 6 }).map((args) => ({ bytes: command(...args), args: args.map((a) => Buffer.from(a).toString('latin1')) })),
  fc.array(word, { minLength: 1, maxLength: 6 }).map((words) => ({ bytes: Buffer.from(words.join(' ') + '\r\n'), args: words })),
);

t.test('property: any batch of commands, split anywhere, decodes to the same commands', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(anyCommand, { maxLength: 12 }), cuts(), async (commands, points) => {
      const pool = new BufferPool({ blockSize: 16 });
      const input = Buffer.concat(commands.map((c) => c.bytes));
      const got = decode(resp({ encoding: 'latin1', pool }), split(input, points), pool);
      assert.ok(got.completed, `completed, not ${got.error}`);
      assert.deepEqual(got.frames, commands.map((c) => c.args));
      const asBuffers = decode(resp({ pool }), split(input, points), pool);
      assert.deepEqual(asBuffers.frames.map((args) => args.map((a) => a.toString('latin1'))), commands.map((c) => c.args));
      assert.equal(pool.stats().inUse, 0);
    }),
    { numRuns: 500 },
  );
  t.pass('500 random batches decoded exactly');
});

t.test('property: any mix of valid and broken RESP, split anywhere, decodes as it does whole, within its limits', async (t) => {
  const token = fc.oneof(
    anyCommand.map((c) => c.bytes),
    fc.constantFrom('*', '$', '\r\n', '\n', '*-1\r\n', '*2\r\n', '$3\r\n', '$-5\r\n', '*99\r\n', '$9999\r\n', '"', "'", '\\x4', ' ', '\0').map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
  );
  const limits = { maxArrayLength: 8, maxBulkLength: 64, maxLength: 128, maxInlineLength: 64 };
  await fc.assert(
    fc.asyncProperty(fc.array(token, { maxLength: 20 }), cuts(), async (tokens, points) => {
      const input = Buffer.concat(tokens);
      const pool = new BufferPool({ blockSize: 16 });
      const once = decode(resp({ ...limits, encoding: 'latin1' }), [input]);
      const got = decode(resp({ ...limits, encoding: 'latin1', pool }), split(input, points), pool);
      assert.deepEqual(got.frames, once.frames);
      assert.equal(got.error?.constructor, once.error?.constructor);
      assert.equal((got.error as ProtocolError | undefined)?.reply, (once.error as ProtocolError | undefined)?.reply);
      assert.ok(got.error === undefined || got.error instanceof ProtocolError, `a ProtocolError, not ${got.error}`);
      assert.ok(got.peakBlocks * 16 <= limits.maxLength + 32, `held ${got.peakBlocks} blocks`);
      assert.equal(pool.stats().inUse, 0);
    }),
    { numRuns: 1000 },
  );
  t.pass('1000 random inputs decoded alike however split');
});
