/**
 * When the frames that still await replies were received, oldest first, for
 * reply latency. Frames decoded from one read share an entry (`[time, count]`
 * runs), so a pipelined burst of 1,000 requests costs one entry, not 1,000.
 *
 * The oldest run is kept inline: replies are written as each read ends, so
 * a connection rarely has a second run waiting, and the 10,000 connections
 * of a server hold no arrays for it. Later runs wait in `#later`, which is
 * dropped once drained.
 */
export class Arrivals {
  #time = 0;
  /** Frames of the oldest run still unanswered; 0 when nothing waits. */
  #count = 0;
  /** Runs after the oldest, as `time, count` pairs from `#head`. */
  #later: number[] | undefined;
  #head = 0;

  /** `count` frames arrived at `time`. */
  add(time: number, count: number): void {
    if (count <= 0) return;
    if (this.#count === 0) {
      this.#time = time;
      this.#count = count;
    } else {
      (this.#later ??= []).push(time, count);
    }
  }

  /**
   * Removes the `replies` oldest frames; returns when the oldest of them
   * arrived, or `fallback` when no frames were recorded (a framing that does
   * not report, or replies that answer no request).
   */
  take(replies: number, fallback: number): number {
    const oldest = this.#count > 0 ? this.#time : fallback;
    while (replies > 0 && this.#count > 0) {
      const taken = Math.min(replies, this.#count);
      replies -= taken;
      if ((this.#count -= taken) === 0) this.#next();
    }
    return oldest;
  }

  /** The oldest run is answered: the next one takes its place. */
  #next(): void {
    const later = this.#later;
    if (later === undefined) return;
    this.#time = later[this.#head++]!;
    this.#count = later[this.#head++]!;
    if (this.#head === later.length) {
      this.#later = undefined;
      this.#head = 0;
    }
  }
}
