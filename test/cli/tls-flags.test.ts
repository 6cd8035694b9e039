import t from 'tap';
import { serveCommand } from '../../source/cli/serve-command.js';
import { readFlags } from '../../source/cli/flags.js';
import { certificateFiles } from '../../source/cli/tls-flags.js';

const flags = (given: Record<string, string>, env: NodeJS.ProcessEnv = {}) => readFlags(serveCommand.flags, given, env);

t.test('the TLS flags read lists of files, from the command line or the environment', async (t) => {
  const fromFlags = flags({ tlsCert: 'a.pem, b.pem', tlsKey: 'a.key,b.key', tlsCa: 'ca.pem' });
  t.same(certificateFiles(fromFlags), { certs: ['a.pem', 'b.pem'], keys: ['a.key', 'b.key'], ca: ['ca.pem'] });
  const fromEnv = flags({}, { TCPRX_TLS_CERT: 'a.pem', TCPRX_TLS_KEY: 'a.key' });
  t.same(certificateFiles(fromEnv), { certs: ['a.pem'], keys: ['a.key'], ca: undefined });
  t.equal(certificateFiles(flags({})), undefined, 'no certificate: plain TCP');
  t.match(flags({}), { tlsClientAuth: 'none', tlsMinVersion: 'TLSv1.2', tlsHandshakeTimeout: 10_000, maxConnsPerIp: 0 });
});

t.test('TLS flags that do not go together are usage errors that say what is missing', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ tlsKey: 'a.key' }, /^--tls-key needs --tls-cert$/],
    [{ tlsCa: 'ca.pem' }, /^--tls-ca needs --tls-cert$/],
    [{ tlsClientAuth: 'request' }, /^--tls-client-auth needs --tls-cert$/],
    [{ tlsCert: 'a.pem' }, /^--tls-key: give one key file per --tls-cert file \(1 certificate\(s\), 0 key\(s\)\)$/],
    [{ tlsCert: 'a.pem,b.pem', tlsKey: 'a.key' }, /^--tls-key: give one key file per --tls-cert file \(2 certificate\(s\), 1 key\(s\)\)$/],
    [{ tlsCert: 'a.pem', tlsKey: 'a.key', tlsClientAuth: 'require' }, /^--tls-client-auth require needs --tls-ca/],
  ];
  for (const [given, message] of cases) t.throws(() => certificateFiles(flags(given)), { name: 'UsageError', message }, JSON.stringify(given));
});

t.test('bad TLS and access values name the flag', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ tlsClientAuth: 'maybe' }, /^--tls-client-auth: 'maybe' is not none, request or require$/],
    [{ tlsMinVersion: 'TLSv1.1' }, /^--tls-min-version: 'TLSv1.1' is not TLSv1.2 or TLSv1.3$/],
    [{ tlsHandshakeTimeout: '0' }, /^--tls-handshake-timeout: '0' must be more than 0$/],
    [{ tlsHandshakeTimeout: '10' }, /^--tls-handshake-timeout: '10' is not a duration/],
    [{ tlsCert: ' , ' }, /^--tls-cert: ' , ' names no file$/],
    [{ allow: '10.0.0.0/40' }, /^--allow: '10.0.0.0\/40' is not an address range/],
    [{ deny: 'localhost' }, /^--deny: 'localhost' is not an address range/],
    [{ maxConnsPerIp: '-1' }, /^--max-conns-per-ip: '-1' is not a whole number/],
  ];
  for (const [given, message] of cases) t.throws(() => flags(given), { name: 'UsageError', message }, JSON.stringify(given));
  t.same(flags({ allow: '10.0.0.0/8, ::1' }).allow, ['10.0.0.0/8', '::1']);
});
