import { map, pipe } from 'rxjs';
import t from 'tap';
import { lines, ProtocolError, rateLimited, type Logger, type LogLevel } from '../source/index.js';
import { LineClient } from './helpers/line-client.js';
import { recordEvents, startServer } from './helpers/server.js';

interface LogRecord {
  level: LogLevel;
  message: string;
  fields?: Readonly<Record<string, unknown>>;
}

function recordingLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { records, log: (level, message, fields) => void records.push({ level, message, ...(fields && { fields }) }) };
}

const messages = (records: LogRecord[], level: LogLevel): string[] => records.filter((record) => record.level === level).map((record) => record.message);

/** Polls until `check` holds, for at most `timeout` ms. */
async function eventually(check: () => boolean, timeout = 3_000): Promise<boolean> {
  for (const deadline = Date.now() + timeout; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (check()) return true;
  }
  return check();
}

t.test('at most perInterval warnings and errors each; the rest counted in one line as the interval ends', async (t) => {
  const target = recordingLogger();
  const logger = rateLimited(target, { perInterval: 3, interval: 100 });
  for (let i = 0; i < 10; i++) logger.log('warn', `bad peer ${i}`);
  for (let i = 0; i < 5; i++) logger.log('error', `handler failed ${i}`);
  logger.log('info', 'a phase');
  t.same(messages(target.records, 'warn'), ['bad peer 0', 'bad peer 1', 'bad peer 2']);
  t.same(messages(target.records, 'error'), ['handler failed 0', 'handler failed 1', 'handler failed 2'], 'errors have their own allowance');
  t.same(messages(target.records, 'info'), ['a phase'], 'info is never limited');
  t.ok(await eventually(() => target.records.length === 9), 'the interval ends');
  t.same(target.records.slice(7), [
    { level: 'warn', message: 'suppressed 7 warn records', fields: { interval: '100ms' } },
    { level: 'error', message: 'suppressed 2 error records', fields: { interval: '100ms' } },
  ]);
  logger.log('warn', 'a new interval');
  t.equal(target.records.at(-1)?.message, 'a new interval', 'a new interval lets records through again');
  logger.flush();
  t.equal(target.records.length, 10, 'nothing suppressed, nothing to report');
});

t.test('flush() reports what was suppressed at once', async (t) => {
  const target = recordingLogger();
  const logger = rateLimited(target, { perInterval: 1, interval: 60_000 });
  logger.log('warn', 'first');
  logger.log('warn', 'second');
  logger.flush();
  t.same(messages(target.records, 'warn'), ['first', 'suppressed 1 warn records']);
});

t.test('the format of the wrapped logger shows through', async (t) => {
  t.equal(rateLimited({ format: 'json', log() {} }).format, 'json');
  t.equal(rateLimited(recordingLogger()).format, undefined);
});

t.test('a flood of bad peers and failing handlers costs a few log lines; the server carries on', async (t) => {
  const target = recordingLogger();
  const refuse = pipe(
    lines(),
    map((line) => {
      if (line.toString() === 'bad') throw new ProtocolError('ERR bad\n', 'bad-request');
      if (line.toString() === 'boom') throw new Error('handler exploded');
      return `ok ${line}\n`;
    }),
  );
  const server = await startServer(t, { logger: target, metricsInterval: 0 }, refuse);
  const recorded = recordEvents(server);
  const bystander = await LineClient.open(server.address.port);
  const peers = 25;
  for (let i = 0; i < peers; i++) {
    for (const request of ['bad', 'boom']) {
      const peer = await LineClient.open(server.address.port);
      peer.send(`${request}\n`);
      t.equal((await peer.readToEnd()).toString(), request === 'bad' ? 'ERR bad\n' : 'ERR internal\n');
    }
  }
  bystander.send('still\n');
  t.same(await bystander.readLines(1), ['ok still'], 'other connections carry on');
  bystander.close();
  await recorded.waitFor(() => recorded.closeReasons().length === 2 * peers + 1);
  await server.close();
  const warnings = messages(target.records, 'warn');
  const errors = messages(target.records, 'error');
  t.same(warnings, [...Array<string>(10).fill('ERR bad'), `suppressed ${peers - 10} warn records`], 'flushed when the server closed');
  t.same(errors, [...Array<string>(10).fill('handler failed'), `suppressed ${peers - 10} error records`]);
  t.ok(target.records.findIndex((record) => record.message.startsWith('suppressed')) < target.records.findIndex((record) => record.message.startsWith('drained')), 'before the last line of the shutdown');
});
