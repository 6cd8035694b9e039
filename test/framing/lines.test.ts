import fc from 'fast-check';
import assert from 'node:assert/strict';
import { concat, from, NEVER, of } from 'rxjs';
import t from 'tap';
import { BufferPool, FrameTooLongError, IncompleteFrameError, lines } from '../../source/index.js';

/** Runs `chunks` through `lines`, copying each borrowed frame as it is delivered. */
async function frame(chunks: Buffer[], maxLength: number, pool = new BufferPool()): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  await new Promise<void>((resolve, reject) =>
    from(chunks)
      .pipe(lines({ maxLength, pool }))
      .subscribe({ next: (line) => frames.push(Buffer.from(line)), complete: resolve, error: reject }),
  );
  return frames;
}

const text = (frames: Buffer[]): string[] => frames.map((line) => line.toString());

t.test('splits on \\n and drops a \\r before it', async (t) => {
  t.same(text(await frame([Buffer.from('a\nb\r\n\nc\r\r\n')], 100)), ['a', 'b', '', 'c\r']);
});

t.test('joins a line that spans chunks', async (t) => {
  t.same(text(await frame([Buffer.from('he'), Buffer.from('ll'), Buffer.from('o\nwor'), Buffer.from('ld\n')], 100)), [
    'hello',
    'world',
  ]);
});

t.test('a \\r\\n split between chunks is still one line end', async (t) => {
  t.same(text(await frame([Buffer.from('abc\r'), Buffer.from('\ndef\n')], 100)), ['abc', 'def']);
});

t.test('delivers a frame inside one chunk as a view, without copying', async (t) => {
  const chunk = Buffer.from('one\ntwo\n');
  const views: Buffer[] = [];
  from([chunk])
    .pipe(lines())
    .subscribe((line) => views.push(line));
  t.equal(views[0]!.buffer, chunk.buffer, 'same memory as the chunk');
  t.equal(views[1]!.byteOffset, chunk.byteOffset + 4);
});

t.test('a line longer than the pool block grows by pooled blocks and returns them', async (t) => {
  const pool = new BufferPool({ blockSize: 16 });
  const line = 'x'.repeat(100);
  const chunks = line.match(/.{1,7}/g)!.map((part) => Buffer.from(part));
  t.same(text(await frame([...chunks, Buffer.from('\n')], 1000, pool)), [line]);
  t.equal(pool.stats().inUse, 0, 'every block went back');
  t.ok(pool.stats().created >= 7, 'the partial line took several blocks');
});

t.test('a line over the maximum errors with FrameTooLongError after the lines before it', async (t) => {
  const frames: string[] = [];
  const error = await new Promise((resolve) =>
    from([Buffer.from('ok\n' + 'x'.repeat(11) + '\n')])
      .pipe(lines({ maxLength: 10 }))
      .subscribe({ next: (line) => frames.push(line.toString()), error: resolve }),
  );
  t.same(frames, ['ok']);
  t.type(error, FrameTooLongError);
  t.equal((error as FrameTooLongError).reply, 'ERR line too long\n');
});

t.test('an over-long line is refused before its end arrives, without buffering it', async (t) => {
  const pool = new BufferPool({ blockSize: 16 });
  const error = await new Promise((resolve) =>
    from([Buffer.from('x'.repeat(8)), Buffer.from('x'.repeat(8)), Buffer.from('never\n')])
      .pipe(lines({ maxLength: 10, pool }))
      .subscribe({ error: resolve }),
  );
  t.type(error, FrameTooLongError);
  t.equal(pool.stats().inUse, 0);
});

t.test('input ending mid-line errors with IncompleteFrameError', async (t) => {
  const pool = new BufferPool();
  const error = await new Promise((resolve) =>
    from([Buffer.from('a\npart')])
      .pipe(lines({ pool }))
      .subscribe({ error: resolve }),
  );
  t.type(error, IncompleteFrameError);
  t.equal(pool.stats().inUse, 0);
});

t.test('unsubscribing mid-line returns the pooled blocks', async (t) => {
  const pool = new BufferPool();
  const subscription = concat(of(Buffer.from('partial')), NEVER).pipe(lines({ pool })).subscribe();
  t.equal(pool.stats().inUse, 1, 'the partial line holds a block');
  subscription.unsubscribe();
  t.equal(pool.stats().inUse, 0);
});

t.test('property: random bytes split at random points frame like a reference splitter', async (t) => {
  const maxLength = 64;
  const pool = new BufferPool({ blockSize: 16 });
  const byte = fc.oneof(fc.constantFrom(0x0a, 0x0d, 0x00), fc.integer({ min: 0, max: 255 }));
  await fc.assert(
    fc.asyncProperty(fc.array(byte, { maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 20 }), async (bytes, cuts) => {
      const input = Buffer.from(bytes);
      const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...points, input.length].slice(1).map((end, i, ends) => input.subarray(i === 0 ? 0 : ends[i - 1], end));
      const frames: Buffer[] = [];
      let failure: unknown;
      await new Promise<void>((resolve) =>
        from(chunks)
          .pipe(lines({ maxLength, pool }))
          .subscribe({
            next: (line) => frames.push(Buffer.from(line)),
            error: (error) => ((failure = error), resolve()),
            complete: resolve,
          }),
      );
      // The reference: split the whole input at once.
      const expected = input.toString('latin1').split('\n');
      const tail = expected.pop()!;
      const wanted = expected.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
      const firstTooLong = wanted.findIndex((line) => line.length > maxLength);
      const got = frames.map((f) => f.toString('latin1'));
      if (firstTooLong !== -1) {
        assert.ok(failure instanceof FrameTooLongError, 'an over-long line is refused');
        assert.deepEqual(got, wanted.slice(0, firstTooLong), 'the lines before it are delivered');
      } else if (tail.length > maxLength + 1) {
        assert.ok(failure instanceof FrameTooLongError, 'an over-long tail is refused');
        assert.deepEqual(got, wanted);
      } else {
        assert.deepEqual(got, wanted, 'frames joined equal the input');
        assert.equal(failure instanceof IncompleteFrameError, tail.length > 0, 'an unfinished tail is reported');
      }
      assert.ok(frames.every((f) => f.length <= maxLength), 'no frame over the limit');
      assert.equal(pool.stats().inUse, 0, 'every pooled block returned');
    }),
    { numRuns: 500 },
  );
  t.pass('500 random inputs framed exactly');
});
