import t from 'tap';
import { startExample } from './helpers/example.js';
import { LineClient } from './helpers/line-client.js';

t.test('uppercase: each line comes back in capitals', async (t) => {
  const client = await LineClient.open(await startExample(t, 'examples/uppercase.ts'));
  client.send('hello\nMixed Case 123\n');
  t.same(await client.readLines(2), ['HELLO', 'MIXED CASE 123']);
  client.close();
});

t.test('json-rpc: answers in order, with an error reply per bad request', async (t) => {
  const client = await LineClient.open(await startExample(t, 'examples/json-rpc.ts'));
  client.send(
    [
      '{"id":1,"method":"sleep","params":[50]}',
      '{"id":2,"method":"add","params":[2,3]}',
      'not json',
      '{"id":4,"method":"nope"}',
      '{"id":5,"method":"add","params":["x"]}',
      '{"id":6,"method":"echo","params":["still open"]}',
    ].join('\n') + '\n',
  );
  const replies = (await client.readLines(6)).map((line) => JSON.parse(line));
  client.close();
  t.same(replies, [
    { id: 1, result: 'ok' },
    { id: 2, result: 5 },
    { id: null, error: 'invalid JSON' },
    { id: 4, error: 'unknown method "nope"' },
    { id: 5, error: '"x" is not a number' },
    { id: 6, result: ['still open'] },
  ]);
});

t.test('kv-store: a store shared by connections, errors per command', async (t) => {
  const writer = await LineClient.open(await startExample(t, 'examples/kv-store.ts'));
  writer.send('SET greeting hello world\nSET\nFLY away\n');
  t.same(await writer.readLines(3), ['OK', 'ERR usage: SET <key> <value>', 'ERR unknown command "FLY"']);
  const port = writer.socket.remotePort!;
  const reader = await LineClient.open(port);
  reader.send('GET greeting\nDEL greeting\nGET greeting\nKEYS\n');
  t.same(await reader.readLines(4), ['VALUE hello world', 'DELETED 1', 'NOT_FOUND', 'KEYS 0']);
  writer.close();
  reader.close();
});
