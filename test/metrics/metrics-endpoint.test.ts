import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { filter, firstValueFrom, map, pipe, take, toArray } from 'rxjs';
import t from 'tap';
import { lines, metricsLine, ProtocolError, PROMETHEUS_CONTENT_TYPE, prometheusText, serveMetrics } from '../../source/index.js';
import { LineClient } from '../helpers/line-client.js';
import { startServer } from '../helpers/server.js';
import { lineWorkload } from '../helpers/workload.js';

const scrape = async (port: number, path = '/metrics'): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`);

const value = (families: MetricFamily[], name: string, labels?: Record<string, string>): number => {
  const family = families.find((candidate) => candidate.name === name);
  const sample = family?.metrics.find((metric) => labels === undefined || JSON.stringify(metric.labels) === JSON.stringify(labels));
  if (sample?.value === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels ?? {})}`);
  return Number(sample.value);
};

t.test('GET /metrics is the snapshot in the Prometheus text format', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  const { sent, received } = await lineWorkload(server.address.port, 5, 10);

  const response = await scrape(endpoint.address.port);
  t.equal(response.status, 200);
  t.equal(response.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
  const families = parsePrometheusTextFormat(await response.text());
  const snapshot = server.snapshot();

  for (const family of families.filter((candidate) => candidate.type === 'COUNTER')) {
    t.ok(family.name.endsWith('_total'), `counter ${family.name} ends in _total`);
    t.ok(family.help.length > 0, `${family.name} has help`);
  }
  t.equal(value(families, 'tcprx_requests_total'), 50);
  t.equal(value(families, 'tcprx_replies_total'), 50);
  t.equal(value(families, 'tcprx_received_bytes_total'), sent);
  t.equal(value(families, 'tcprx_sent_bytes_total'), received);
  t.equal(value(families, 'tcprx_connections_total'), 5);
  t.equal(value(families, 'tcprx_connections_closed_total', { reason: 'end' }), 5);
  t.equal(value(families, 'tcprx_connections_active'), 0);
  t.equal(value(families, 'tcprx_workers'), snapshot.workers.size);

  const latency = families.find((family) => family.name === 'tcprx_reply_latency_seconds');
  t.equal(latency?.type, 'HISTOGRAM');
  const histogram = latency!.metrics[0]!;
  t.equal(Number(histogram.count), 50);
  t.equal(Number(histogram.buckets!['+Inf']), 50);
  t.equal(Number(histogram.sum), snapshot.latencyHistogram.sum / 1000, 'sum in seconds');
  const bound = (le: string): number => (le === '+Inf' ? Infinity : Number(le));
  const counts = Object.entries(histogram.buckets!)
    .sort(([a], [b]) => bound(a) - bound(b))
    .map(([, count]) => Number(count));
  t.same(counts, [...counts].sort((a, b) => a - b), 'buckets are cumulative');
});

t.test('close reasons built from peer input neither break the counts nor the exposition text', async (t) => {
  // A protocol that closes every connection with its first line as the reason ('|' stands for a line feed).
  const refuse = pipe(
    lines(),
    map((line) => {
      throw new ProtocolError('ERR no\n', line.toString().replaceAll('|', '\n'));
    }),
  );
  const server = await startServer(t, { metricsInterval: 0 }, refuse);
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  const inputs = ['__proto__', 'constructor', 'odd "reason" \\ with|newline', 'bad-command', '__proto__'];
  const closed = firstValueFrom(server.events$.pipe(filter((event) => event.type === 'closed'), take(inputs.length), toArray()));
  for (const input of inputs) {
    const client = await LineClient.open(server.address.port);
    client.send(`${input}\n`);
    t.equal((await client.readToEnd()).toString(), 'ERR no\n');
  }
  await closed;
  const text = await (await scrape(endpoint.address.port)).text();
  const families = parsePrometheusTextFormat(text);
  t.equal(value(families, 'tcprx_connections_closed_total', { reason: '__proto__' }), 2);
  t.equal(value(families, 'tcprx_connections_closed_total', { reason: 'constructor' }), 1);
  t.equal(value(families, 'tcprx_connections_closed_total', { reason: 'bad-command' }), 1);
  t.equal(value(families, 'tcprx_connections_closed_total', { reason: 'other' }), 1, 'not a tidy label value: other');
  const closes = families.find((family) => family.name === 'tcprx_connections_closed_total')!.metrics;
  t.equal(closes.reduce((sum, sample) => sum + Number(sample.value), 0), inputs.length, 'every close counted, once');
  t.match(metricsLine(server.snapshot()), /Closed=__proto__:2,constructor:1,other:1,bad-command:1$/);
});

t.test('label values from any metrics source are escaped: a quote, a backslash and a line feed', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const reason = 'odd "reason" \\ with\nnewline';
  const snapshot = { ...server.snapshot(), closeReasons: { [reason]: 3 } };
  const families = parsePrometheusTextFormat(prometheusText(snapshot));
  t.equal(value(families, 'tcprx_connections_closed_total', { reason }), 3);
});

t.test('any path but /metrics, /healthz and /readyz is 404', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  t.equal((await scrape(endpoint.address.port, '/')).status, 404);
  t.equal((await scrape(endpoint.address.port, '/metrics/x')).status, 404);
});

t.test('the endpoint closes with the server', async (t) => {
  const server = await startServer(t, { metricsInterval: 0 });
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  t.equal((await scrape(endpoint.address.port)).status, 200);
  await server.close();
  await endpoint.close();
  await t.rejects(scrape(endpoint.address.port), 'nothing listens any more');
});
