import type { LoadProgress } from './load-generator.js';

/**
 * The live line a terminal shows while a run measures: `done/total` for a
 * counted run, `elapsed/duration` for a timed one, and the current rate.
 * Starts with `\r` and pads so that it overwrites the previous line.
 */
export function formatProgress(progress: LoadProgress): string {
  const rate = `${Math.round(progress.rate).toLocaleString('en-US')} requests/s`;
  const done = progress.done.toLocaleString('en-US');
  const position =
    progress.total !== undefined
      ? `${done}/${progress.total.toLocaleString('en-US')} requests`
      : `${(progress.elapsed / 1000).toFixed(1)}/${((progress.duration ?? 0) / 1000).toFixed(1)} s, ${done} requests`;
  return `\r${position}  ${rate}`.padEnd(60);
}
