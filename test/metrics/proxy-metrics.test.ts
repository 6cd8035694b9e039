import { Subject } from 'rxjs';
import t from 'tap';
import { metricsLine, prometheusText, silentLogger, type ServerEvent } from '../../source/index.js';
import { startMetrics } from '../../source/metrics/metrics.js';

t.test('PROXY headers by version, LOCAL ones, and failures by reason: in the snapshot, the log line and /metrics', async (t) => {
  const events = new Subject<ServerEvent>();
  const metrics = startMetrics(events, { metricsInterval: 0, workers: 1, queue: 1, logger: silentLogger, proxy: true });
  t.teardown(() => events.complete());
  const stream: ServerEvent[] = [
    { type: 'proxy-header', version: 1, command: 'proxy' },
    { type: 'proxy-header', version: 2, command: 'proxy' },
    { type: 'proxy-header', version: 2, command: 'local' },
    { type: 'proxy-failed', reason: 'timeout' },
    { type: 'proxy-failed', reason: 'untrusted' },
    { type: 'proxy-failed', reason: 'timeout' },
  ];
  for (const event of stream) events.next(event);
  const snapshot = metrics.snapshot();
  t.same(snapshot.proxy, { headers: { v1: 1, v2: 2 }, local: 1, failures: { timeout: 2, untrusted: 1 } });
  t.match(metricsLine(snapshot), / Proxy=v1:1,v2:2 ProxyLocal=1 ProxyFailed=timeout:2,untrusted:1$/);
  const text = prometheusText(snapshot);
  t.match(text, /^tcprx_proxy_headers_total\{version="2"\} 2$/m);
  t.match(text, /^tcprx_proxy_local_total 1$/m);
  t.match(text, /^tcprx_proxy_header_failures_total\{reason="timeout"\} 2$/m);
});

t.test('a server without the PROXY protocol reports none of it', async (t) => {
  const events = new Subject<ServerEvent>();
  const metrics = startMetrics(events, { metricsInterval: 0, workers: 1, queue: 1, logger: silentLogger });
  t.teardown(() => events.complete());
  const snapshot = metrics.snapshot();
  t.equal(snapshot.proxy, undefined);
  t.notMatch(metricsLine(snapshot), /Proxy/);
  t.notMatch(prometheusText(snapshot), /tcprx_proxy/);
});
