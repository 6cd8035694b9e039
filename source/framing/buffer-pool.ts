import { lend } from '../borrowed-memory.js';

/**
 * A pool of fixed-size blocks shared by every connection of a process.
 *
 * Framing operators carry the unfinished tail of a frame in these blocks
 * between reads, so a server with 10,000 mostly idle connections holds a
 * block only for the connections that are in the middle of a frame, and
 * reuses the same few blocks instead of allocating per read.
 */
export class BufferPool {
  /** Size of every block, in bytes. */
  readonly blockSize: number;
  /** Most free blocks kept for reuse; blocks released beyond this are left to the GC. */
  readonly maxFree: number;
  readonly #free: Buffer[] = [];
  #created = 0;
  #inUse = 0;

  constructor({ blockSize = 4096, maxFree = 1024 }: { blockSize?: number; maxFree?: number } = {}) {
    this.blockSize = blockSize;
    this.maxFree = maxFree;
  }

  /** Takes a block; its contents are whatever the last user left there. */
  acquire(): Buffer {
    this.#inUse++;
    const block = this.#free.pop();
    if (block !== undefined) return block;
    this.#created++;
    // allocUnsafeSlow: a block of its own, not a slice of Node's shared 8 KiB slab,
    // so that a pooled block never pins unrelated memory and can be recognised as borrowed.
    const created = Buffer.allocUnsafeSlow(this.blockSize);
    lend(created.buffer);
    return created;
  }

  /** Gives a block back. Each acquired block must be released exactly once. */
  release(block: Buffer): void {
    this.#inUse--;
    if (this.#free.length < this.maxFree) this.#free.push(block);
  }

  /** Counts for metrics and leak checks: `inUse` is 0 when every frame has been completed or dropped. */
  stats(): { blockSize: number; created: number; free: number; inUse: number } {
    return { blockSize: this.blockSize, created: this.#created, free: this.#free.length, inUse: this.#inUse };
  }
}

/** The pool that framing operators use unless they are given another. */
export const defaultBufferPool = new BufferPool();
