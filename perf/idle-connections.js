// @ts-check
/** The idle scenario: many connections opened with tcp-rx's own client and held, doing nothing. */
import { connect } from '../dist/index.js';

/**
 * Opens `count` connections to `port` (`concurrency` attempts at a time),
 * each sending one line and reading its reply first with `greet` (a client
 * that says hello, then idles), holds them for `hold` ms, awaits `measure`
 * while they are held, then checks that a sample of them is still served and
 * closes them all.
 * @template T
 * @param {{ port: number, count: number, hold: number, measure: () => T | Promise<T>, concurrency?: number, greet?: boolean }} options
 */
export async function holdIdleConnections({ port, count, hold, measure, concurrency = 256, greet = false }) {
  /** @type {import('../dist/index.js').ClientConnection[]} */
  const connections = [];
  let failed = 0;
  let next = 0;
  const opener = async () => {
    while (next++ < count) {
      await connect({ host: '127.0.0.1', port }, { requestTimeout: 5_000 })
        .then(async (connection) => {
          connections.push(connection);
          if (greet) await connection.request('hello');
        })
        .catch(() => failed++);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, opener));
  await new Promise((resolve) => setTimeout(resolve, hold));
  const measured = await measure();
  // Held is not enough: every 100th connection must still answer.
  const sample = connections.filter((_, index) => index % 100 === 0);
  const answered = (await Promise.allSettled(sample.map((connection) => connection.request('still there?')))).filter(
    (outcome) => outcome.status === 'fulfilled' && outcome.value.includes('Echo: still there?'),
  ).length;
  for (const connection of connections) connection.destroy();
  return { opened: connections.length, failed, sampled: sample.length, answered, measured };
}
