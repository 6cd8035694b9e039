import type { Protocol } from './connection.js';

const kStateless = Symbol('tcp-rx stateless');

/**
 * How long a connection of a {@link stateless} protocol in conversation
 * stays quiet, owing nothing, before it hibernates (ms); and how long a
 * quiet spell makes the next wake a brief one (see {@link stateless}).
 */
export const HIBERNATE_AFTER = 1_000;

/**
 * Declares `protocol` stateless between requests, so that its connections
 * hibernate: a connection subscribes the pipeline when its first byte
 * arrives rather than as it opens, and once it owes nothing (no unfinished
 * frame, every request answered, every reply written) it unsubscribes the
 * pipeline and drops its writer and request state, to subscribe it again on
 * the next byte. When: a wake that is the connection's first, or that comes
 * after a quiet second, is presumed brief (a client that says hello, a
 * heartbeat) and ends with the read that woke it, if that read leaves
 * nothing owed, so that what served it dies young rather than being
 * promoted to the old generation first; a connection woken again within a
 * second is in conversation, and keeps its pipeline until it has been quiet
 * for a second. A connection that idles keeps its socket and a few fields,
 * not a pipeline (perf/NOTES.md: about a kilobyte less each).
 *
 * Declare only a pipeline that answers each frame from that frame alone: a
 * `map` of the frame, as the reference echo does. Each subscription sees
 * only the requests that arrive until it next sleeps, so operators
 * that carry state across requests change meaning under it: a `scan` or a
 * counter starts again, `take(n)` counts from each wake, `first()` fires once
 * per wake, a `finalize` runs at every hibernation, and a pipeline that
 * speaks first (a greeting with `startWith`) speaks only after the peer
 * has. The pipeline must also take its chunks as it is subscribed (no
 * `delaySubscription` before the framing): it is subscribed by the very read
 * it is to decode. Any of those: leave the protocol as it is (the default),
 * and its pipeline lives as long as the connection.
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs';
 * import { lines, serve, stateless } from 'tcp-rx';
 *
 * // Each reply depends on its line alone: idle connections need not keep the pipeline.
 * await serve({ port: 7000 }, stateless(pipe(lines(), map((line) => `${line.length}\n`))));
 * ```
 */
export function stateless(protocol: Protocol): Protocol {
  const declared: Protocol & { [kStateless]?: true } = (chunks) => protocol(chunks);
  declared[kStateless] = true;
  return declared;
}

/** Whether `protocol` was declared {@link stateless}. */
export function isStateless(protocol: Protocol): boolean {
  return (protocol as { [kStateless]?: true })[kStateless] === true;
}
