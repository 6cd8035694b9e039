/**
 * A JSON request/response service: one JSON object per line in, one out.
 * A bad request gets an error reply for that request alone; the connection
 * stays open. Requests are answered in order even when a method is
 * asynchronous (`concatMap`).
 *
 *   npm run example examples/json-rpc.ts    # PORT=7002 by default
 *   printf '{"id":1,"method":"add","params":[2,3]}\n' | nc 127.0.0.1 7002
 *   → {"id":1,"result":5}
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { concatMap, pipe } from 'rxjs';
import { lines, serve } from 'tcp-rx';

type Params = unknown[];
const methods: Record<string, (params: Params) => unknown> = {
  add: (params) => params.reduce((sum: number, value) => sum + number(value), 0),
  echo: (params) => params,
  /** An asynchronous method: its reply still comes back in request order. */
  sleep: async ([ms]) => {
    await sleep(Math.min(number(ms), 1000));
    return 'ok';
  },
};

function number(value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${JSON.stringify(value)} is not a number`);
  return value;
}

async function answer(text: string): Promise<string> {
  let id: unknown = null;
  try {
    const request = JSON.parse(text) as { id?: unknown; method?: unknown; params?: unknown };
    id = request.id ?? null;
    const method = typeof request.method === 'string' ? methods[request.method] : undefined;
    if (method === undefined) return reply({ id, error: `unknown method ${JSON.stringify(request.method)}` });
    return reply({ id, result: await method(Array.isArray(request.params) ? request.params : []) });
  } catch (error) {
    return reply({ id, error: error instanceof SyntaxError ? 'invalid JSON' : (error as Error).message });
  }
}

const reply = (body: object): string => JSON.stringify(body) + '\n';

/** Each frame is the pipeline's to keep: `concatMap` may hold it until the answers before it are done. */
const jsonRpc = pipe(
  lines({ maxLength: 64 * 1024 }),
  concatMap((line) => answer(line.toString('utf8'))),
);

const server = await serve({ host: '127.0.0.1', port: Number(process.env.PORT ?? 7002) }, jsonRpc);
console.log(`json-rpc service listening on ${server.address.address}:${server.address.port}`);
process.once('SIGTERM', () => void server.close());
process.once('SIGINT', () => void server.close());
