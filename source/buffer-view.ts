/**
 * A `Buffer` over memory that already exists, made in ~20 ns where
 * `Buffer#subarray` takes 55–110 ns (it validates its arguments in
 * JavaScript; node microbenchmark, 10M calls). Frames and replies are made
 * once per request, so this counts at a million requests a second.
 *
 * It is Node's own `FastBuffer` recipe, which Node does not export: a
 * `Uint8Array` subclass whose prototype chain runs through
 * `Buffer.prototype`, so that instances are Buffers in every way
 * (`instanceof Buffer`, `Buffer.isBuffer`, every method).
 */
class BufferView extends Uint8Array {}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);

/** A Buffer over `length` bytes of `memory` from `offset`, sharing them. */
export function bufferView(memory: ArrayBufferLike, offset: number, length: number): Buffer {
  return new BufferView(memory as ArrayBuffer, offset, length) as unknown as Buffer;
}

/** `TypedArray#set`, held: see {@link copyBytes}. */
const typedArraySet = Uint8Array.prototype.set;

/**
 * Copies `length` bytes, all of `source`, into `target` at `offset`;
 * returns the offset after them. It is `target.set(source, offset)`
 * without looking `set` up on the target: on a {@link bufferView} that
 * lookup missed V8's inline cache every time on Node 20 (callgrind: a
 * ~175-instruction `LoadIC` call per copy, as much as the copy of a short
 * line itself; probably the rewired prototype chain).
 */
export function copyBytes(target: Uint8Array, offset: number, source: Uint8Array, length: number): number {
  typedArraySet.call(target, source, offset);
  return offset + length;
}
