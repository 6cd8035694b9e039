import { clock, count, mebibytes, milliseconds, reasons, uptime } from './format.js';
import type { ProcessState, TargetState } from './history.js';
import { sparkline } from './sparkline.js';

/** What `tcp-rx top` shows at one moment. */
export interface TopView {
  /** When the scrapes were taken (ms since the epoch). */
  readonly time: number;
  /** Between scrapes (ms). */
  readonly interval: number;
  readonly targets: readonly TargetState[];
}

const LABEL_WIDTH = 14;
const VALUE_WIDTH = 10;

/**
 * The full-screen view as `height` lines of at most `width` characters:
 * a title, then per server (and per process of it) requests/s and p99 as
 * sparklines over the history kept, connections against workers,
 * rejections and closes by reason, event-loop delay and memory. A server
 * that is down says so, and since when.
 */
export function renderScreen(view: TopView, width: number, height: number): string[] {
  const title = `tcp-rx top · ${view.targets.length} server${view.targets.length === 1 ? '' : 's'} · every ${view.interval / 1000}s · ${clock(view.time)}`;
  const lines = [`${title}${'q: quit'.padStart(Math.max(0, width - title.length))}`, ''];
  for (const state of view.targets) {
    const { target, down, processes } = state;
    if (down !== undefined) {
      lines.push(`${target.label}  DOWN since ${clock(down.since)}: ${down.error}`);
    } else {
      lines.push(`${target.label}  up ${uptime(processes[0]?.latest.uptime ?? NaN)}${processes.length > 1 ? `  ${processes.length} processes` : ''}`);
    }
    for (const process of processes) lines.push(...processLines(process, width, down !== undefined));
    lines.push('');
  }
  return lines.slice(0, height).map((line) => truncate(line, width));
}

function processLines(process: ProcessState, width: number, stale: boolean): string[] {
  const { latest, figures } = process;
  const indent = process.key === '' ? '  ' : '    ';
  const spark = Math.max(0, width - indent.length - LABEL_WIDTH - VALUE_WIDTH - 2);
  const row = (label: string, value: string, rest: string): string => `${indent}${label.padEnd(LABEL_WIDTH)}${value.padStart(VALUE_WIDTH)}  ${rest}`;
  const lines = process.key === '' ? [] : [`  ${process.key}${stale ? '  (last reading)' : ''}`];
  if (latest.draining) lines.push(`${indent}DRAINING: taking no new connections`);
  lines.push(
    row('requests/s', count(figures?.requestsPerSecond ?? NaN), sparkline(process.requestRates, spark)),
    row('p99 latency', milliseconds(figures?.p99 ?? NaN), sparkline(process.p99s, spark)),
    `${indent}${'connections'.padEnd(LABEL_WIDTH)}active ${count(latest.active)} of ${count(latest.workers)} workers   queued ${count(latest.queued)}${Number.isNaN(latest.queueSize) ? '' : ` of ${count(latest.queueSize)}`}   served ${count(latest.served)}`,
    `${indent}${'rejected'.padEnd(LABEL_WIDTH)}${reasons(latest.rejected, figures?.rejectedPerSecond)}`,
    `${indent}${'closed'.padEnd(LABEL_WIDTH)}${reasons(latest.closed, figures?.closedPerSecond)}`,
    `${indent}${'process'.padEnd(LABEL_WIDTH)}event loop p99 ${milliseconds(latest.eventLoopDelayP99)}   rss ${mebibytes(latest.rss)}   heap ${mebibytes(latest.heapUsed)}`,
  );
  return lines;
}

function truncate(line: string, width: number): string {
  const characters = [...line];
  return characters.length <= width ? line : `${characters.slice(0, Math.max(0, width - 1)).join('')}…`;
}
