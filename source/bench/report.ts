import type { LoadResult } from './load-generator.js';
import type { TargetCheck } from './targets.js';

const MARKS: Record<TargetCheck['status'], string> = { pass: '✅', fail: '❌', skipped: '➖' };

const count = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number): string => `${value.toFixed(3)}ms`;

/** The share of requests that succeeded, in percent; 0 when none were made. */
export function successRate(result: LoadResult): number {
  return result.total === 0 ? 0 : (result.successful * 100) / result.total;
}

/**
 * The two blocks `tcp-rx bench` prints. Load Test Results carries the
 * reference's lines under its names, then what tcp-rx adds (percentiles,
 * connections opened); Performance Validation checks the targets.
 */
export function formatReport(result: LoadResult, checks: readonly TargetCheck[]): string {
  const rows: Array<[string, string]> = [
    ['Duration', `${(result.duration / 1000).toFixed(2)}s`],
    ['Total Requests', count(result.total)],
    ['Successful Requests', count(result.successful)],
    ['Failed Requests', count(result.failed)],
    ['Success Rate', `${successRate(result).toFixed(2)}%`],
    ['Requests/Second', (result.requestsPerSecond).toFixed(2)],
    ['Average Latency', ms(result.latency.avg)],
    ['Connection Pool Size', count(result.connections.wanted)],
    ['P50 Latency', ms(result.latency.p50)],
    ['P99 Latency', ms(result.latency.p99)],
    ['Max Latency', ms(result.latency.max)],
    ['Connections Opened', `${count(result.connections.opened)} in ${(result.connections.time / 1000).toFixed(2)}s`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return [
    'Load Test Results',
    '=================',
    ...rows.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`),
    '',
    'Performance Validation',
    '======================',
    ...checks.map((check) => `${MARKS[check.status]} ${check.target}: ${check.measured}`),
    '',
  ].join('\n');
}
