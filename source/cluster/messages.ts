import type { MetricsSnapshot } from '../metrics/snapshot.js';

/**
 * What a worker tells its primary over the cluster's IPC channel (sent with
 * `serialization: 'advanced'`, so that a histogram's `Infinity` bound
 * survives the trip).
 */
export type WorkerMessage =
  /** Listening and serving: the port it is bound to, and a first snapshot. */
  | { readonly tcprx: 'serving'; readonly port: number; readonly snapshot: MetricsSnapshot }
  /** A periodic snapshot (one per metrics interval): interval figures and totals. */
  | { readonly tcprx: 'metrics'; readonly snapshot: MetricsSnapshot }
  /** The answer to a {@link PrimaryMessage} `snapshot` request: totals now. */
  | { readonly tcprx: 'snapshot'; readonly id: number; readonly snapshot: MetricsSnapshot }
  /** Drained: its last snapshot; it exits on the primary's `farewell`. */
  | { readonly tcprx: 'drained'; readonly snapshot: MetricsSnapshot; readonly destroyed: number };

/** What the primary asks of a worker. */
export type PrimaryMessage =
  /** Answer with a fresh snapshot (for a scrape of `/metrics`). */
  | { readonly tcprx: 'snapshot'; readonly id: number }
  /** Close the server (stop accepting, finish every request), then exit: 0 when clean, EXIT_FORCED otherwise. */
  | { readonly tcprx: 'drain' }
  /**
   * The answer to `drained`. With round-robin scheduling the primary hands
   * each connection to a worker in a message; one sent just before the
   * worker closed its listener is still on its way, and a worker that
   * exited without reading it would leave the connection open and unserved
   * in the primary. The channel keeps order, so by the time `farewell`
   * arrives every such connection has too, and Node has sent it back to the
   * primary for another worker (the listener being closed).
   */
  | { readonly tcprx: 'farewell' };

/** Whether `message` is one of ours (the channel also carries Node's own `NODE_CLUSTER` messages). */
export function isMessage<T extends { tcprx: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { tcprx?: unknown }).tcprx === 'string';
}
