/**
 * An uppercase line service: each line comes back in capitals.
 *
 *   npm run example examples/uppercase.ts   # PORT=7001 by default
 *   printf 'hello\n' | nc 127.0.0.1 7001    # → HELLO
 */
import { map, pipe } from 'rxjs';
import { lines, serve } from 'tcp-rx';

/** Decoding to a string copies the borrowed frame, so nothing outlives it. */
const uppercase = pipe(
  lines({ maxLength: 4096 }),
  map((line) => line.toString('utf8').toUpperCase() + '\n'),
);

const server = await serve({ host: '127.0.0.1', port: Number(process.env.PORT ?? 7001) }, uppercase);
console.log(`uppercase service listening on ${server.address.address}:${server.address.port}`);
process.once('SIGTERM', () => void server.close());
process.once('SIGINT', () => void server.close());
