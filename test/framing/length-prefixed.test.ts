import fc from 'fast-check';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import { lengthField, lengthPrefixed, type LengthPrefixedOptions } from '../../source/index.js';
import { decode } from '../helpers/framing.js';

const encode = async (options: LengthPrefixedOptions, bodies: Array<string | Uint8Array>): Promise<string[]> =>
  (await lastValueFrom(from(bodies).pipe(lengthPrefixed(options), toArray()))).map((reply) => reply.toString('hex'));
const hex = (text: string): string => Buffer.from(text).toString('hex');

t.test("prefixes each reply with its length (Netty's LengthFieldPrepender example)", async (t) => {
  t.same(await encode({ length: 2 }, ['HELLO, WORLD']), ['000c' + hex('HELLO, WORLD')]);
  t.same(await encode({ length: 2, includeHeader: true }, ['HELLO, WORLD']), ['000e' + hex('HELLO, WORLD')]);
});

t.test('little-endian, 3 and 8 bytes, text as UTF-8', async (t) => {
  t.same(await encode({ length: 3, byteOrder: 'little' }, ['é']), ['020000' + hex('é')]);
  t.same(await encode({ length: 8 }, [Buffer.of(1, 2)]), ['0000000000000002' + '0102']);
});

t.test('a reply too long for its field errors the stream', async (t) => {
  await t.rejects(encode({ length: 1 }, [Buffer.alloc(256)]), RangeError);
  await t.rejects(encode({ length: 1, includeHeader: true }, [Buffer.alloc(255)]), RangeError);
  t.same(await encode({ length: 1 }, [Buffer.alloc(255, 0)]), ['ff' + '00'.repeat(255)]);
});

t.test('property: what lengthPrefixed writes, lengthField reads back', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const, 8 as const),
      fc.constantFrom('big' as const, 'little' as const),
      fc.boolean(),
      fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }),
      async (length, byteOrder, includeHeader, bodies) => {
        const encoded = await lastValueFrom(from(bodies).pipe(lengthPrefixed({ length, byteOrder, includeHeader }), toArray()));
        const decoded = decode(lengthField({ length, byteOrder, adjustment: includeHeader ? -length : 0, strip: length }), [Buffer.concat(encoded)]);
        assert.deepEqual(decoded.frames.map((frame) => frame.toString('hex')), bodies.map((body) => Buffer.from(body).toString('hex')));
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random batches round-tripped');
});
