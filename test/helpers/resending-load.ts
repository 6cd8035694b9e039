import { connect, type Socket } from 'node:net';
import { ECHO_PREFIX } from './line-client.js';

/** What a {@link resendingLoad} saw. */
export interface ResendingLoadResult {
  /** Requests sent for the first time; each must end up answered. */
  readonly requests: number;
  /** Distinct requests answered. */
  readonly answered: number;
  /** Requests sent again after their connection ended with a clean FIN before answering them. */
  readonly resent: number;
  /** Replies that were not the answer to the request in their place. */
  readonly disordered: number;
  readonly connections: number;
  /** Connection failures (ECONNREFUSED, ECONNRESET, a session past its time…), by code. */
  readonly errors: readonly string[];
}

/** A bound on each connection's life here: a wedged one is counted as an error, not waited for. */
const SESSION_TIMEOUT = 10_000;

/**
 * `clients` clients, each in a loop until stopped: connect, pipeline `depth`
 * requests, read their replies, `rounds` times, then end the connection and
 * connect again. A connection the server ends (a clean FIN) with requests
 * unanswered is no error: they were never processed, and go out again on
 * the next connection, as a client of a draining server does. Anything else
 * (refused, reset) is an error.
 */
export function resendingLoad(port: number, { clients = 4, depth = 8, rounds = 5 } = {}): { stop(): Promise<ResendingLoadResult> } {
  let running = true;
  let requests = 0;
  let resent = 0;
  let disordered = 0;
  let connections = 0;
  const answered = new Set<string>();
  const errors: string[] = [];

  /** One connection; resolves with the requests left unanswered when it closed. */
  const session = (client: number, retry: string[]): Promise<string[]> =>
    new Promise((resolve) => {
      connections++;
      const socket: Socket = connect(port, '127.0.0.1');
      let batch: string[] = [];
      let replies = 0;
      let round = 0;
      let buffered = '';
      let failed: string | undefined;
      const timer = setTimeout(() => {
        failed = 'session timeout';
        socket.destroy();
      }, SESSION_TIMEOUT);
      const send = (): void => {
        batch = retry.splice(0, depth);
        while (running && batch.length < depth) {
          batch.push(`c${client}-${requests++}`);
        }
        replies = 0;
        if (batch.length === 0) socket.end();
        else socket.write(batch.map((id) => `${id}\n`).join(''));
      };
      socket.once('connect', send);
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) !== -1) {
          const reply = buffered.slice(0, newline).replace(ECHO_PREFIX, '');
          buffered = buffered.slice(newline + 1);
          if (reply !== batch[replies]) disordered++;
          answered.add(reply);
          if (++replies === batch.length) {
            if (++round < rounds && (running || retry.length > 0)) send();
            else {
              batch = [];
              socket.end();
            }
          }
        }
      });
      socket.on('error', (error: NodeJS.ErrnoException) => (failed ??= error.code ?? error.message));
      socket.once('close', () => {
        clearTimeout(timer);
        if (failed !== undefined) errors.push(failed);
        const unanswered = batch.slice(replies);
        resent += unanswered.length;
        resolve([...unanswered, ...retry]);
      });
    });

  const loops = Array.from({ length: clients }, async (_, client) => {
    let retry: string[] = [];
    while (running || retry.length > 0) {
      retry = await session(client, retry);
      if (errors.length > 20) return; // the server is gone: stop hammering it
    }
  });

  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { requests, answered: answered.size, resent, disordered, connections, errors };
    },
  };
}
