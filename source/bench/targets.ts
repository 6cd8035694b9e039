import type { LoadResult } from './load-generator.js';

/** A performance target of the reference, checked against a run. */
export interface TargetCheck {
  readonly target: string;
  /** `skipped` when the run cannot tell (too few connections, server memory unknown). */
  readonly status: 'pass' | 'fail' | 'skipped';
  /** What was measured, or why it was not. */
  readonly measured: string;
}

/** The reference's targets. */
export const TARGETS = {
  connections: 10_000,
  requestsPerSecond: 100_000,
  memoryBytes: 100 * 1024 * 1024,
  averageLatencyMs: 1,
} as const;

/**
 * Checks a run against the reference's four targets. Memory can only be
 * judged with the server's resident size (`serverRss`, bytes) taken while
 * 10,000 connections were open.
 */
export function checkTargets(result: LoadResult, serverRss?: number): TargetCheck[] {
  const open = result.connections.opened;
  const enough = open >= TARGETS.connections;
  const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return [
    {
      target: '10,000 concurrent connections',
      status: enough && result.failed === 0 ? 'pass' : 'fail',
      measured: `${open.toLocaleString('en-US')} open${result.failed > 0 ? `, ${result.failed.toLocaleString('en-US')} requests failed` : ''}`,
    },
    {
      target: '100,000 requests/s',
      status: result.requestsPerSecond >= TARGETS.requestsPerSecond ? 'pass' : 'fail',
      measured: `${Math.round(result.requestsPerSecond).toLocaleString('en-US')} requests/s`,
    },
    serverRss === undefined
      ? { target: '< 100 MB memory at 10,000 connections', status: 'skipped', measured: 'server memory not measured (give --server-pid)' }
      : {
          target: '< 100 MB memory at 10,000 connections',
          status: !enough ? 'skipped' : serverRss < TARGETS.memoryBytes ? 'pass' : 'fail',
          measured: `server RSS ${mib(serverRss)}${enough ? '' : ` with only ${open.toLocaleString('en-US')} connections`}`,
        },
    {
      target: '< 1 ms average latency',
      status: result.successful === 0 ? 'skipped' : result.latency.avg < TARGETS.averageLatencyMs ? 'pass' : 'fail',
      measured: `${result.latency.avg.toFixed(3)} ms average`,
    },
  ];
}
