import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { connectionContext } from '../connection-context.js';

/**
 * Says what "done with a request" means for a protocol that does not answer
 * each request with one reply: each value passing through settles
 * `requests(value)` requests (default 1). Once a pipeline holds a `settle`,
 * replies no longer count; only it does.
 *
 * A connection stops reading while too many of its requests are unsettled
 * (`maxPending`), so a sink that never replies, a batcher that answers ten
 * requests at once, or a fan-out that answers one with three would
 * otherwise stall it or count wrongly. Put `settle` in the connection's own
 * pipeline (not inside a `mergeMap`'s inner Observable), where the work for
 * a request is done.
 *
 * @example
 * ```ts
 * import { bufferCount, map, mergeMap, pipe } from 'rxjs';
 * import { lines, serve, settle } from 'tcp-rx';
 *
 * // Ten requests, one reply: each batch settles its ten.
 * const batcher = pipe(lines(), bufferCount(10), settle((batch) => batch.length), map((batch) => `${batch.length}\n`));
 * // A sink: a request is done once it is stored.
 * const sink = pipe(lines(), mergeMap(async (line) => store(line), 8), settle(), mergeMap(() => []));
 * await serve({ port: 7000 }, batcher);
 * ```
 */
export function settle<T>(requests: (value: T) => number = one): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const context = connectionContext();
      context?.settleManually();
      return source.subscribe({
        next(value) {
          let count: number;
          try {
            count = requests(value);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          context?.settle(count);
          subscriber.next(value);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

function one(): number {
  return 1;
}
