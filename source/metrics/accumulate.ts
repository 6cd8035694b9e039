import type { ServerEvent } from '../server/events.js';
import { LatencyHistogram } from './latency-histogram.js';

/** Upper bounds (ms) of the lifetime latency histogram's buckets; the last bucket is unbounded. */
export const LATENCY_BOUNDS_MS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** The running counts behind every snapshot: what {@link accumulate} folds the event stream into. */
export interface MetricsState {
  opened: number;
  closed: number;
  queued: number;
  dequeued: number;
  rejected: number;
  requests: number;
  replies: number;
  bytesIn: number;
  bytesOut: number;
  /** By reason, without a prototype: see {@link countClose} for which reasons get their own count. */
  readonly closeReasons: Record<string, number>;
  /** How many custom close reasons have their own count, up to {@link CUSTOM_REASON_LIMIT}. */
  customReasons: number;
  readonly rejectReasons: Record<string, number>;
  /** Replies per latency bucket (not cumulative); one more entry than {@link LATENCY_BOUNDS_MS}. */
  readonly latencyBuckets: number[];
  /** Sum of every reply's latency (ms). */
  latencySum: number;
  /** Reply latencies (µs) since the interval began; whoever closes an interval resets it. */
  readonly intervalLatency: LatencyHistogram;
  /** TLS handshakes completed. */
  handshakes: number;
  /** TLS handshakes completed, by protocol version. */
  readonly tlsProtocols: Record<string, number>;
  /** TLS handshakes failed, by `HandshakeFailure`. */
  readonly handshakeFailures: Record<string, number>;
  /** Handshakes per handshake-time bucket (bounds {@link LATENCY_BOUNDS_MS}, not cumulative). */
  readonly handshakeBuckets: number[];
  /** Sum of every handshake's time (ms). */
  handshakeSum: number;
  /** The server has begun to drain. */
  draining: boolean;
  /** Access log lines written, and lines dropped (a slow or failing sink). */
  accessLogWritten: number;
  accessLogDropped: number;
  /** PROXY headers read, by version (`v1`, `v2`). */
  readonly proxyHeaders: Record<string, number>;
  /** PROXY headers with the `LOCAL` command (the proxy's own connections). */
  proxyLocal: number;
  /** Connections closed for their PROXY header, by `ProxyFailure`. */
  readonly proxyFailures: Record<string, number>;
}

/** A state with nothing counted yet. */
export function emptyState(): MetricsState {
  return {
    opened: 0,
    closed: 0,
    queued: 0,
    dequeued: 0,
    rejected: 0,
    requests: 0,
    replies: 0,
    bytesIn: 0,
    bytesOut: 0,
    closeReasons: counts(),
    customReasons: 0,
    rejectReasons: counts(),
    latencyBuckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
    latencySum: 0,
    intervalLatency: new LatencyHistogram(),
    handshakes: 0,
    tlsProtocols: {},
    handshakeFailures: {},
    handshakeBuckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
    handshakeSum: 0,
    draining: false,
    accessLogWritten: 0,
    accessLogDropped: 0,
    proxyHeaders: {},
    proxyLocal: 0,
    proxyFailures: {},
  };
}

/**
 * The reducer of the metrics `scan`: counts `event` into `state`.
 *
 * For speed on the hot path (one call per read and per batched write) it
 * updates `state` in place and returns it, allocating nothing; the state must
 * therefore have a single owner, the scan that folds one server's events.
 */
