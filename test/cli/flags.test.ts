import { availableParallelism } from 'node:os';
import t, { type Test } from 'tap';
import { benchCommand } from '../../source/cli/bench-command.js';
import type { Command } from '../../source/cli/command.js';
import { envName, kebab, parseCommandLine, readFlags, type FlagSpecs } from '../../source/cli/flags.js';
import { serveCommand } from '../../source/cli/serve-command.js';
import { topCommand } from '../../source/cli/top-command.js';

/** A flag's case: text it takes and the value that gives, and texts it refuses with the reason. */
interface FlagCase {
  readonly good: string;
  readonly value: unknown;
  readonly bad: ReadonlyArray<readonly [string, RegExp]>;
}

const TOO_LONG = /longer than 2147483647ms .*timer/;
const CIDR = /CIDR|address range|prefix/;

const serveCases: Record<string, FlagCase> = {
  addr: { good: '[::1]:9000', value: { host: '::1', port: 9000 }, bad: [['nowhere', /not an address/], [':65536', /not an address/]] },
  processes: { good: 'auto', value: availableParallelism(), bad: [['0', /whole number ≥ 1/], ['all', /not auto or a whole number/], ['1025', /more than 1,024/]] },
  workers: { good: '2000', value: 2000, bad: [['0', /whole number ≥ 1/], ['10000001', /more than 10,000,000/]] },
  queue: { good: '0', value: 0, bad: [['-1', /whole number ≥ 0/], ['1.5', /whole number/]] },
  queueTimeout: { good: '0', value: 0, bad: [['600h', TOO_LONG], ['10', /use a unit/]] },
  maxPending: { good: '64', value: 64, bad: [['0', /≥ 1/], ['1000001', /more than 1,000,000/]] },
  maxPendingBytes: { good: '4MiB', value: 4 * 1024 ** 2, bad: [['0', /less than 1B/], ['2GiB', /more than 1GiB/]] },
  replyBudget: { good: '256KiB', value: 256 * 1024, bad: [['0', /less than 1B/], ['2GiB', /more than 1GiB/]] },
  backlog: { good: '512', value: 512, bad: [['2147483648', /more than 2,147,483,647/]] },
  maxLine: { good: '1MiB', value: 1024 ** 2, bad: [['0', /less than 1B/], ['2GiB', /more than 1GiB/], ['65536', /use a unit/]] },
  keepalive: { good: '2m', value: 120_000, bad: [['500ms', /shorter than 1s \(0 turns it off\)/], ['10h', /longer than 32767s/]] },
  idleTimeout: { good: '0', value: 0, bad: [['600h', TOO_LONG], ['60', /use a unit/]] },
  readTimeout: { good: '1.5s', value: 1500, bad: [['600h', TOO_LONG]] },
  writeTimeout: { good: '500ms', value: 500, bad: [['600h', TOO_LONG]] },
  drainTimeout: { good: '2m', value: 120_000, bad: [['600h', TOO_LONG]] },
  logFormat: { good: 'json', value: 'json', bad: [['xml', /not text or json/]] },
  metricsInterval: { good: '1s', value: 1000, bad: [['600h', TOO_LONG]] },
  tlsCert: { good: 'a.pem,b.pem', value: ['a.pem', 'b.pem'], bad: [[',', /names no file/]] },
  tlsKey: { good: 'a.key', value: ['a.key'], bad: [[' , ', /names no file/]] },
  tlsCa: { good: 'ca.pem', value: ['ca.pem'], bad: [[',', /names no file/]] },
  tlsClientAuth: { good: 'require', value: 'require', bad: [['always', /not none, request or require/]] },
  tlsMinVersion: { good: 'TLSv1.3', value: 'TLSv1.3', bad: [['TLSv1.1', /not TLSv1\.2 or TLSv1\.3/]] },
  tlsHandshakeTimeout: { good: '5s', value: 5000, bad: [['0', /must be more than 0/], ['600h', TOO_LONG]] },
  allow: { good: '10.0.0.0/8,::1', value: ['10.0.0.0/8', '::1'], bad: [['10.0.0.0/33', CIDR], ['nowhere', CIDR]] },
  deny: { good: '127.0.0.2/32', value: ['127.0.0.2/32'], bad: [[',', /names no address range/]] },
  maxConnsPerIp: { good: '0', value: 0, bad: [['-1', /whole number/]] },
  metricsAddr: { good: '127.0.0.1:9100', value: { host: '127.0.0.1', port: 9100 }, bad: [['9100', /not an address/]] },
  accessLog: { good: '/var/log/tcp-rx/access.log', value: '/var/log/tcp-rx/access.log', bad: [[' ', /names no file/]] },
  proxyProtocol: { good: 'true', value: true, bad: [['maybe', /not true or false/]] },
  trustedProxies: { good: '10.0.0.0/24,::1', value: ['10.0.0.0/24', '::1'], bad: [['10.0.0.0/33', CIDR], [',', /names no address range/]] },
  proxyHeaderTimeout: { good: '500ms', value: 500, bad: [['0', /must be more than 0/], ['3', /use a unit/], ['600h', TOO_LONG]] },
};

