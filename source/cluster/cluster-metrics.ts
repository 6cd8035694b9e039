import type { Worker } from 'node:cluster';
import { performance } from 'node:perf_hooks';
import { Subject } from 'rxjs';
import type { Logger } from '../logger.js';
import { logSnapshot } from '../metrics/log-line.js';
import type { MetricsSource } from '../metrics/metrics.js';
import type { Histogram, MetricsSnapshot } from '../metrics/snapshot.js';
import { histogramSince, mergeSnapshots, retire, type WorkerPart } from './merge-snapshots.js';
import { isMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

/** Options of {@link ClusterMetrics}. */
export interface ClusterMetricsOptions {
  /** The workers' metrics interval, and the primary's: one merged line each (0: none). */
  readonly metricsInterval: number;
  readonly logger: Logger;
  /** Longest wait (ms) for the workers' answers to a {@link ClusterMetrics.refresh}; a worker that is late counts as of its latest snapshot. */
  readonly refreshTimeout?: number;
}

/** What the primary knows of one worker's metrics. */
interface Reading {
  readonly pid: number;
  /** Its latest snapshot of any kind: the freshest totals. */
  fresh?: MetricsSnapshot;
  /** Its latest periodic snapshot: the interval figures. */
  periodic?: MetricsSnapshot;
  /** The replies of that interval by latency bucket. */
  intervalLatency?: Histogram;
}

/**
 * The primary's view of the whole server: gathers its workers' snapshots
 * (each worker sends one per metrics interval, and one when asked, see
 * {@link refresh}) and merges them ({@link mergeSnapshots}); keeps the
 * lifetime counts of the workers gone, so that totals never go down; logs
 * the merged line every metrics interval. It is the server's
 * {@link MetricsSource}, for `/metrics` and the log alike. No pipeline of
 * its own: a handful of objects per interval.
 */
export class ClusterMetrics implements MetricsSource {
  readonly #options: ClusterMetricsOptions;
  readonly #readings = new Map<Worker, Reading>();
  readonly #snapshots = new Subject<MetricsSnapshot>();
  readonly #answers = new Map<number, () => void>();
  #exited: MetricsSnapshot | undefined;
  #nextId = 0;
  #refreshing: Promise<void> | undefined;
  #started = performance.now();
  #intervalStart = this.#started;
  #timer: NodeJS.Timeout | undefined;

  readonly metrics$ = this.#snapshots.asObservable();

  constructor(options: ClusterMetricsOptions) {
    this.#options = options;
  }

  /** Starts the clock (uptime counts from here) and the periodic line. */
  start(): void {
    this.#started = this.#intervalStart = performance.now();
    if (this.#options.metricsInterval > 0) this.#timer = setInterval(() => this.#closeInterval(), this.#options.metricsInterval).unref();
  }

  /** Reads `worker`'s messages from now on, until it exits; then its counts join those of the workers gone. */
  track(worker: Worker): void {
    const reading: Reading = { pid: worker.process.pid! };
    this.#readings.set(worker, reading);
    worker.on('message', (message: unknown) => {
      if (!isMessage<WorkerMessage>(message)) return;
      if (message.tcprx === 'metrics') {
        reading.intervalLatency = histogramSince(message.snapshot.latencyHistogram, reading.periodic?.latencyHistogram);
        reading.periodic = reading.fresh = message.snapshot;
      } else {
        reading.fresh = message.snapshot;
        if (message.tcprx === 'snapshot') this.#answers.get(message.id)?.();
      }
    });
    worker.once('exit', () => {
      this.#readings.delete(worker);
      if (reading.fresh !== undefined) this.#exited = retire(reading.fresh, this.#exited);
    });
  }

  /**
   * Asks every worker for a snapshot and resolves once all have answered, or
   * after `refreshTimeout` (1 s by default): a scrape of `/metrics` then sees
   * totals of now rather than of the last interval. Calls while one is under
   * way share it.
   */
  refresh(): Promise<void> {
    return (this.#refreshing ??= this.#ask().finally(() => (this.#refreshing = undefined)));
  }

  async #ask(): Promise<void> {
    const timeout = this.#options.refreshTimeout ?? 1_000;
    const asked = [...this.#readings.keys()].filter((worker) => worker.isConnected()).map((worker) => {
      const id = this.#nextId++;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeout);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#answers.set(id, done);
        worker.send({ tcprx: 'snapshot', id } satisfies PrimaryMessage, (error: Error | null) => error && done());
      }).finally(() => this.#answers.delete(id));
    });
    await Promise.all(asked);
  }

  /** The whole server now, from each worker's latest snapshot. */
  snapshot(): MetricsSnapshot {
    const now = performance.now();
    const parts: WorkerPart[] = [];
    for (const { pid, fresh, periodic, intervalLatency } of this.#readings.values()) {
      if (fresh === undefined) continue; // just forked: nothing served yet
      const interval = periodic ?? EMPTY_INTERVAL;
      parts.push({
        pid,
        snapshot: { ...fresh, interval: interval.interval, rates: interval.rates, latency: interval.latency, eventLoopDelayP99: interval.eventLoopDelayP99 },
        intervalLatency: intervalLatency ?? emptyLike(fresh.latencyHistogram),
      });
    }
    const memory = process.memoryUsage();
    return mergeSnapshots(
      { pid: process.pid, time: Date.now(), uptime: (now - this.#started) / 1000, interval: (now - this.#intervalStart) / 1000, memory: { rss: memory.rss, heapUsed: memory.heapUsed } },
      parts,
      this.#exited,
    );
  }

  #closeInterval(): void {
    const taken = this.snapshot();
    this.#intervalStart = performance.now();
    logSnapshot(this.#options.logger, taken);
    this.#snapshots.next(taken);
  }

  /** Stops the periodic line and completes `metrics$` (which closes a `/metrics` endpoint). */
  stop(): void {
    clearInterval(this.#timer);
    this.#snapshots.complete();
  }
}

/** Interval figures of a worker that has not closed an interval yet. */
const EMPTY_INTERVAL = { interval: 0, rates: { requests: 0, replies: 0, bytesIn: 0, bytesOut: 0 }, latency: { count: 0, p50: 0, p90: 0, p99: 0, max: 0 }, eventLoopDelayP99: 0 };

function emptyLike(histogram: Histogram): Histogram {
  return { buckets: histogram.buckets.map(({ le }) => ({ le, count: 0 })), sum: 0, count: 0 };
}
