import { bufferView } from '../buffer-view.js';

/** Size of each slab replies are carved from: small, so that a reply stuck in a slow peer's socket pins little. */
const SLAB_SIZE = 16 * 1024;
/** Replies larger than this get memory of their own. */
const LARGEST_CARVED = 2 * 1024;

let slab = new ArrayBuffer(SLAB_SIZE);
let used = 0;

/**
 * The reply {@link allocateReply} carved last, with where it lies: the
 * writer, which is handed that very reply next in the common case, reads
 * its place from here instead of through the reply's TypedArray accessors
 * (`buffer` is a call into C++ on Node 20, ~130 instructions with
 * `byteOffset` and `byteLength`, once per request). It keeps no old slab
 * alive: the reply is in the current one.
 */
export const lastCarved: { reply: Uint8Array | undefined; memory: ArrayBuffer; offset: number; length: number } = {
  reply: undefined,
  memory: slab,
  offset: 0,
  length: 0,
};

/**
 * Memory for a reply, carved right after the previous one from a shared slab.
 *
 * The replies a protocol produces from one read therefore lie side by side,
 * and the writer sends the whole batch as one view of the slab, copying
 * nothing (it joins them into a new buffer otherwise). Like Node's own
 * `Buffer.allocUnsafe` pool, but without the 8-byte alignment gaps that
 * would keep neighbours apart.
 *
 * The contents are uninitialised: write every byte.
 */
export function allocateReply(size: number): Buffer {
  if (size > LARGEST_CARVED) return Buffer.allocUnsafe(size);
  if (used + size > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
    lastCarved.memory = slab;
  }
  const reply = bufferView(slab, used, size);
  // Not the slab too, per reply: storing a young object in this old one costs a write barrier (~50 instructions).
  lastCarved.reply = reply;
  lastCarved.offset = used;
  lastCarved.length = size;
  used += size;
  return reply;
}
