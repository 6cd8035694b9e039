/** Values below this are counted exactly; above it, each power of two is cut into `SUB_BUCKETS / 2` buckets. */
const SUB_BUCKETS = 512;
const HALF = SUB_BUCKETS / 2;
/** log2(SUB_BUCKETS) - 1: the shift of the first power of two past the exact range. */
const BASE_SHIFT = Math.log2(SUB_BUCKETS) - 1;
/** Values are counted up to 2^31 - 1 µs (35 minutes), larger ones in the last bucket; `max` stays exact. */
const LARGEST = 2 ** 31 - 1;
const BUCKETS = indexOf(LARGEST) + 1;

/**
 * The reply latencies (µs) of one metrics interval, for its percentiles:
 * HdrHistogram's log-linear layout (exact below 512 µs, then 256 buckets
 * per power of two, so a percentile is within 0.4 % of the true value),
 * kept in JavaScript so that a value is recorded with a count. The replies
 * of one write share one latency, so a write is one `record`, where
 * `perf_hooks`' histogram takes no count and cost ~270 instructions a reply
 * on Node 20 (callgrind, perf/NOTES.md), 6 % of a request at 100 × 32.
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;

  /** Values recorded since the last reset. */
  get count(): number {
    return this.#count;
  }

  /** The largest value recorded since the last reset (0 if none), exact. */
  get max(): number {
    return this.#max;
  }

  /** Records `value` (a whole number of µs, at least 1) `count` times. */
  record(value: number, count: number): void {
    this.#counts[indexOf(Math.min(value, LARGEST))]! += count;
    this.#count += count;
    if (value > this.#max) this.#max = value;
  }

  /**
   * The value at or below which `percentile` % of the recorded values lie
   * (the highest value of its bucket, as HdrHistogram reports it, but never
   * above {@link max}); 0 if nothing was recorded.
   */
  percentile(percentile: number): number {
    if (this.#count === 0) return 0;
    const wanted = Math.max(1, Math.ceil((percentile / 100) * this.#count));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.#counts[index]!;
      // The last bucket also holds every larger value: the max stands for it.
      if (seen >= wanted) return index === BUCKETS - 1 ? this.#max : Math.min(highestIn(index), this.#max);
    }
    return this.#max;
  }

  /** Forgets every value: a new interval begins. */
  reset(): void {
    if (this.#count === 0) return;
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }
}

/** The bucket of `value` (0 ≤ value ≤ {@link LARGEST}). */
function indexOf(value: number): number {
  if (value < SUB_BUCKETS) return value;
  const shift = 31 - Math.clz32(value) - BASE_SHIFT; // value >> shift is in [HALF, SUB_BUCKETS)
  return SUB_BUCKETS + (shift - 1) * HALF + ((value >>> shift) - HALF);
}

/** The highest value that falls in bucket `index`. */
function highestIn(index: number): number {
  if (index < SUB_BUCKETS) return index;
  const past = index - SUB_BUCKETS;
  const shift = Math.floor(past / HALF) + 1;
  const sub = (past % HALF) + HALF;
  return (sub + 1) * 2 ** shift - 1;
}
