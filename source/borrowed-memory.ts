/**
 * Memory that is lent to a protocol for the length of one call and reused
 * after it: the shared read buffer, and the pooled blocks that hold partial
 * frames. Frames and chunks that are views of it are *borrowed* (as a Netty
 * `ByteBuf` is until released): whoever keeps one past the call copies it,
 * as the writer does with a borrowed frame echoed unchanged.
 */
const lent = new WeakSet<ArrayBufferLike>();

/** Registers `memory` as reused between calls. */
export function lend(memory: ArrayBufferLike): void {
  lent.add(memory);
}

/** Whether `bytes` is a view of lent memory, so may be overwritten once the current call returns. */
export function isBorrowed(bytes: Uint8Array): boolean {
  return lent.has(bytes.buffer);
}
