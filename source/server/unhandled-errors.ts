import { triggerAsyncId } from 'node:async_hooks';
import type { Socket } from 'node:net';
import { config } from 'rxjs';
import type { Logger } from '../logger.js';
import type { ActiveConnection } from './connection.js';

/** A running server, as far as errors that nothing caught concern it. */
export interface ErrorScope {
  readonly active: Iterable<ActiveConnection>;
  readonly logger: Logger;
}

const scopes = new Set<ErrorScope>();
let previous: ((error: unknown) => void) | null = null;

/**
 * Keeps an error that RxJS could deliver to no one from ending the process.
 *
 * A hand-written operator whose observer throws (`source.subscribe({ next()
 * { throw … } })`) does not error its stream: RxJS reports the error through
 * `config.onUnhandledError`, and without a handler rethrows it from a timer,
 * where it takes the process down with every connection. While a server
 * runs, tcp-rx handles those reports: the timer that carries one was
 * started by the code that threw, so `triggerAsyncId()` names the socket
 * whose read was being served, and that connection alone ends with
 * `ERR internal`. An error thrown from a step of its own (a timer, a
 * promise) cannot be traced back like that: it is logged with its stack and
 * the server serves on. A handler set before the first server started is
 * called for whatever no connection claims, and is restored when the last
 * server has closed.
 *
 * Returns a function that stops handling them for `scope`.
 */
export function containUnhandledErrors(scope: ErrorScope): () => void {
  if (scopes.size === 0) {
    previous = config.onUnhandledError;
    config.onUnhandledError = report;
  }
  scopes.add(scope);
  return () => {
    scopes.delete(scope);
    if (scopes.size === 0 && config.onUnhandledError === report) config.onUnhandledError = previous;
  };
}

function report(error: unknown): void {
  const trigger = triggerAsyncId();
  for (const scope of scopes) {
    for (const connection of scope.active) {
      if (asyncIdOf(connection.socket) === trigger) return connection.fail(error);
    }
  }
  if (previous !== null) return previous(error);
  for (const scope of scopes) return scope.logger.log('error', 'a pipeline failed outside any read', { error });
}

function asyncIdOf(socket: Socket): number | undefined {
  return (socket as Socket & { _handle?: { getAsyncId?(): number } | null })._handle?.getAsyncId?.();
}
