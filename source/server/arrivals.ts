/**
 * When the frames that still await replies were received, oldest first, for
 * reply latency. Frames decoded from one read share an entry (`[time, count]`
 * runs), so a pipelined burst of 1,000 requests costs one entry, not 1,000.
 */
export class Arrivals {
  /**
   * Runs `#head` to `#tail` are waiting. The arrays are overwritten in place
   * and rewound when empty, never truncated: setting `length` frees their
   * storage, which the next read would allocate again.
   */
  readonly #times: number[] = [];
  readonly #counts: number[] = [];
  #head = 0;
  #tail = 0;

  /** `count` frames arrived at `time`. */
  add(time: number, count: number): void {
    if (count > 0) {
      this.#times[this.#tail] = time;
      this.#counts[this.#tail++] = count;
    }
  }

  /**
   * Removes the `replies` oldest frames; returns when the oldest of them
   * arrived, or `fallback` when no frames were recorded (a framing that does
   * not report, or replies that answer no request).
   */
  take(replies: number, fallback: number): number {
    const oldest = this.#head < this.#tail ? this.#times[this.#head]! : fallback;
    while (replies > 0 && this.#head < this.#tail) {
      const taken = Math.min(replies, this.#counts[this.#head]!);
      replies -= taken;
      if ((this.#counts[this.#head]! -= taken) === 0) this.#head++;
    }
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
    return oldest;
  }
}
