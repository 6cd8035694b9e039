import t from 'tap';
import { ECHO_PREFIX, LineClient } from '../helpers/line-client.js';
import { recordEvents, startServer } from '../helpers/server.js';

t.test('an idle connection is closed quietly and counted as idle-timeout', async (t) => {
  const server = await startServer(t, { idleTimeout: 200 });
  const recorded = recordEvents(server);
  const client = await LineClient.open(server.address.port);
  client.send('ping\n');
  await client.readLines(1);
  const started = Date.now();
  const everything = await client.readToEnd(3000);
  t.ok(Date.now() - started >= 150, 'not before the timeout');
  t.equal(client.lines.length, 1, 'nothing but the reply: closed quietly');
  t.equal(everything.toString().replace(ECHO_PREFIX, ''), 'ping\n');
  await recorded.waitFor((event) => event.type === 'closed');
  t.same(recorded.closeReasons(), ['idle-timeout']);
});

t.test('a line started but unfinished gets ERR read timeout, counted as read-timeout', async (t) => {
  const server = await startServer(t, { readTimeout: 200, idleTimeout: 0 });
  const recorded = recordEvents(server);
  const client = await LineClient.open(server.address.port);
  client.send('complete\npart');
  // Trickling more bytes of the same line does not restart the clock (slowloris).
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 60));
    if (!client.socket.destroyed) client.send('x');
  }
  const replies = (await client.readToEnd(3000)).toString().trimEnd().split('\n');
  t.same(replies.map((line) => line.replace(ECHO_PREFIX, '')), ['complete', 'ERR read timeout']);
  await recorded.waitFor((event) => event.type === 'closed');
  t.same(recorded.closeReasons(), ['read-timeout']);
});

t.test('a connection between frames is not subject to the read timeout', async (t) => {
  const server = await startServer(t, { readTimeout: 100, idleTimeout: 0 });
  const client = await LineClient.open(server.address.port);
  client.send('one\n');
  await client.readLines(1);
  await new Promise((resolve) => setTimeout(resolve, 300));
  client.send('two\n');
  t.same((await client.readLines(2)).map((line) => line.replace(ECHO_PREFIX, '')), ['one', 'two']);
  client.close();
});

t.test('a peer that stops reading is dropped by the write timeout, counted as write-timeout', async (t) => {
  const server = await startServer(t, { writeTimeout: 300, idleTimeout: 0 });
  const recorded = recordEvents(server);
  const offender = await LineClient.open(server.address.port);
  offender.socket.pause(); // never reads its replies
  const burst = Buffer.from('x'.repeat(200) + '\n').toString().repeat(5000); // 1 MB of requests
  for (let i = 0; i < 20 && !offender.socket.destroyed; i++) offender.socket.write(burst);
  await recorded.waitFor((event) => event.type === 'closed', 10_000);
  t.same(recorded.closeReasons(), ['write-timeout']);
  offender.close();
});
