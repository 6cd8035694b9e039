import { map, mergeMap, of, pipe, throwError } from 'rxjs';
import t from 'tap';
import { lines, type Logger, type Protocol } from '../../source/index.js';
import { LineClient } from '../helpers/line-client.js';
import { recordEvents, startServer } from '../helpers/server.js';

function recordingLogger(): Logger & { records: Array<{ level: string; message: string; fields?: Readonly<Record<string, unknown>> }> } {
  const records: Array<{ level: string; message: string; fields?: Readonly<Record<string, unknown>> }> = [];
  return { records, log: (level, message, fields) => void records.push({ level, message, ...(fields && { fields }) }) };
}

const failingProtocols: Record<string, Protocol> = {
  'a handler that throws': pipe(
    lines(),
    map((line) => {
      if (line.toString() === 'boom') throw new Error('handler exploded');
      return `ok ${line}\n`;
    }),
  ),
  "a handler's Observable that errors": pipe(
    lines(),
    mergeMap((line) => (line.toString() === 'boom' ? throwError(() => new Error('handler exploded')) : of(`ok ${line}\n`))),
  ),
};

for (const [name, protocol] of Object.entries(failingProtocols)) {
  t.test(`${name}: ERR internal on that connection only, logged once with its stack`, async (t) => {
    const logger = recordingLogger();
    const server = await startServer(t, { logger }, protocol);
    const recorded = recordEvents(server);
    const bystander = await LineClient.open(server.address.port);
    const victim = await LineClient.open(server.address.port);
    victim.send('fine\nboom\nnever\n');
    t.equal((await victim.readToEnd()).toString(), 'ok fine\nERR internal\n');
    bystander.send('still\n');
    t.same(await bystander.readLines(1), ['ok still']);
    bystander.close();
    await recorded.waitFor((event) => event.type === 'closed' && event.reason === 'internal');
    const errors = logger.records.filter((record) => record.level === 'error');
    t.equal(errors.length, 1, 'logged once');
    t.match(String((errors[0]!.fields?.error as Error).stack), /handler exploded\n\s+at /, 'with its stack');
  });
}

t.test('a peer that resets mid-request is counted as reset; the server carries on', async (t) => {
  const server = await startServer(t);
  const recorded = recordEvents(server);
  const vanishing = await LineClient.open(server.address.port);
  vanishing.send('half a requ');
  await recorded.waitFor((event) => event.type === 'read');
  vanishing.socket.resetAndDestroy();
  await recorded.waitFor((event) => event.type === 'closed');
  t.same(recorded.closeReasons(), ['reset']);
  const next = await LineClient.open(server.address.port);
  next.send('hello\n');
  t.equal((await next.readLines(1)).length, 1);
  next.close();
});
