import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { freePort, startHaproxy } from '../helpers/haproxy.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { resendingLoad } from '../helpers/resending-load.js';

/** The deployment users copy: deploy/haproxy.cfg, its addresses given through its environment. */
const CONFIG = fileURLToPath(new URL('../../deploy/haproxy.cfg', import.meta.url));

interface Instance extends CliProcess {
  readonly port: number;
  readonly metricsPort: number;
}

/** `tcp-rx serve --proxy-protocol` as the systemd unit runs it, with its access log on stdout. */
async function startInstance(t: Test): Promise<Instance> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const server = runCli(['serve', '--addr', `127.0.0.1:${port}`, '--metrics-addr', `127.0.0.1:${metricsPort}`, '--access-log', '-', '--drain-timeout', '5s'], {
    TCPRX_PROXY_PROTOCOL: 'true',
  });
  t.teardown(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });
  await server.waitFor(/metrics on http/);
  return Object.assign(server, { port, metricsPort });
}

/** Two instances behind haproxy with deploy/haproxy.cfg; resolves once haproxy's checks have seen both ready. */
async function deployment(t: Test): Promise<{ frontend: number; a: Instance; b: Instance }> {
  const [a, b] = [await startInstance(t), await startInstance(t)];
  const frontend = await freePort();
  await startHaproxy(t, {
    file: CONFIG,
    frontend,
    env: {
      TCPRX_FRONTEND: `127.0.0.1:${frontend}`,
      TCPRX_A: `127.0.0.1:${a.port}`,
      TCPRX_A_METRICS_PORT: String(a.metricsPort),
      TCPRX_B: `127.0.0.1:${b.port}`,
      TCPRX_B_METRICS_PORT: String(b.metricsPort),
      TCPRX_CHECK_INTERVAL: '100ms',
      HAPROXY_MAXCONN: '4000', // this machine allows 20,000 open files a process
    },
  });
  // Servers start up in HAProxy; each is served once before the test begins.
  for (const instance of [a, b]) {
    for (const deadline = Date.now() + 5_000; !/requests=1 /.test(instance.stdout()); ) {
      if (Date.now() > deadline) throw new Error(`no connection reached ${instance.port} through haproxy`);
      await echoThrough(frontend);
    }
  }
  return { frontend, a, b };
}

/** One connection through haproxy from 127.0.0.2: a line, its echo, a FIN; resolves with the local port. */
async function echoThrough(port: number): Promise<number> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  await once(socket, 'connect');
  const client = LineClient.over(socket);
  client.send('hello\n');
  const [reply] = await client.readLines(1);
  if (!ECHO_PREFIX.test(reply!)) throw new Error(`not an echo: ${reply}`);
  const local = socket.localPort!;
  socket.end();
  await client.closed;
  return local;
}

t.test('through deploy/haproxy.cfg, tcp-rx logs each client with its own address and port', async (t) => {
  const { frontend, a, b } = await deployment(t);
  const ports = await Promise.all(Array.from({ length: 10 }, () => echoThrough(frontend)));
  await new Promise((resolve) => setTimeout(resolve, 200)); // the access logs write in batches
  const logged = (a.stdout() + b.stdout()).split('\n');
  for (const port of ports) t.ok(logged.some((line) => line.includes(` peer=127.0.0.2:${port} `)), `client 127.0.0.2:${port} in an access log`);
  // (haproxy's address is 127.0.0.1; so is the probe that waited for it to listen, which sent no request)
  t.same(logged.filter((line) => / requests=[1-9]/.test(line) && !/ peer=127\.0\.0\.2:/.test(line)), [], "no client's line names haproxy's address");
});

t.test('an instance killed with SIGKILL loses no new connection: haproxy sends them to the other', async (t) => {
  const { frontend, a, b } = await deployment(t);
  a.child.kill('SIGKILL');
  await a.exited;
  let served = 0;
  for (let i = 0; i < 30; i++) {
    await echoThrough(frontend); // throws on a refused, reset or unanswered connection
    served++;
  }
  t.equal(served, 30, 'every new connection after the kill was served');
  t.match(b.stdout(), /requests=1 reason=end/);
});

t.test('SIGTERM on one instance under load fails no request of clients that resend after a clean FIN', async (t) => {
  const { frontend, a, b } = await deployment(t);
  const load = resendingLoad(frontend, { clients: 6, depth: 8, rounds: 4 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  a.child.kill('SIGTERM');
  t.equal(await a.exited, 0, 'the instance drained cleanly');
  await new Promise((resolve) => setTimeout(resolve, 500)); // load goes on through the other instance
  const result = await load.stop();
  t.same(result.errors, [], 'no connection refused or reset');
  t.equal(result.answered, result.requests, `every request answered (${result.requests}, ${result.resent} of them resent after a clean FIN)`);
  t.equal(result.disordered, 0, 'replies in order');
  t.ok(b.stdout().length > 0, 'the other instance served');
});
