/**
 * When the frames that still await replies were received, oldest first, for
 * reply latency. Frames decoded from one read share an entry (`[time, count]`
 * runs), so a pipelined burst of 1,000 requests costs one entry, not 1,000.
 */
export class Arrivals {
  readonly #times: number[] = [];
  readonly #counts: number[] = [];
  #head = 0;

  /** `count` frames arrived at `time`. */
  add(time: number, count: number): void {
    if (count > 0) {
      this.#times.push(time);
      this.#counts.push(count);
    }
  }

  /**
   * Removes the `replies` oldest frames; returns when the oldest of them
   * arrived, or `fallback` when no frames were recorded (a framing that does
   * not report, or replies that answer no request).
   */
  take(replies: number, fallback: number): number {
    const oldest = this.#head < this.#times.length ? this.#times[this.#head]! : fallback;
    while (replies > 0 && this.#head < this.#times.length) {
      const taken = Math.min(replies, this.#counts[this.#head]!);
      replies -= taken;
      if ((this.#counts[this.#head]! -= taken) === 0) this.#head++;
    }
    if (this.#head === this.#times.length) {
      this.#times.length = 0;
      this.#counts.length = 0;
      this.#head = 0;
    }
    return oldest;
  }
}
