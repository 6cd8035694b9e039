import type { Test } from 'tap';
import { serve, silentLogger, type Protocol, type ServeOptions, type Server } from '../../source/index.js';

/** A server on a free loopback port, closed when the test ends. */
export async function startServer(t: Test, options: ServeOptions = {}, protocol?: Protocol): Promise<Server> {
  const server = await serve({ host: '127.0.0.1', port: 0, logger: silentLogger, ...options }, protocol);
  t.teardown(() => server.close());
  return server;
}
