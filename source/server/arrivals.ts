/**
 * The requests of a connection not yet settled (answered, or declared done),
 * oldest first: how many, how many bytes they came in, and when they arrived
 * (for reply latency). Frames decoded from one read share an entry, a run,
 * so a pipelined burst of 1,000 requests costs one entry, not 1,000.
 *
 * The oldest run is kept inline: replies are written as each read ends, so
 * a connection rarely has a second run waiting, and the 10,000 connections
 * of a server hold no arrays for it. Later runs wait in `#later`, which is
 * dropped once drained.
 */
export class Arrivals {
  /** Requests recorded in all, and settled in all: the first `#settled` are done. */
  #received = 0;
  #settled = 0;
  /** The oldest run not wholly settled: when it arrived, the request count it ends at, its bytes. */
  #time = 0;
  #end = 0;
  #bytes = 0;
  /** Runs after the oldest, as `time, end, bytes` triples from `#head`. */
  #later: number[] | undefined;
  #head = 0;
  #pendingBytes = 0;

  /** Requests not yet settled. */
  get pending(): number {
    return this.#received - this.#settled;
  }

  /** Bytes of the reads whose requests are not all settled yet. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** `count` requests arrived at `time`, in `bytes` bytes. */
  add(time: number, count: number, bytes: number): void {
    if (count <= 0) return;
    this.#received += count;
    this.#pendingBytes += bytes;
    if (this.#end <= this.#settled) {
      this.#time = time;
      this.#end = this.#received;
      this.#bytes = bytes;
    } else {
      (this.#later ??= []).push(time, this.#received, bytes);
    }
  }

  /**
   * Settles the `count` oldest requests (no more than are recorded); returns
   * when the oldest of them arrived, or NaN when none was waiting.
   */
  settle(count: number): number {
    if (count <= 0 || this.#received === this.#settled) return Number.NaN;
    const oldest = this.#time;
    this.#settled = Math.min(this.#settled + count, this.#received);
    while (this.#end <= this.#settled && this.#bytes >= 0) {
      this.#pendingBytes -= this.#bytes;
      this.#bytes = -1;
      this.#next();
    }
    return oldest;
  }

  /** The oldest run is settled: the next one takes its place. */
  #next(): void {
    const later = this.#later;
    if (later === undefined) return;
    this.#time = later[this.#head++]!;
    this.#end = later[this.#head++]!;
    this.#bytes = later[this.#head++]!;
    if (this.#head === later.length) {
      this.#later = undefined;
      this.#head = 0;
    }
  }
}