const benchCases: Record<string, FlagCase> = {
  addr: { good: ':8081', value: { port: 8081 }, bad: [['localhost', /not an address/]] },
  clients: { good: '10000', value: 10_000, bad: [['0', /≥ 1/], ['1000001', /more than 1,000,000/]] },
  requests: { good: '1000', value: 1000, bad: [['0', /≥ 1/], ['1000000001', /more than 1,000,000,000/]] },
  duration: { good: '10s', value: 10_000, bad: [['0', /shorter than 1ms$/], ['600h', TOO_LONG]] },
  pool: { good: '10', value: 10, bad: [['0', /≥ 1/]] },
  depth: { good: '32', value: 32, bad: [['0', /≥ 1/], ['10001', /more than 10,000/]] },
  message: { good: 'ping', value: Buffer.from('ping'), bad: [['a\nb', /newline/]] },
  warmup: { good: '0', value: 0, bad: [['ten', /whole number/]] },
  timeout: { good: '200ms', value: 200, bad: [['0', /shorter than 1ms$/], ['600h', TOO_LONG]] },
  serverPid: { good: '4242', value: 4242, bad: [['4194305', /more than 4,194,304/]] },
  json: { good: 'true', value: true, bad: [['maybe', /not true or false/]] },
};

const topCases: Record<string, FlagCase> = {
  interval: { good: '250ms', value: 250, bad: [['50ms', /shorter than 100ms$/], ['2h', /longer than 1h$/], ['0', /shorter than 100ms$/]] },
  count: { good: '3', value: 3, bad: [['0', /≥ 1/]] },
};

/** Parses `argv` the way `tcp-rx <command> …` does, with `env` for the environment. */
function parse<S extends FlagSpecs>(command: Command<S>, argv: string[], env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  const line = parseCommandLine(command, argv, import.meta);
  if (line.kind !== 'run') throw new Error(`expected flags, got ${line.kind}`);
  return readFlags(command.flags, line.given, env);
}

function checkEveryFlag<S extends FlagSpecs>(t: Test, command: Command<S>, cases: Record<string, FlagCase>): void {
  t.same(Object.keys(cases).sort(), Object.keys(command.flags).sort(), `a case for each flag of ${command.name}`);
  for (const [name, { good, value, bad }] of Object.entries(cases)) {
    const flag = `--${kebab(name)}`;
    const spec = command.flags[name]!;
    const typed = spec.boolean ? [flag] : [flag, good];
    t.same(parse(command, typed)[name], value, `${flag} ${spec.boolean ? '' : good}`);
    if (!spec.boolean) t.same(parse(command, [`${flag}=${good}`])[name], value, `${flag}=${good}`);
    t.same(parse(command, [], { [envName(name)]: good })[name], value, `${envName(name)}=${good}`);
    for (const [text, reason] of bad) {
      t.throws(() => parse(command, [`${flag}=${text}`]), { name: 'UsageError', message: new RegExp(`^${flag}: .*${reason.source}`) }, `${flag}=${text}`);
      t.throws(() => parse(command, [], { [envName(name)]: text }), { name: 'UsageError', message: new RegExp(`^${envName(name)}: .*${reason.source}`) }, `${envName(name)}=${text}`);
    }
  }
}

