import { execFileSync } from 'node:child_process';
import { pipe } from 'rxjs';
import t from 'tap';
import { connectionContext, echo, lines, type Protocol } from '../../source/index.js';
import { LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

/** The server side of an established connection as `ss` (iproute2) shows it, timers included. */
function serverSocket(port: number): string {
  return execFileSync('ss', ['-tno', 'state', 'established', 'sport', '=', `:${port}`], { encoding: 'utf8' });
}

const hasSs = (() => {
  try {
    execFileSync('ss', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

t.test('every connection has TCP keep-alive on after the delay given, and none when it is turned off', { skip: !hasSs && 'needs ss (iproute2)' }, async (t) => {
  for (const [keepAlive, expected] of [
    // ss writes the time to the first probe as 6.980ms (6 s 980 ms) or 7sec; the system's default would be 119min.
    [7000, /timer:\(keepalive,[1-7][.s]/],
    [0, /^(?![\s\S]*keepalive)/],
  ] as const) {
    const server = await startServer(t, { keepAlive });
    const client = await LineClient.open(server.address.port);
    client.send('hello\n');
    await client.readLines(1);
    const shown = serverSocket(server.address.port);
    t.match(shown, new RegExp(`127\\.0\\.0\\.1:${server.address.port}`), 'the connection is listed');
    t.match(shown, expected, `keepAlive ${keepAlive}`);
    client.close();
  }
});

t.test("a protocol can still turn a connection's keep-alive off: the adopted socket knows the kernel's state", { skip: !hasSs && 'needs ss (iproute2)' }, async (t) => {
  const protocol: Protocol = (chunks) => {
    connectionContext()!.socket.setKeepAlive(false);
    return pipe(lines(), echo())(chunks);
  };
  const server = await startServer(t, { keepAlive: 7000 }, protocol);
  const client = await LineClient.open(server.address.port);
  client.send('hello\n');
  await client.readLines(1);
  const shown = serverSocket(server.address.port);
  t.match(shown, new RegExp(`127\\.0\\.0\\.1:${server.address.port}`), 'the connection is listed');
  t.notMatch(shown, /keepalive/, 'keep-alive is off');
  client.close();
});

t.test("a protocol can still turn Nagle's algorithm back on: the adopted socket knows it is off", async (t) => {
  const calls: boolean[] = [];
  const protocol: Protocol = (chunks) => {
    const { socket } = connectionContext()!;
    const handle = (socket as typeof socket & { _handle: { setNoDelay(on: boolean): number } })._handle;
    const setNoDelay = handle.setNoDelay.bind(handle);
    handle.setNoDelay = (on) => (calls.push(on), setNoDelay(on));
    socket.setNoDelay(true); // already on: Node makes no call
    socket.setNoDelay(false);
    return pipe(lines(), echo())(chunks);
  };
  const server = await startServer(t, {}, protocol);
  const client = await LineClient.open(server.address.port);
  client.send('hello\n');
  await client.readLines(1);
  t.same(calls, [false], 'one call, to turn it off');
  client.close();
});
