import fc from 'fast-check';
import assert from 'node:assert/strict';
import t from 'tap';
import { BufferPool, fixedLength, IncompleteFrameError } from '../../source/index.js';
import { cuts, decode, split, texts } from '../helpers/framing.js';

t.test("frames of n bytes however the input is split (Netty's example)", async (t) => {
  const chunks = ['A', 'BC', 'DEFG', 'HI'].map((text) => Buffer.from(text));
  t.same(texts(decode(fixedLength(3), chunks).frames), ['ABC', 'DEF', 'GHI']);
});

t.test('a trailing part frame errors with IncompleteFrameError after the whole ones', async (t) => {
  const pool = new BufferPool();
  const { frames, error } = decode(fixedLength(4, { pool }), [Buffer.from('abcdef')], pool);
  t.same(texts(frames), ['abcd']);
  t.type(error, IncompleteFrameError);
  t.equal(pool.stats().inUse, 0);
});

t.test('refuses a length that is not a whole number of bytes', async (t) => {
  for (const length of [0, -1, 1.5, Number.NaN]) t.throws(() => fixedLength(length), RangeError);
});

t.test('property: any split gives the same frames, each of the length, holding less than one frame', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 40 }), cuts(), async (input, length, points) => {
      const pool = new BufferPool({ blockSize: 16 });
      const whole = Buffer.from(input);
      const got = decode(fixedLength(length, { pool }), split(whole, points), pool);
      const complete = Math.floor(whole.length / length);
      assert.deepEqual(
        texts(got.frames),
        Array.from({ length: complete }, (_, i) => whole.subarray(i * length, (i + 1) * length).toString('latin1')),
      );
      assert.equal(got.error instanceof IncompleteFrameError, whole.length % length !== 0);
      assert.ok(got.peakBlocks <= Math.ceil(length / 16));
      assert.equal(pool.stats().inUse, 0);
    }),
    { numRuns: 500 },
  );
  t.pass('500 random inputs framed exactly');
});
