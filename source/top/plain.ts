import { clock } from './format.js';
import type { TopView } from './screen.js';

const fixed = (value: number | undefined, digits: number): string => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));
const sum = (values: Readonly<Record<string, number>> | undefined): number | undefined => values && Object.values(values).reduce((a, b) => a + b, 0);

/**
 * The view as plain lines, one per server (per process of it) — what `top`
 * prints when its output is not a terminal, to be piped or logged, as
 * `redis-cli --stat` does: `key=value` fields, `-` for what is not known
 * yet; a server that is down is `down: <why>`.
 *
 * @example
 * ```text
 * 12:00:01 127.0.0.1:9100 req/s=81234 p99_ms=1.42 active=100 workers=1000 queued=0 queue=1000 rejected/s=0 closed/s=0.0 loop_p99_ms=3.1 rss_mib=57.2
 * ```
 */
export function plainLines(view: TopView): string[] {
  const lines: string[] = [];
  for (const { target, down, processes } of view.targets) {
    if (down !== undefined) {
      lines.push(`${clock(view.time)} ${target.label} down: ${down.error}`);
      continue;
    }
    for (const { key, latest, figures } of processes) {
      lines.push(
        [
          clock(view.time),
          key === '' ? target.label : `${target.label}{${key}}`,
          `req/s=${fixed(figures?.requestsPerSecond, 0)}`,
          `p99_ms=${fixed(figures === undefined ? undefined : figures.p99 * 1000, 2)}`,
          `active=${latest.active}`,
          `workers=${latest.workers}`,
          `queued=${latest.queued}`,
          `queue=${latest.queueSize}`,
          ...(latest.draining ? ['draining'] : []),
          `rejected/s=${fixed(sum(figures?.rejectedPerSecond), 1)}`,
          `closed/s=${fixed(sum(figures?.closedPerSecond), 1)}`,
          `loop_p99_ms=${fixed(latest.eventLoopDelayP99 * 1000, 1)}`,
          `rss_mib=${fixed(latest.rss / 1024 ** 2, 1)}`,
        ].join(' '),
      );
    }
  }
  return lines;
}
