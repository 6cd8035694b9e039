const BARS = '▁▂▃▄▅▆▇█';

/**
 * The last `width` values as a line of bars scaled to the largest of them
 * (or to `ceiling`, if larger); a NaN (no reading) is a blank, and the line
 * is right-aligned so that time runs to the right edge.
 *
 * @example
 * ```ts
 * sparkline([0, 1, 2, NaN, 4], 5); // '▁▃▅ █'
 * ```
 */
export function sparkline(values: readonly number[], width: number, ceiling = 0): string {
  const shown = values.slice(-width);
  const top = Math.max(ceiling, ...shown.filter((value) => !Number.isNaN(value)));
  const bars = shown.map((value) => {
    if (Number.isNaN(value)) return ' ';
    if (!(top > 0)) return BARS[0];
    return BARS[Math.min(BARS.length - 1, Math.round((Math.max(0, value) / top) * (BARS.length - 1)))];
  });
  return bars.join('').padStart(width);
}
