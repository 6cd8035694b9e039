import type { Address } from '../address.js';
import type { Reading } from './reading.js';
import type { Scrape } from './scrape.js';

/** A server watched by `tcp-rx top`: its metrics endpoint and how it is shown. */
export interface Target {
  readonly label: string;
  readonly address: Address;
}

/** What happened between two readings of one process. Rates per second, latency in seconds. */
export interface IntervalFigures {
  readonly requestsPerSecond: number;
  /** 99th percentile of reply latency over the interval, from the histogram; NaN without replies. */
  readonly p99: number;
  readonly rejectedPerSecond: Readonly<Record<string, number>>;
  readonly closedPerSecond: Readonly<Record<string, number>>;
}

/** One process of a server, as last read, with its recent past. */
export interface ProcessState {
  /** `''` for a server of one process, else its labels (`worker=2`). */
  readonly key: string;
  readonly latest: Reading;
  /** Since the reading before; undefined for the first one. */
  readonly figures: IntervalFigures | undefined;
  /** One entry per interval, oldest first, NaN where there was no reading: requests/s and p99 (s). */
  readonly requestRates: readonly number[];
  readonly p99s: readonly number[];
}

/** A watched server after the latest scrape. */
export interface TargetState {
  readonly target: Target;
  /** The latest scrape failed: why, and since when (ms since the epoch). */
  readonly down: { readonly error: string; readonly since: number } | undefined;
  readonly processes: readonly ProcessState[];
}

/**
 * The state of `target` after a scrape at `time` (ms), from its state after
 * the previous one: interval figures from the difference of the two
 * readings, and `keep` entries of history. A failed scrape keeps the last
 * readings and leaves a gap in the history.
 */
export function advance(previous: TargetState | undefined, target: Target, scrape: Scrape, time: number, elapsed: number, keep: number): TargetState {
  const before = new Map((previous?.processes ?? []).map((process) => [process.key, process]));
  const push = (history: readonly number[] | undefined, value: number): number[] => [...(history ?? []), value].slice(-keep);
  if (!scrape.ok) {
    return {
      target,
      down: { error: scrape.error, since: previous?.down?.since ?? time },
      processes: [...before.values()].map((process) => ({ ...process, figures: undefined, requestRates: push(process.requestRates, NaN), p99s: push(process.p99s, NaN) })),
    };
  }
  const processes = [...scrape.processes].map(([key, latest]): ProcessState => {
    const last = before.get(key);
    // Figures need two readings in a row; after a gap, the next interval is not one.
    const figures = last !== undefined && previous?.down === undefined ? difference(last.latest, latest, elapsed / 1000) : undefined;
    return {
      key,
      latest,
      figures,
      requestRates: push(last?.requestRates, figures?.requestsPerSecond ?? NaN),
      p99s: push(last?.p99s, figures?.p99 ?? NaN),
    };
  });
  return { target, down: undefined, processes };
}

function difference(before: Reading, after: Reading, seconds: number): IntervalFigures {
  // A counter that went down means the process restarted: count from zero.
  const restarted = after.requests < before.requests;
  const base = restarted ? undefined : before;
  const perSecond = (now: Readonly<Record<string, number>>, then: Readonly<Record<string, number>> | undefined): Record<string, number> =>
    Object.fromEntries(Object.entries(now).map(([reason, count]) => [reason, (count - (then?.[reason] ?? 0)) / seconds]));
  return {
    requestsPerSecond: (after.requests - (base?.requests ?? 0)) / seconds,
    p99: quantile(0.99, base?.latency, after.latency),
    rejectedPerSecond: perSecond(after.rejected, base?.rejected),
    closedPerSecond: perSecond(after.closed, base?.closed),
  };
}

type Buckets = ReadonlyArray<{ readonly le: number; readonly count: number }>;

/**
 * The `q` quantile of what two cumulative histograms differ by, as
 * Prometheus' `histogram_quantile` reckons it: linear within the bucket it
 * falls in, the highest finite bound if it falls in the `+Inf` bucket. NaN
 * when nothing was counted in between.
 */
export function quantile(q: number, before: Buckets | undefined, after: Buckets): number {
  const counts = after.map(({ le, count }, index) => ({ le, count: count - (before?.[index]?.le === le ? before[index]!.count : 0) }));
  const total = counts.at(-1)?.count ?? 0;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let below = 0;
  let lower = 0;
  for (const { le, count } of counts) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      return count === below ? le : lower + ((le - lower) * (rank - below)) / (count - below);
    }
    below = count;
    lower = le;
  }
  return lower;
}
