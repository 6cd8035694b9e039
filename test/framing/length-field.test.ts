import fc from 'fast-check';
import assert from 'node:assert/strict';
import t from 'tap';
import { BufferPool, FrameTooLongError, IncompleteFrameError, lengthField, MalformedFrameError, type LengthFieldOptions } from '../../source/index.js';
import { cuts, decode, split } from '../helpers/framing.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const HELLO = Buffer.from('HELLO, WORLD').toString('hex');

/** Each case of LengthFieldBasedFrameDecoder's documentation, fed whole and one byte at a time. */
const NETTY_CASES: Array<{ name: string; options: LengthFieldOptions; input: string; output: string }> = [
  { name: '2 bytes length field at offset 0, do not strip header', options: { offset: 0, length: 2, adjustment: 0, strip: 0 }, input: `000C ${HELLO}`, output: `000C ${HELLO}` },
  { name: '2 bytes length field at offset 0, strip header', options: { offset: 0, length: 2, adjustment: 0, strip: 2 }, input: `000C ${HELLO}`, output: HELLO },
  {
    name: '2 bytes length field at offset 0, do not strip header, the length field represents the length of the whole message',
    options: { offset: 0, length: 2, adjustment: -2, strip: 0 },
    input: `000E ${HELLO}`,
    output: `000E ${HELLO}`,
  },
  { name: '3 bytes length field at the end of 5 bytes header, do not strip header', options: { offset: 2, length: 3, adjustment: 0, strip: 0 }, input: `CAFE 00000C ${HELLO}`, output: `CAFE 00000C ${HELLO}` },
  {
    name: '3 bytes length field at the beginning of 5 bytes header, do not strip header',
    options: { offset: 0, length: 3, adjustment: 2, strip: 0 },
    input: `00000C CAFE ${HELLO}`,
    output: `00000C CAFE ${HELLO}`,
  },
  { name: '2 bytes length field at offset 1 in the middle of 4 bytes header, strip the first header field and the length field', options: { offset: 1, length: 2, adjustment: 1, strip: 3 }, input: `CA 000C FE ${HELLO}`, output: `FE ${HELLO}` },
  {
    name: '2 bytes length field at offset 1 in the middle of 4 bytes header, strip the first header field and the length field, the length field represents the length of the whole message',
    options: { offset: 1, length: 2, adjustment: -3, strip: 3 },
    input: `CA 0010 FE ${HELLO}`,
    output: `FE ${HELLO}`,
  },
];

for (const { name, options, input, output } of NETTY_CASES) {
  t.test(`Netty's case: ${name}`, async (t) => {
    const bytes = hex(input);
    const twice = Buffer.concat([bytes, bytes]);
    t.same(decode(lengthField(options), [twice]).frames.map((frame) => frame.toString('hex')), [output, output].map((o) => o.replace(/\s+/g, '').toLowerCase()));
    const oneByOne = [...twice].map((byte) => Buffer.of(byte));
    t.same(decode(lengthField(options), oneByOne).frames.map((frame) => frame.toString('hex')), [output, output].map((o) => o.replace(/\s+/g, '').toLowerCase()));
  });
}

t.test('byte order and field sizes: little-endian, 1, 4 and 8 bytes', async (t) => {
  t.same(decode(lengthField({ length: 2, byteOrder: 'little', strip: 2 }), [hex('0300 616263')]).frames.map(String), ['abc']);
  t.same(decode(lengthField({ length: 1, strip: 1 }), [hex('02 6869 00')]).frames.map(String), ['hi', '']);
  t.same(decode(lengthField({ length: 4, strip: 4 }), [hex('00000001 7a')]).frames.map(String), ['z']);
  t.same(decode(lengthField({ length: 8, byteOrder: 'little', strip: 8 }), [hex('0100000000000000 7a')]).frames.map(String), ['z']);
});

t.test('a frame over maxFrameLength is refused at its length field, buffering nothing (failFast)', async (t) => {
  const pool = new BufferPool({ blockSize: 16 });
  const { frames, error } = decode(lengthField({ length: 2, strip: 2, maxFrameLength: 10, pool }), [hex('0001 61 00FF'), Buffer.alloc(100)], pool);
  t.same(frames.map(String), ['a']);
  t.type(error, FrameTooLongError);
  t.equal((error as FrameTooLongError).reply, 'ERR frame too long\n');
  t.equal(pool.stats().created, 0, 'no block was ever taken');
});

