import fc from 'fast-check';
import { Observable, type OperatorFunction } from 'rxjs';
import { lend } from '../../source/borrowed-memory.js';
import type { BufferPool } from '../../source/index.js';

/** What a framing operator made of some chunks: its frames, how it ended, and the most pooled blocks it held at once. */
export interface Decoded<T> {
  frames: T[];
  error: unknown;
  completed: boolean;
  /** Most blocks of `pool` in use at once, sampled after each chunk. */
  peakBlocks: number;
}

/**
 * Feeds `chunks` to `operator` the way the server's shared read buffer does:
 * each a view of one lent buffer that is overwritten as soon as the chunk
 * has been delivered. Frames that kept a view of it would show the garbage.
 */
export function decode<T>(operator: OperatorFunction<Buffer, T>, chunks: Buffer[], pool?: BufferPool): Decoded<T> {
  const size = Math.max(1, ...chunks.map((chunk) => chunk.length));
  const shared = Buffer.allocUnsafeSlow(size);
  lend(shared.buffer);
  const result: Decoded<T> = { frames: [], error: undefined, completed: false, peakBlocks: 0 };
  const source = new Observable<Buffer>((subscriber) => {
    for (const chunk of chunks) {
      if (subscriber.closed) return;
      chunk.copy(shared);
      subscriber.next(shared.subarray(0, chunk.length));
      shared.fill(0xee);
      if (pool !== undefined) result.peakBlocks = Math.max(result.peakBlocks, pool.stats().inUse);
    }
    subscriber.complete();
  });
  // Everything runs synchronously: by the time subscribe returns, the chunks are decoded.
  source.pipe(operator).subscribe({
    next: (frame) => result.frames.push(frame),
    error: (error) => (result.error = error),
    complete: () => (result.completed = true),
  });
  return result;
}

/** `input` cut at `cuts` (positions, taken modulo its length + 1). */
export function split(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, input.length]) {
    if (point > start) chunks.push(input.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** Cut points for {@link split}: from none to one per byte. */
export const cuts = (maxLength = 40): fc.Arbitrary<number[]> => fc.array(fc.nat(10_000), { maxLength });

/** Each frame's bytes as latin1 text: easy to compare and to read in a failure. */
export const texts = (frames: Uint8Array[]): string[] => frames.map((frame) => Buffer.from(frame).toString('latin1'));
