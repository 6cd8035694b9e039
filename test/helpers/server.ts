import type { Test } from 'tap';
import { serve, silentLogger, type Protocol, type ServeOptions, type Server, type ServerEvent } from '../../source/index.js';

/** A server on a free loopback port, closed when the test ends. */
export async function startServer(t: Test, options: ServeOptions = {}, protocol?: Protocol): Promise<Server> {
  const server = await serve({ host: '127.0.0.1', port: 0, logger: silentLogger, ...options }, protocol);
  t.teardown(() => server.close());
  return server;
}

/** Every event the server publishes from now on, and a way to wait for one. */
export function recordEvents(server: Server): { events: ServerEvent[]; closeReasons: () => string[]; waitFor: (predicate: (event: ServerEvent) => boolean, timeout?: number) => Promise<ServerEvent> } {
  const events: ServerEvent[] = [];
  const waiters = new Set<() => void>();
  server.events$.subscribe((event) => {
    events.push(event);
    for (const wake of waiters) wake();
  });
  return {
    events,
    closeReasons: () => events.flatMap((event) => (event.type === 'closed' ? [event.reason] : [])),
    waitFor: (predicate, timeout = 5000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(predicate);
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error('timed out waiting for an event'));
        }, timeout);
        waiters.add(check);
        check();
      }),
  };
}