export function accumulate(state: MetricsState, event: ServerEvent): MetricsState {
  switch (event.type) {
    case 'read':
      state.bytesIn += event.bytes;
      state.requests += event.frames;
      break;
    case 'written':
      state.bytesOut += event.bytes;
      state.replies += event.replies;
      recordLatency(state, event.latency, event.replies);
      break;
    case 'opened':
      state.opened++;
      break;
    case 'closed':
      state.closed++;
      countClose(state, event.reason);
      break;
    case 'queued':
      state.queued++;
      break;
    case 'dequeued':
      state.dequeued++;
      break;
    case 'rejected':
      state.rejected++;
      state.rejectReasons[event.reason] = (state.rejectReasons[event.reason] ?? 0) + 1;
      break;
    case 'handshake':
      state.handshakes++;
      state.tlsProtocols[event.protocol] = (state.tlsProtocols[event.protocol] ?? 0) + 1;
      state.handshakeBuckets[bucketOf(event.duration)]!++;
      state.handshakeSum += event.duration;
      break;
    case 'draining':
      state.draining = true;
      break;
    case 'handshake-failed':
      state.handshakeFailures[event.reason] = (state.handshakeFailures[event.reason] ?? 0) + 1;
      break;
    case 'access-log':
      state.accessLogWritten += event.written;
      state.accessLogDropped += event.dropped;
      break;
    case 'proxy-header': {
      const version = event.version === 1 ? 'v1' : 'v2';
      state.proxyHeaders[version] = (state.proxyHeaders[version] ?? 0) + 1;
      if (event.command === 'local') state.proxyLocal++;
      break;
    }
    case 'proxy-failed':
      state.proxyFailures[event.reason] = (state.proxyFailures[event.reason] ?? 0) + 1;
      break;
  }
  return state;
}

/** The close reasons the server and its framing give: each always has its own count. */
const BUILT_IN_REASONS: ReadonlySet<string> = new Set([
  'end',
  'reset',
  'internal',
  'idle-timeout',
  'read-timeout',
  'write-timeout',
  'shutdown',
  'frame-too-long',
  'incomplete-frame',
]);

/** Distinct custom close reasons (a `ProtocolError`'s own) counted by name; later ones count as `other`. */
export const CUSTOM_REASON_LIMIT = 32;

/** What a custom reason must look like to be counted by name: a tidy metric label value. */
const REASON_LABEL = /^[a-z0-9_-]{1,64}$/;

/**
 * Counts a close under its reason, or under `other`. A protocol may build its
 * reasons from its input, so a reason is only a label of its own if it is a
 * built-in one, already counted, or one of the first
 * {@link CUSTOM_REASON_LIMIT} that match `[a-z0-9_-]{1,64}`: the series stay
 * few and the exposition text plain, whatever peers send. `__proto__` and
 * `constructor` are ordinary keys here: the counts have no prototype.
 */
function countClose(state: MetricsState, reason: string): void {
  const counts = state.closeReasons;
  let label = reason;
  if (counts[reason] === undefined && !BUILT_IN_REASONS.has(reason)) {
    if (state.customReasons < CUSTOM_REASON_LIMIT && typeof reason === 'string' && REASON_LABEL.test(reason)) state.customReasons++;
    else label = 'other';
  }
  counts[label] = (counts[label] ?? 0) + 1;
}

/** An empty set of counts by name, safe for any name: no prototype to collide with. */
export function counts(from: Readonly<Record<string, number>> = {}): Record<string, number> {
  return Object.assign(Object.create(null) as Record<string, number>, from);
}

/** Connections waiting for a worker: queued, less those that left the queue for a worker or were turned away from it. */
export function waiting(state: MetricsState): number {
  // Turned away from the queue: out of time, or at a shutdown's deadline ('busy' ones never queued).
  return state.queued - state.dequeued - (state.rejectReasons['queue-timeout'] ?? 0) - (state.rejectReasons['shutting-down'] ?? 0);
}

/** A batch's latency is the latency of each reply it carries: counted once per reply. */
function recordLatency(state: MetricsState, latency: number, replies: number): void {
  if (replies === 0) return;
  state.latencyBuckets[bucketOf(latency)]! += replies;
  state.latencySum += latency * replies;
  // Whole microseconds, every reply of the write at once.
  state.intervalLatency.record(Math.max(1, Math.round(latency * 1000)), replies);
}

/** The bucket of {@link LATENCY_BOUNDS_MS} that `ms` falls in. */
function bucketOf(ms: number): number {
  let bucket = 0;
  while (bucket < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[bucket]!) bucket++;
  return bucket;
}
