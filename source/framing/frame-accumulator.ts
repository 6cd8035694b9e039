import { bufferView } from '../buffer-view.js';
import type { BufferPool } from './buffer-pool.js';

/**
 * The unfinished start of a frame, carried between reads in pooled blocks.
 *
 * A frame that lies inside one chunk never comes here: the framing operator
 * hands out a view of the chunk. Only the tail of a chunk that ends mid-frame
 * is copied, into blocks taken from the pool one at a time as it grows, and
 * the blocks go back as soon as the frame is complete or dropped.
 */
export class FrameAccumulator {
  readonly #pool: BufferPool;
  /** Created with the first partial frame: a connection that never splits one holds none. */
  #blocks: Buffer[] | undefined;
  #length = 0;

  constructor(pool: BufferPool) {
    this.#pool = pool;
  }

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** The held byte at `index` (`0 <= index < length`): for decoders that read a header or a delimiter across reads. */
  at(index: number): number {
    const blockSize = this.#pool.blockSize;
    return this.#blocks![Math.floor(index / blockSize)]![index % blockSize]!;
  }

  /** Copies `chunk[start, end)` after what is held, growing by pooled blocks. */
  append(chunk: Buffer, start: number, end: number): void {
    const blockSize = this.#pool.blockSize;
    while (start < end) {
      const used = this.#length % blockSize;
      const blocks = (this.#blocks ??= []);
      if (used === 0) blocks.push(this.#pool.acquire());
      const block = blocks[blocks.length - 1]!;
      const copied = chunk.copy(block, used, start, Math.min(end, start + blockSize - used));
      start += copied;
      this.#length += copied;
    }
  }

  /**
   * The whole frame: what is held (something must be) followed by
   * `chunk[start, end)`, contiguous. A frame that is not `owned` and fits in
   * one block is a view of that block, valid until {@link release}; any
   * other is joined into a buffer of its own.
   */
  complete(chunk: Buffer, start: number, end: number, owned: boolean): Buffer {
    const total = this.#length + end - start;
    const blocks = this.#blocks!;
    if (!owned && total <= this.#pool.blockSize && blocks.length === 1) {
      const block = blocks[0]!;
      chunk.copy(block, this.#length, start, end);
      return bufferView(block.buffer, block.byteOffset, total);
    }
    const frame = Buffer.allocUnsafe(total);
    let offset = 0;
    for (const block of blocks) {
      offset += block.copy(frame, offset, 0, Math.min(this.#pool.blockSize, this.#length - offset));
    }
    chunk.copy(frame, offset, start, end);
    return frame;
  }

  /** Returns every block to the pool and forgets the frame. Safe to call when empty. */
  release(): void {
    if (this.#length === 0) return;
    const blocks = this.#blocks!;
    for (const block of blocks) this.#pool.release(block);
    blocks.length = 0;
    this.#length = 0;
  }
}