t.test('every flag of tcp-rx serve is parsed through meow, from the command line or the environment, and range-checked', async (t) => {
  checkEveryFlag(t, serveCommand, serveCases);
});

t.test('every flag of tcp-rx bench is parsed through meow, from the command line or the environment, and range-checked', async (t) => {
  checkEveryFlag(t, benchCommand, benchCases);
});

t.test('every flag of tcp-rx top is parsed through meow, and its addresses are its arguments', async (t) => {
  checkEveryFlag(t, topCommand, topCases);
  t.match(parseCommandLine(topCommand, [':9100', '--count', '2', '127.0.0.1:9101'], import.meta), { kind: 'run', given: { count: '2' }, input: [':9100', '127.0.0.1:9101'] });
});

t.test('a flag typed beats its variable, which beats the default', async (t) => {
  t.equal(parse(serveCommand, [])['workers'], 1000, 'default');
  t.equal(parse(serveCommand, [], { TCPRX_WORKERS: '7' })['workers'], 7, 'variable');
  t.equal(parse(serveCommand, ['--workers', '9'], { TCPRX_WORKERS: '7' })['workers'], 9, 'flag');
  t.equal(parse(benchCommand, [])['duration'], undefined, 'an optional flag not given stays undefined');
  t.equal(parse(benchCommand, ['--no-json'], { TCPRX_JSON: 'yes' })['json'], false, '--no-json beats TCPRX_JSON');
});

t.test('mistakes on the command line are usage errors naming the flag', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus', '1'], /^unknown flag --bogus \(see tcp-rx serve --help\)$/],
    [['--maxLine2=3'], /^unknown flag --max-line2/],
    [['--addr'], /^--addr needs a value$/],
    [['--addr', '--workers', '3'], /^--addr needs a value$/],
    [['--addr='], /^--addr needs a value$/],
    [['--workers', '2', '--workers', '3'], /^--workers is given more than once$/],
    [['--workers', '-'], /^--workers: '-' is not a whole number/],
    [['-'], /^unexpected argument '-'/],
    [['extra'], /^unexpected argument 'extra'/],
  ];
  for (const [argv, message] of cases) {
    t.throws(() => parse(serveCommand, argv), { name: 'UsageError', message }, argv.join(' '));
  }
});

t.test('a lone - is the value of the flag before it (standard output)', async (t) => {
  t.equal(parse(serveCommand, ['--access-log', '-'])['accessLog'], '-');
  t.equal(parse(serveCommand, ['--access-log=-'])['accessLog'], '-');
  t.equal(parse(serveCommand, ['--access-log', '-', '--workers', '3'])['workers'], 3);
});

t.test('--help, anywhere, asks for the command\'s help, which lists every flag and its variable', async (t) => {
  const line = parseCommandLine(serveCommand, ['--addr', ':1', '--help'], import.meta);
  t.equal(line.kind, 'print');
  const text = line.kind === 'print' ? line.text : '';
  t.match(text, /\$ tcp-rx serve \[flags\]/);
  for (const name of Object.keys(serveCommand.flags)) t.match(text, new RegExp(`--${kebab(name)} .*${envName(name)}`), name);
  t.same(parseCommandLine(benchCommand, ['-h'], import.meta).kind, 'print', '-h too');
});

t.test('--version prints the package version', async (t) => {
  const line = parseCommandLine(serveCommand, ['--version'], import.meta);
  t.match(line, { kind: 'print', text: /^\d+\.\d+\.\d+\n$/ });
});
