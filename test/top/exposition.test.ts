import t from 'tap';
import { prometheusText } from '../../source/metrics/prometheus.js';
import { parseExposition } from '../../source/top/exposition.js';
import { readProcesses } from '../../source/top/reading.js';
import { LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';

t.test("a real server's exposition reads back into its figures", async (t) => {
  const server = await startServer(t);
  const client = await LineClient.open(server.address.port);
  client.send('one\ntwo\nthree\n');
  await client.readLines(3);
  const snapshot = server.snapshot();
  const readings = readProcesses(parseExposition(prometheusText(snapshot)));
  t.same([...readings.keys()], [''], 'one process');
  const reading = readings.get('')!;
  t.match(reading, { requests: 3, served: 1, active: 1, queued: 0, queueSize: snapshot.queue.size, workers: snapshot.workers.size, draining: false, rss: snapshot.memory.rss });
  t.equal(reading.latency.at(-1)!.le, Infinity);
  t.equal(reading.latency.at(-1)!.count, 3, 'three replies in the histogram');
  const closing = server.close();
  const drainingReading = readProcesses(parseExposition(prometheusText(server.snapshot()))).get('')!;
  t.equal(drainingReading.draining, true, 'a draining server reads as draining');
  client.close();
  await closing;
});

t.test('labels with escapes, +Inf, timestamps, comments and blank lines', async (t) => {
  const samples = parseExposition('# HELP x y\n\nx_total{reason="a\\"b\\\\c\\nd",le="+Inf"} +Inf 1700000000\n  y 2.5e3\n');
  t.same(samples, [
    { name: 'x_total', labels: { reason: 'a"b\\c\nd', le: '+Inf' }, value: Infinity },
    { name: 'y', labels: {}, value: 2500 },
  ]);
});

t.test('anything that is not a metric is named by its line', async (t) => {
  t.throws(() => parseExposition('<html>\n'), /line 1 is not a metric: "<html>"/);
  t.throws(() => parseExposition('ok 1\nbad{x=1} 2\n'), /line 2 is not a metric/);
  t.throws(() => parseExposition('a notanumber\n'), /line 1/);
  t.throws(() => readProcesses(parseExposition('go_goroutines 7\n')), /no tcp-rx metrics/);
});

t.test('series labelled by process are read as processes, in order', async (t) => {
  const text = ['2', '10', '1']
    .map((worker) => `tcprx_requests_total{worker="${worker}"} ${worker}\ntcprx_connections_closed_total{worker="${worker}",reason="idle"} 1\n`)
    .join('');
  const readings = readProcesses(parseExposition(text));
  t.same([...readings.keys()], ['worker=1', 'worker=2', 'worker=10']);
  t.equal(readings.get('worker=10')!.requests, 10);
  t.same(readings.get('worker=2')!.closed, { idle: 1 });
});