t.test('failFast: false refuses it once its last byte has arrived, holding none of it', async (t) => {
  const pool = new BufferPool({ blockSize: 16 });
  const options = { length: 2, strip: 2, maxFrameLength: 10, failFast: false, pool } as const;
  const early = decode(lengthField(options), [hex('0001 61 0014'), Buffer.alloc(19)], pool);
  t.same(early.frames.map(String), ['a']);
  t.type(early.error, IncompleteFrameError, 'one byte short: still skipping it when the input ended');
  const done = decode(lengthField(options), [hex('0014'), Buffer.alloc(10), Buffer.alloc(10), hex('0001 61')], pool);
  t.type(done.error, FrameTooLongError, 'refused as its 20th byte arrives');
  t.equal(done.peakBlocks, 0, 'nothing of it held');
  t.equal(pool.stats().inUse, 0);
});

t.test('malformed lengths: shorter than the header, than the bytes to strip, or negative', async (t) => {
  const shorter = decode(lengthField({ length: 2, adjustment: -3 }), [hex('0001 61')]);
  t.type(shorter.error, MalformedFrameError);
  t.match((shorter.error as MalformedFrameError).reply, /^ERR malformed frame: length 0 is shorter than the header \(2\)\n$/);
  t.type(decode(lengthField({ length: 1, strip: 3 }), [hex('01 61')]).error, MalformedFrameError);
  t.type(decode(lengthField({ length: 8, maxFrameLength: 100 }), [hex('FFFFFFFFFFFFFFFF')]).error, MalformedFrameError);
});

t.test('refuses impossible layouts', async (t) => {
  t.throws(() => lengthField({ length: 5 as 4 }), RangeError);
  t.throws(() => lengthField({ offset: -1 }), RangeError);
  t.throws(() => lengthField({ offset: 10, length: 4, maxFrameLength: 12 }), RangeError);
});

const layout = fc.record({
  offset: fc.integer({ min: 0, max: 3 }),
  length: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const, 8 as const),
  includeHeader: fc.boolean(),
  byteOrder: fc.constantFrom('big' as const, 'little' as const),
  strip: fc.boolean(),
});

t.test('property: frames written with any layout, split anywhere, come back exactly', async (t) => {
  await fc.assert(
    fc.asyncProperty(layout, fc.array(fc.uint8Array({ maxLength: 60 }), { maxLength: 8 }), cuts(), async ({ offset, length, includeHeader, byteOrder, strip }, bodies, points) => {
      const header = offset + length;
      const frames = bodies.map((body) => {
        const frame = Buffer.alloc(header + body.length, 0xab);
        let value = body.length + (includeHeader ? header : 0);
        for (let i = 0; i < length; i++) {
          frame[offset + (byteOrder === 'little' ? i : length - 1 - i)] = value % 256;
          value = Math.floor(value / 256);
        }
        frame.set(body, header);
        return frame;
      });
      const pool = new BufferPool({ blockSize: 16 });
      const options = { offset, length, byteOrder, adjustment: includeHeader ? -header : 0, strip: strip ? header : 0, maxFrameLength: 200, pool };
      const got = decode(lengthField(options), split(Buffer.concat(frames), points), pool);
      assert.ok(got.completed, `completed, not ${got.error}`);
      assert.deepEqual(
        got.frames.map((frame) => frame.toString('hex')),
        frames.map((frame) => (strip ? frame.subarray(header) : frame).toString('hex')),
      );
      assert.equal(pool.stats().inUse, 0);
    }),
    { numRuns: 500 },
  );
  t.pass('500 random streams of frames decoded exactly');
});

t.test('property: any bytes, split anywhere, decode as they do whole, never holding past maxFrameLength', async (t) => {
  await fc.assert(
    fc.asyncProperty(layout, fc.uint8Array({ maxLength: 300 }), fc.integer({ min: -8, max: 8 }), fc.boolean(), cuts(), async ({ offset, length, byteOrder }, input, adjustment, failFast, points) => {
      const maxFrameLength = 40;
      const whole = Buffer.from(input);
      const make = (pool: BufferPool) => lengthField({ offset, length, byteOrder, adjustment, maxFrameLength, failFast, pool });
      const pool = new BufferPool({ blockSize: 16 });
      const once = decode(make(new BufferPool()), [whole]);
      const got = decode(make(pool), split(whole, points), pool);
      assert.deepEqual(got.frames.map((f) => f.toString('hex')), once.frames.map((f) => f.toString('hex')));
      assert.equal(got.error?.constructor, once.error?.constructor);
      assert.ok(got.frames.every((frame) => frame.length <= maxFrameLength));
      assert.ok(got.peakBlocks * 16 <= maxFrameLength + 16, `held ${got.peakBlocks} blocks`);
      assert.equal(pool.stats().inUse, 0);
    }),
    { numRuns: 500 },
  );
  t.pass('500 random inputs framed alike however split');
});
