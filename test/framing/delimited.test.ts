import fc from 'fast-check';
import assert from 'node:assert/strict';
import { concat, NEVER, of } from 'rxjs';
import t from 'tap';
import { BufferPool, delimited, FrameTooLongError, IncompleteFrameError } from '../../source/index.js';
import { cuts, decode, split, texts } from '../helpers/framing.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

t.test('splits at a NUL delimiter and strips it', async (t) => {
  const { frames, completed } = decode(delimited('\0'), [bytes('one\0two\0\0three\0')]);
  t.same(texts(frames), ['one', 'two', '', 'three']);
  t.ok(completed);
});

t.test('keeps the delimiter with stripDelimiter: false', async (t) => {
  t.same(texts(decode(delimited('\r\n', { stripDelimiter: false }), [bytes('a\r\nb\r\n')]).frames), ['a\r\n', 'b\r\n']);
});

t.test("of several delimiters the shortest frame wins (Netty's example)", async (t) => {
  const lineDelimiters = delimited(['\r\n', '\n']);
  t.same(texts(decode(lineDelimiters, [bytes('ABC\nDEF\r\n')]).frames), ['ABC', 'DEF']);
  // Given in the other order, the result is the same: `\r\n` ends where `\n` does, and is longer.
  t.same(texts(decode(delimited(['\n', '\r\n']), [bytes('ABC\r\nDEF\n')]).frames), ['ABC', 'DEF']);
});

t.test('a delimiter split between reads, even across several, is found', async (t) => {
  const chunks = [bytes('abc<'), bytes('E'), bytes('N'), bytes('D>def<EN'), bytes('D>')];
  t.same(texts(decode(delimited('<END>'), chunks).frames), ['abc', 'def']);
  // A held byte that only looks like a delimiter's start is part of the frame.
  t.same(texts(decode(delimited('<END>'), [bytes('a<EN'), bytes('X<END>')]).frames), ['a<ENX']);
});

t.test('frames are the pipeline to keep: the read buffer is overwritten after each read', async (t) => {
  const { frames } = decode(delimited('\n'), [bytes('first\nsec'), bytes('ond\nthird\n')]);
  t.same(texts(frames), ['first', 'second', 'third']);
});

t.test('a frame over maxLength errors with FrameTooLongError after the frames before it', async (t) => {
  const { frames, error } = decode(delimited('\0', { maxLength: 3 }), [bytes('abc\0abcd\0')]);
  t.same(texts(frames), ['abc']);
  t.type(error, FrameTooLongError);
  t.equal((error as FrameTooLongError).reply, 'ERR frame too long\n');
});

t.test('an over-long frame is refused before its delimiter arrives, holding no more than the limit', async (t) => {
  const pool = new BufferPool({ blockSize: 16 });
  const chunks = Array.from({ length: 100 }, () => bytes('x'.repeat(10)));
  const { error, peakBlocks } = decode(delimited('\r\n', { maxLength: 64, pool }), chunks, pool);
  t.type(error, FrameTooLongError);
  t.ok(peakBlocks <= 5, `held ${peakBlocks} blocks of 16 bytes for a limit of 64 (+1 for a split delimiter)`);
  t.equal(pool.stats().inUse, 0);
});

t.test('input ending mid-frame errors with IncompleteFrameError; every block goes back', async (t) => {
  const pool = new BufferPool();
  const { frames, error } = decode(delimited('\0', { pool }), [bytes('done\0half')], pool);
  t.same(texts(frames), ['done']);
  t.type(error, IncompleteFrameError);
  t.equal((error as IncompleteFrameError).reply, 'ERR incomplete frame\n');
  t.equal(pool.stats().inUse, 0);
});

t.test('unsubscribing mid-frame returns the pooled blocks', async (t) => {
  const pool = new BufferPool();
  const subscription = concat(of(bytes('partial')), NEVER).pipe(delimited('\0', { pool })).subscribe();
  t.equal(pool.stats().inUse, 1);
  subscription.unsubscribe();
  t.equal(pool.stats().inUse, 0);
});

t.test('borrowed: true hands out views of the chunk', async (t) => {
  const chunk = bytes('a\0b\0');
  const views: Buffer[] = [];
  of(chunk)
    .pipe(delimited('\0', { borrowed: true }))
    .subscribe((frame) => views.push(frame));
  t.equal(views[1]!.buffer, chunk.buffer);
  t.equal(views[1]!.byteOffset, chunk.byteOffset + 2);
});

t.test('refuses no delimiter, an empty one, or a negative maxLength', async (t) => {
  t.throws(() => delimited([]), RangeError);
  t.throws(() => delimited(''), RangeError);
  t.throws(() => delimited('\0', { maxLength: -1 }), RangeError);
});

/** The reference: the whole input at once, byte by byte; a frame ends where a delimiter ends first, the longest one there. */
function reference(input: Buffer, delimiters: Buffer[], maxLength: number, strip: boolean): { frames: string[]; error: 'too-long' | 'incomplete' | undefined } {
  const longest = Math.max(...delimiters.map((d) => d.length));
  const frames: string[] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    let found: Buffer | undefined;
    for (const d of delimiters) {
      const begin = i + 1 - d.length;
      if (begin >= start && input.subarray(begin, i + 1).equals(d) && (found === undefined || d.length > found.length)) found = d;
    }
    if (found === undefined) continue;
    if (i + 1 - found.length - start > maxLength) return { frames, error: 'too-long' };
    frames.push(input.subarray(start, strip ? i + 1 - found.length : i + 1).toString('latin1'));
    start = i + 1;
  }
  const tail = input.length - start;
  return { frames, error: tail > maxLength + longest - 1 ? 'too-long' : tail > 0 ? 'incomplete' : undefined };
}

t.test('property: any split of any input frames as the reference does, holding at most the limit', async (t) => {
  // A small alphabet so that delimiters, and near-misses of them, are frequent.
  const alphabet = fc.constantFrom(0x00, 0x0a, 0x0d, 0x61, 0x62);
  const delimiter = fc.uint8Array({ minLength: 1, maxLength: 4 }).map((d) => Buffer.from(d.map((b) => [0x00, 0x0a, 0x0d, 0x61, 0x62][b % 5]!)));
  await fc.assert(
    fc.asyncProperty(
      fc.array(alphabet, { maxLength: 400 }),
      fc.array(delimiter, { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 40 }),
      fc.boolean(),
      cuts(),
      async (input, delimiters, maxLength, strip, points) => {
        const pool = new BufferPool({ blockSize: 16 });
        const whole = Buffer.from(input);
        const got = decode(delimited(delimiters, { maxLength, stripDelimiter: strip, pool }), split(whole, points), pool);
        const expected = reference(whole, delimiters, maxLength, strip);
        assert.deepEqual(texts(got.frames), expected.frames);
        if (expected.error === 'too-long') assert.ok(got.error instanceof FrameTooLongError, `FrameTooLongError, not ${got.error}`);
        else if (expected.error === 'incomplete') assert.ok(got.error instanceof IncompleteFrameError, `IncompleteFrameError, not ${got.error}`);
        else assert.ok(got.completed && got.error === undefined, `completed, not ${got.error}`);
        const longest = Math.max(...delimiters.map((d) => d.length));
        assert.ok(got.peakBlocks * 16 <= maxLength + longest - 1 + 16, `held ${got.peakBlocks} blocks`);
        assert.equal(pool.stats().inUse, 0, 'every block returned');
      },
    ),
    { numRuns: 1000 },
  );
  t.pass('1000 random inputs, delimiter sets and splits framed as the reference does');
});
