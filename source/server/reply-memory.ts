import { bufferView } from '../buffer-view.js';

/** Size of each slab replies are carved from: small, so that a reply stuck in a slow peer's socket pins little. */
const SLAB_SIZE = 16 * 1024;
/** Replies larger than this get memory of their own. */
const LARGEST_CARVED = 2 * 1024;

let slab = new ArrayBuffer(SLAB_SIZE);
let used = 0;

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
  }
  const reply = bufferView(slab, used, size);
  used += size;
  return reply;
}
