import { exhaustMap, from, map, scan, timer, type Observable } from 'rxjs';
import { advance, type Target } from './history.js';
import { scrape, type Scrape } from './scrape.js';
import type { TopView } from './screen.js';

/** How far back the sparklines go (ms). */
export const HISTORY = 60_000;

/**
 * Scrapes every target each `interval` ms, all at once, and emits the view
 * after each round. A round still waiting for a slow server when the next
 * is due lets it pass (`exhaustMap`): no scrapes pile up; each waits at most
 * the interval (and never more than 5 s).
 *
 * @example
 * ```ts
 * watch([{ label: ':9100', address: { port: 9100 } }], 1000).subscribe((view) => console.log(plainLines(view)));
 * ```
 */
export function watch(targets: readonly Target[], interval: number): Observable<TopView> {
  const keep = Math.max(2, Math.ceil(HISTORY / interval));
  const timeout = Math.min(interval, 5000);
  return timer(0, interval).pipe(
    exhaustMap(() => {
      const time = Date.now();
      return from(Promise.all(targets.map((target) => scrape(target.address, timeout)))).pipe(map((scrapes) => ({ time, scrapes })));
    }),
    scan<{ time: number; scrapes: Scrape[] }, TopView, undefined>(
      (previous, { time, scrapes }) => ({
        time,
        interval,
        targets: targets.map((target, index) => advance(previous?.targets[index], target, scrapes[index]!, time, time - (previous?.time ?? time - interval), keep)),
      }),
      undefined,
    ),
  );
}
