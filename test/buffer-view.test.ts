import t from 'tap';
import { bufferView, copyBytes } from '../source/buffer-view.js';

t.test('a view is a Buffer in every way, over the same memory', async (t) => {
  const memory = Buffer.from('hello, world');
  const view = bufferView(memory.buffer, memory.byteOffset + 7, 5);
  t.ok(view instanceof Buffer);
  t.ok(Buffer.isBuffer(view));
  t.equal(view.toString(), 'world');
  t.equal(view.toString('hex'), Buffer.from('world').toString('hex'));
  t.ok(view.equals(Buffer.from('world')));
  t.ok(Buffer.isBuffer(view.subarray(1)), 'its own views are Buffers too');
  memory[7] = 0x57; // 'W'
  t.equal(view.toString(), 'World', 'shares the memory, copies nothing');
});

t.test('copyBytes copies short and long sources alike, at the offset, and returns the offset after them', async (t) => {
  for (const length of [0, 1, 5, 32, 33, 1000]) {
    const source = Buffer.from(Array.from({ length }, (_, index) => (index * 7 + 1) & 0xff));
    const target = Buffer.alloc(length + 10, 0xee);
    t.equal(copyBytes(target, 3, source, length), 3 + length, `${length} bytes: the offset after them`);
    t.same(target.subarray(3, 3 + length), source, `${length} bytes: copied`);
    t.same([...target.subarray(0, 3), ...target.subarray(3 + length)], Array(10).fill(0xee), `${length} bytes: nothing else touched`);
  }
});
