import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import { connectionContext, type ConnectionContext } from '../connection-context.js';

/** What {@link operator} calls as values, the end, or an error arrive from upstream. */
export interface OperatorHandlers<In> {
  next(value: In): void;
  /** Default: complete downstream. */
  complete?(): void;
  /** Default: error downstream. */
  error?(error: unknown): void;
  /** Runs once when the subscription ends, however it ends: give back what was taken. */
  finalize?(): void;
}

/**
 * Writes a custom operator (a framing or a handler) that cannot hurt its
 * connection's neighbours.
 *
 * `setup` runs once per subscription, that is once per connection, with the
 * downstream subscriber and the connection's {@link ConnectionContext}
 * (`undefined` outside a server), and returns the handlers. A throw from
 * any handler errors the stream, so the connection answers `ERR internal`
 * (or a {@link ProtocolError}'s own line) and closes, alone. A plain
 * `source.subscribe({ next() { … } })` does not: RxJS can deliver its throw
 * to no one, and tcp-rx then has to find the connection after the fact.
 *
 * @example
 * ```ts
 * import { operator, ProtocolError } from 'tcp-rx';
 *
 * // Answers each line with its length; an empty line is a protocol error.
 * const lengths = operator<Buffer, string>((out) => ({
 *   next(line) {
 *     if (line.length === 0) throw new ProtocolError('ERR empty line\n', 'empty-line');
 *     out.next(`${line.length}\n`);
 *   },
 * }));
 * ```
 */
export function operator<In, Out>(setup: (output: Subscriber<Out>, context: ConnectionContext | undefined) => OperatorHandlers<In>): OperatorFunction<In, Out> {
  return (source) =>
    new Observable<Out>((output) => {
      const handlers = setup(output, connectionContext());
      const subscription = source.subscribe({
        next(value) {
          try {
            handlers.next(value);
          } catch (error) {
            output.error(error);
          }
        },
        error(error: unknown) {
          try {
            if (handlers.error) handlers.error(error);
            else output.error(error);
          } catch (thrown) {
            output.error(thrown);
          }
        },
        complete() {
          try {
            if (handlers.complete) handlers.complete();
            else output.complete();
          } catch (error) {
            output.error(error);
          }
        },
      });
      return () => {
        subscription.unsubscribe();
        handlers.finalize?.();
      };
    });
}
