// @ts-check
/**
 * The item whose `key` is the median of the items' (for an even count, the
 * upper of the two middles); undefined for none. Every figure a perf script
 * quotes over several runs is taken so.
 * @template T
 * @param {readonly T[]} items
 * @param {(item: T) => number} key
 * @returns {T | undefined}
 */
export function medianBy(items, key) {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)];
}

/**
 * The median of `values` (see {@link medianBy}); NaN for none.
 * @param {readonly number[]} values
 */
export function median(values) {
  return medianBy(values, (value) => value) ?? Number.NaN;
}
