import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import t from 'tap';
import { createCa } from '../helpers/certificates.js';
import { runCli, startCliServer } from '../helpers/cli.js';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';

const ca = createCa(t);
const served = (name: string): { certFile: string; keyFile: string } => ({ certFile: join(ca.dir, `${name}.pem`), keyFile: join(ca.dir, `${name}.key`) });

t.test('SIGHUP re-reads the certificate files: new connections see the new one, an open one carries on, a bad reload changes nothing', async (t) => {
  const first = ca.issue('first', { dns: ['localhost'], serial: 4097 });
  const second = ca.issue('second', { dns: ['localhost'], serial: 4098 });
  const live = served('live');
  copyFileSync(first.certFile, live.certFile);
  copyFileSync(first.keyFile, live.keyFile);
  const server = await startCliServer(['--tls-cert', live.certFile, '--tls-key', live.keyFile]);
  t.teardown(() => server.child.kill('SIGKILL'));
  const options = { ca: ca.cert, servername: 'localhost' };

  const open = await LineClient.openTls(server.port, options);
  t.equal(open.socket.getPeerX509Certificate()?.serialNumber, '1001');

  copyFileSync(second.certFile, live.certFile);
  copyFileSync(second.keyFile, live.keyFile);
  server.child.kill('SIGHUP');
  await server.waitFor(/SIGHUP: certificates reloaded/);
  const fresh = await LineClient.openTls(server.port, options);
  t.equal(fresh.socket.getPeerX509Certificate()?.serialNumber, '1002');

  copyFileSync(first.keyFile, live.keyFile); // no longer the certificate's key
  server.child.kill('SIGHUP');
  await server.waitFor(/SIGHUP: certificate reload failed; serving on with the certificates in use reason=.*/);
  const after = await LineClient.openTls(server.port, options);
  t.equal(after.socket.getPeerX509Certificate()?.serialNumber, '1002', 'the certificate in use stays');

  open.send('still open\n');
  t.equal((await open.readLines(1))[0]!.replace(ECHO_PREFIX, ''), 'still open');
  for (const client of [open, fresh, after]) client.close();
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('several --tls-cert/--tls-key pairs: each certificate serves the names it holds (SNI), the first by default', async (t) => {
  const alpha = ca.issue('alpha', { dns: ['alpha.test', 'localhost'] });
  const beta = ca.issue('beta', { dns: ['beta.test', '*.beta.test'] });
  const server = await startCliServer([], { TCPRX_TLS_CERT: `${alpha.certFile},${beta.certFile}`, TCPRX_TLS_KEY: `${alpha.keyFile},${beta.keyFile}` });
  t.teardown(() => server.child.kill('SIGKILL'));
  const certificateFor = async (servername?: string): Promise<string | undefined> => {
    const client = await LineClient.openTls(server.port, { ca: ca.cert, ...(servername === undefined ? {} : { servername }), checkServerIdentity: () => undefined });
    const subject = client.socket.getPeerX509Certificate()?.subject;
    client.send('hi\n');
    await client.readLines(1);
    client.close();
    return subject;
  };
  t.equal(await certificateFor('beta.test'), 'CN=beta');
  t.equal(await certificateFor('www.beta.test'), 'CN=beta');
  t.equal(await certificateFor('alpha.test'), 'CN=alpha');
  t.equal(await certificateFor(undefined), 'CN=alpha');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('mTLS from the command line, with handshake metrics on /metrics and in the log line', async (t) => {
  const localhost = ca.issue('localhost', { dns: ['localhost'] });
  const alice = ca.issue('alice', { subject: '/CN=alice' });
  const server = await startCliServer([
    '--tls-cert', localhost.certFile, '--tls-key', localhost.keyFile, '--tls-ca', ca.certFile, '--tls-client-auth', 'require',
    '--metrics-addr', '127.0.0.1:0', '--metrics-interval', '200ms',
  ]);
  t.teardown(() => server.child.kill('SIGKILL'));
  const [, metricsPort] = await server.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
  const options = { ca: ca.cert, servername: 'localhost' };
  const anonymous = await LineClient.openTls(server.port, options).catch(() => undefined);
  await anonymous?.readToEnd().catch(() => undefined);
  const client = await LineClient.openTls(server.port, { ...options, cert: alice.cert, key: alice.key });
  client.send('hello\n');
  t.match((await client.readLines(1))[0], ECHO_PREFIX);
  client.close();

  await server.waitFor(/Handshakes=1 Protocols=TLSv1\.3:1 HandshakeFailed=no-certificate:1 HandshakeAvg=\d+\.\d\dms/);
  const families = parsePrometheusTextFormat(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
  const family = (name: string) => families.find((candidate) => candidate.name === name);
  t.same(family('tcprx_tls_handshakes_total')?.metrics, [{ labels: { protocol: 'TLSv1.3' }, value: '1' }]);
  t.same(family('tcprx_tls_handshake_failures_total')?.metrics, [{ labels: { reason: 'no-certificate' }, value: '1' }]);
  t.equal(family('tcprx_tls_handshake_duration_seconds')?.type, 'HISTOGRAM');
  t.match(server.stderr(), /TLS handshake failed peer=127\.0\.0\.1:\d+ reason=no-certificate/);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('--allow, --deny and --max-conns-per-ip from the command line', async (t) => {
  const server = await startCliServer(['--allow', '127.0.0.0/8', '--deny', '127.0.0.2', '--max-conns-per-ip', '1']);
  t.teardown(() => server.child.kill('SIGKILL'));
  const client = await LineClient.open(server.port);
  client.send('one\n');
  await client.readLines(1);
  const second = await LineClient.open(server.port);
  t.equal((await second.readToEnd()).toString(), 'ERR too many connections\n');
  client.close();
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('TLS and access flags that do not go together, or bad values, are one line and exit 2; a missing file, exit 1', async (t) => {
  const pair = ca.issue('pair', { dns: ['localhost'] });
  const cases: Array<[string[], number, RegExp]> = [
    [['--tls-cert', pair.certFile, '--tls-key', pair.keyFile, '--tls-client-auth', 'require'], 2, /^tcp-rx: --tls-client-auth require needs --tls-ca, the CA that client certificates are verified against\n$/],
    [['--allow', '10.0.0.0/40'], 2, /^tcp-rx: --allow: '10.0.0.0\/40' is not an address range: use CIDR notation, as in 10.0.0.0\/8, 2001:db8::\/32 or 127.0.0.1\n$/],
    [['--tls-cert', join(ca.dir, 'nope.pem'), '--tls-key', pair.keyFile], 1, /^tcp-rx: cannot read .*nope\.pem: ENOENT\n$/],
  ];
  // Side by side: each is a process start.
  const runs = cases.map(([args]) => runCli(['serve', '--addr', '127.0.0.1:0', ...args]));
  for (const [index, [args, code, message]] of cases.entries()) {
    t.equal(await runs[index]!.exited, code, args.join(' '));
    t.match(runs[index]!.stderr(), message, args.join(' '));
  }
});
