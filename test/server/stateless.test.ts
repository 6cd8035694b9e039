import { defer, finalize, map, scan } from 'rxjs';
import t from 'tap';
import { lines, stateless, type Protocol } from '../../source/index.js';
import { HIBERNATE_AFTER } from '../../source/server/stateless.js';
import { LineClient } from '../helpers/line-client.js';
import { recordEvents, startServer } from '../helpers/server.js';

/** A protocol that counts its subscriptions and their ends, and numbers each line within its subscription (`scan`). */
function counted(): { protocol: Protocol; subscribed: () => number; ended: () => number } {
  let subscribed = 0;
  let ended = 0;
  const protocol: Protocol = (chunks) =>
    defer(() => {
      subscribed++;
      return chunks.pipe(
        lines(),
        scan((count: number) => count + 1, 0),
        map((count) => `${count}\n`),
        finalize(() => ended++),
      );
    });
  return { protocol, subscribed: () => subscribed, ended: () => ended };
}

/** Waits, bounded, until `done()`. */
async function until(done: () => boolean, what: string, timeout = HIBERNATE_AFTER * 5): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('a stateless protocol is subscribed at the first byte, dropped when the connection idles, and subscribed again by the next', async (t) => {
  const { protocol, subscribed, ended } = counted();
  const server = await startServer(t, {}, stateless(protocol));
  const { closeReasons, waitFor } = recordEvents(server);
  const client = await LineClient.open(server.address.port);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(subscribed(), 0, 'a connection that has sent nothing holds no pipeline');
  client.send('a\nb\n');
  t.same(await client.readLines(2), ['1', '2']);
  t.equal(subscribed(), 1);
  await until(() => ended() === 1, 'the pipeline to hibernate');
  t.equal(client.socket.destroyed, false, 'the connection stays open while its pipeline hibernates');
  client.send('c\n');
  t.same(await client.readLines(3), ['1', '2', '1'], 'the next line wakes a new subscription (a scan starts again: why only a stateless protocol is declared so)');
  t.equal(subscribed(), 2);
  await until(() => ended() === 2, 'the pipeline to hibernate again');
  // The peer finishes while the pipeline sleeps: the connection ends as its pipeline would, with a FIN.
  client.socket.end();
  await client.readToEnd();
  await waitFor((event) => event.type === 'closed');
  t.same(closeReasons(), ['end']);
  t.equal(subscribed(), 2, 'the end wakes nothing');
});

t.test('a first exchange puts the pipeline back to sleep as it is answered; a connection that talks on keeps it for a quiet second', async (t) => {
  const { protocol, subscribed, ended } = counted();
  const server = await startServer(t, {}, stateless(protocol));
  const client = await LineClient.open(server.address.port);
  client.send('a\n');
  t.same(await client.readLines(1), ['1']);
  // Dropped in the read that was answered, before the reply left: so while it is still young garbage.
  t.equal(ended(), 1, 'the first wake ends with its read');
  client.send('b\n');
  t.same(await client.readLines(2), ['1', '1'], 'the next line wakes a new subscription');
  client.send('c\n');
  t.same(await client.readLines(3), ['1', '1', '2'], 'woken within a second of its last exchange, the pipeline stays awake: the scan counts on');
  t.equal(subscribed(), 2);
  t.equal(ended(), 1);
  await until(() => ended() === 2, 'the pipeline to hibernate after a quiet second');
  client.send('d\n');
  t.same(await client.readLines(4), ['1', '1', '2', '1'], 'woken after a quiet second, a new subscription');
  t.equal(ended(), 3, 'which sleeps again with its read');
  client.close();
});

t.test('a protocol not declared stateless keeps its pipeline, and its state, however long the connection idles', async (t) => {
  const { protocol, subscribed, ended } = counted();
  const server = await startServer(t, {}, protocol);
  const client = await LineClient.open(server.address.port);
  await until(() => subscribed() === 1, 'the pipeline, subscribed as the connection opens');
  client.send('a\n');
  t.same(await client.readLines(1), ['1']);
  await new Promise((resolve) => setTimeout(resolve, HIBERNATE_AFTER * 2.5));
  t.equal(ended(), 0, 'not dropped');
  client.send('b\n');
  t.same(await client.readLines(2), ['1', '2'], 'the scan counts on');
  t.equal(subscribed(), 1);
  client.close();
});

t.test('a connection whose stateless pipeline sleeps drains at shutdown with nothing cut, and a half-read line keeps it awake', async (t) => {
  const { protocol, ended } = counted();
  const server = await startServer(t, {}, stateless(protocol));
  const asleep = await LineClient.open(server.address.port);
  const partial = await LineClient.open(server.address.port);
  asleep.send('a\n');
  partial.send('b\nhalf');
  await asleep.readLines(1);
  await partial.readLines(1);
  await until(() => ended() === 1, 'the idle pipeline to hibernate');
  await new Promise((resolve) => setTimeout(resolve, HIBERNATE_AFTER));
  t.equal(ended(), 1, 'the connection holding half a line keeps its pipeline');
  partial.send(' line\n');
  t.same(await partial.readLines(2), ['1', '2'], 'and finishes the line in the same subscription');
  const closing = server.close();
  await asleep.readToEnd();
  await partial.readToEnd();
  t.same(await closing, { destroyed: 0 });
});
