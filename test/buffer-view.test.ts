import t from 'tap';
import { bufferView } from '../source/buffer-view.js';

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
