import type { Sample } from './exposition.js';

/** What one scrape of a tcp-rx `/metrics` endpoint says about one server process. */
export interface Reading {
  readonly uptime: number;
  /** Lifetime totals. */
  readonly requests: number;
  readonly served: number;
  /** Cumulative reply latency histogram: replies that took at most `le` seconds. */
  readonly latency: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly active: number;
  readonly queued: number;
  /** The queue's size: NaN from a server too old to say. */
  readonly queueSize: number;
  readonly workers: number;
  /** The server has begun to drain (its `/readyz` answers 503). */
  readonly draining: boolean;
  /** Turned away, and closed, since the start, by reason. */
  readonly rejected: Readonly<Record<string, number>>;
  readonly closed: Readonly<Record<string, number>>;
  /** Seconds. */
  readonly eventLoopDelayP99: number;
  /** Bytes. */
  readonly rss: number;
  readonly heapUsed: number;
}

/** Labels that tell series of one process apart; any other label tells processes apart. */
const SERIES_LABELS = new Set(['reason', 'le']);

/**
 * The readings in one scrape, by process: a server that runs several
 * processes labels each one's series (`worker="2"`, say), and each label set
 * other than `reason`/`le` is one process, keyed `worker=2`; a single
 * process is keyed `''`. Throws a RangeError if the scrape has no tcp-rx
 * metrics in it.
 */
export function readProcesses(samples: readonly Sample[]): Map<string, Reading> {
  const byProcess = new Map<string, Sample[]>();
  for (const sample of samples) {
    if (!sample.name.startsWith('tcprx_') && !sample.name.startsWith('process_') && !sample.name.startsWith('nodejs_')) continue;
    const key = Object.entries(sample.labels)
      .filter(([name]) => !SERIES_LABELS.has(name))
      .map(([name, value]) => `${name}=${value}`)
      .sort()
      .join(',');
    let list = byProcess.get(key);
    if (list === undefined) byProcess.set(key, (list = []));
    list.push(sample);
  }
  const readings = new Map<string, Reading>();
  for (const [key, list] of [...byProcess].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
    if (list.some((sample) => sample.name === 'tcprx_requests_total')) readings.set(key, toReading(list));
  }
  if (readings.size === 0) throw new RangeError('no tcp-rx metrics in the answer');
  return readings;
}

function toReading(samples: readonly Sample[]): Reading {
  const value = (name: string): number => samples.find((sample) => sample.name === name)?.value ?? NaN;
  const byReason = (name: string): Record<string, number> =>
    Object.fromEntries(samples.filter((sample) => sample.name === name && sample.labels['reason'] !== undefined).map((sample) => [sample.labels['reason']!, sample.value]));
  return {
    uptime: value('tcprx_uptime_seconds'),
    requests: value('tcprx_requests_total'),
    served: value('tcprx_connections_total'),
    latency: samples
      .filter((sample) => sample.name === 'tcprx_reply_latency_seconds_bucket')
      .map((sample) => ({ le: Number(sample.labels['le'] === '+Inf' ? Infinity : sample.labels['le']), count: sample.value }))
      .sort((a, b) => a.le - b.le),
    active: value('tcprx_connections_active'),
    queued: value('tcprx_connections_queued'),
    queueSize: value('tcprx_queue_size'),
    workers: value('tcprx_workers'),
    draining: value('tcprx_draining') === 1,
    rejected: byReason('tcprx_connections_rejected_total'),
    closed: byReason('tcprx_connections_closed_total'),
    eventLoopDelayP99: value('tcprx_event_loop_delay_p99_seconds'),
    rss: value('process_resident_memory_bytes'),
    heapUsed: value('nodejs_heap_size_used_bytes'),
  };
}
