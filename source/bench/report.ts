import type { LoadResult } from './load-generator.js';
import type { TargetCheck } from './targets.js';

const MARKS: Record<TargetCheck['status'], string> = { pass: '✅', fail: '❌', skipped: '➖' };

const count = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number): string => `${value.toFixed(3)} ms`;

/** The share of requests that succeeded, in percent; 0 when none were made. */
export function successRate(result: LoadResult): number {
  return result.total === 0 ? 0 : (result.successful * 100) / result.total;
}

/** The two blocks `tcp-rx bench` prints: Load Test Results and Performance Validation. */
export function formatReport(result: LoadResult, checks: readonly TargetCheck[]): string {
  const rows: Array<[string, string]> = [
    ['Connections', `${count(result.connections.opened)} of ${count(result.connections.wanted)}, opened in ${(result.connections.time / 1000).toFixed(2)} s`],
    ['Duration', `${(result.duration / 1000).toFixed(2)} s`],
    ['Total requests', count(result.total)],
    ['Successful', count(result.successful)],
    ['Failed', count(result.failed)],
    ['Success rate', `${successRate(result).toFixed(2)}%`],
    ['Requests/s', count(result.requestsPerSecond)],
    ['Latency avg', ms(result.latency.avg)],
    ['Latency p50', ms(result.latency.p50)],
    ['Latency p99', ms(result.latency.p99)],
    ['Latency max', ms(result.latency.max)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return [
    'Load Test Results',
    '=================',
    ...rows.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`),
    '',
    'Performance Validation',
    '======================',
    ...checks.map((check) => `${MARKS[check.status]} ${check.target}: ${check.measured}`),
    '',
  ].join('\n');
}
