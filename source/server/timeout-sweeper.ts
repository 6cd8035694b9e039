import { performance } from 'node:perf_hooks';

/** Something with deadlines, checked by {@link sweepTimeouts}. */
export interface Expiring {
  /** Acts on every deadline that has passed by `now` (a `performance.now()` time). */
  expire(now: number): void;
}

/** Members swept together: a set or an array of them. */
export interface ExpiringGroup {
  forEach(visit: (member: Expiring) => void): void;
}

/** Sweeps at least this far apart (ms), however short the timeouts. */
const MIN_PERIOD = 5;
const MAX_PERIOD = 1_000;

/**
 * One timer for every connection's timeouts.
 *
 * A timer per connection per timeout costs a `Timeout` object each, and
 * Node's socket timeout re-arms its timer on every read and every write.
 * Instead each connection keeps a few timestamps, and one interval sweeps them
 * all: a deadline is acted on within a quarter of the shortest timeout after
 * it passes. `groups` (sets, arrays) are walked at each sweep with their
 * `forEach`: a generator, or `for…of` in code run once a second (never
 * optimized), would leave an object of garbage per member per sweep.
 * Returns a function that stops the sweeping.
 */
export function sweepTimeouts(groups: readonly ExpiringGroup[], timeouts: readonly number[]): () => void {
  const shortest = Math.min(...timeouts.filter((timeout) => timeout > 0));
  if (!Number.isFinite(shortest)) return () => {};
  const period = Math.min(MAX_PERIOD, Math.max(MIN_PERIOD, Math.floor(shortest / 4)));
  const timer = setInterval(() => {
    const now = performance.now();
    const expire = (member: Expiring): void => member.expire(now);
    for (const group of groups) group.forEach(expire);
  }, period).unref();
  return () => clearInterval(timer);
}
