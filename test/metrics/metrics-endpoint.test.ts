import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { filter, firstValueFrom, map, pipe } from 'rxjs';
import t from 'tap';
import { lines, ProtocolError, PROMETHEUS_CONTENT_TYPE, serveMetrics } from '../../source/index.js';
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

t.test('label values are escaped: a close reason with a quote, a backslash and a line feed', async (t) => {
  const reason = 'odd "reason" \\ with\nnewline';
  const refuse = pipe(
    lines(),
    map(() => {
      throw new ProtocolError('ERR no\n', reason);
    }),
  );
  const server = await startServer(t, { metricsInterval: 0 }, refuse);
  const endpoint = await serveMetrics(server, { host: '127.0.0.1', port: 0 });
  const closed = firstValueFrom(server.events$.pipe(filter((event) => event.type === 'closed')));
  const client = await LineClient.open(server.address.port);
  client.send('hi\n');
  t.equal((await client.readToEnd()).toString(), 'ERR no\n');
  await closed;
  const families = parsePrometheusTextFormat(await (await scrape(endpoint.address.port)).text());
  t.equal(value(families, 'tcprx_connections_closed_total', { reason }), 1);
});

t.test('anything but /metrics is 404', async (t) => {
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
