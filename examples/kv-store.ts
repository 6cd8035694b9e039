/**
 * An in-memory key-value store shared by every connection.
 *
 *   npm run example examples/kv-store.ts    # PORT=7003 by default
 *   SET greeting hello world   → OK
 *   GET greeting               → VALUE hello world
 *   DEL greeting               → DELETED 1
 *   GET greeting               → NOT_FOUND
 *   KEYS                       → KEYS 0
 *
 * A malformed command gets `ERR …` for that command alone.
 */
import { map, pipe } from 'rxjs';
import { lines, serve } from 'tcp-rx';

const store = new Map<string, string>();

function execute(line: string): string {
  const [command = '', key, ...rest] = line.split(' ');
  switch (command.toUpperCase()) {
    case 'SET':
      if (!key || rest.length === 0) return 'ERR usage: SET <key> <value>';
      store.set(key, rest.join(' '));
      return 'OK';
    case 'GET':
      if (!key) return 'ERR usage: GET <key>';
      return store.has(key) ? `VALUE ${store.get(key)}` : 'NOT_FOUND';
    case 'DEL':
      if (!key) return 'ERR usage: DEL <key>';
      return `DELETED ${store.delete(key) ? 1 : 0}`;
    case 'KEYS':
      return `KEYS ${store.size}`;
    default:
      return `ERR unknown command ${JSON.stringify(command)}`;
  }
}

const kvStore = pipe(
  lines({ maxLength: 1024 * 1024 }),
  map((line) => execute(line.toString('utf8')) + '\n'),
);

const server = await serve({ host: '127.0.0.1', port: Number(process.env.PORT ?? 7003) }, kvStore);
console.log(`kv-store listening on ${server.address.address}:${server.address.port}`);
process.once('SIGTERM', () => void server.close());
process.once('SIGINT', () => void server.close());
