import type { MetricsSnapshot } from './snapshot.js';

/**
 * Whether a server should be sent new connections, as a load balancer's
 * health check or a Kubernetes readiness probe asks: not while it drains,
 * and not while every worker is busy and the queue is full (a new connection
 * would get `ERR server busy`).
 */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: 'draining' | 'busy' };

/**
 * The readiness a snapshot shows.
 *
 * @example
 * ```ts
 * const { ready } = readiness(server.snapshot());
 * ```
 */
export function readiness({ draining, workers, queue }: Pick<MetricsSnapshot, 'draining' | 'workers' | 'queue'>): Readiness {
  if (draining) return { ready: false, reason: 'draining' };
  if (workers.inUse >= workers.size && queue.waiting >= queue.size) return { ready: false, reason: 'busy' };
  return { ready: true };
}
