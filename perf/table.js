// @ts-check
/** The perf run's printed table and the reference's four targets. */

/**
 * `heapPerConnection`: idle scenarios only, the V8 heap each held connection adds (bytes, after a full collection).
 * @typedef {{ requestsPerSecond: number, p50: number, p99: number, avg: number, failed: number, opened: number, rss: number, cpu: number, heapPerConnection?: number, rounds?: Array<{ rss: number, heapPerConnection?: number }> }} Measure
 */
/** @typedef {{ name: string, kind: 'load' | 'idle', tcpRx: Measure, baseline: Measure }} ScenarioResult */

const int = (/** @type {number} */ value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
const ms = (/** @type {number} */ value) => (Number.isFinite(value) ? value.toFixed(2) : '–');
const mib = (/** @type {number} */ bytes) => (Number.isFinite(bytes) ? `${(bytes / 1024 ** 2).toFixed(1)}` : '–');
const ratio = (/** @type {number} */ a, /** @type {number} */ b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

const us = (/** @type {number} */ value) => (Number.isFinite(value) ? (value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)) : '–');

/**
 * Server CPU (user + system) per request (per connection in the handshake scenario), in µs: the
 * server's share of a core over the run, warm-up included, over the requests per second measured.
 * Where the load generator, not the server, sets the pace (a server below 100 % of its core), the
 * ratio of requests/s says how each server's replies suit the generator; this says what each
 * server spends, and holds better on a shared machine.
 * @param {Measure} measure
 */
const cpuPerRequest = (measure) => (measure.requestsPerSecond > 0 ? (measure.cpu / measure.requestsPerSecond) * 1e6 : NaN);

/** An idle scenario's cell: connections held, and the heap each costs when it was read. */
const held = (/** @type {Measure} */ measure) =>
  `${int(measure.opened)} held${Number.isFinite(measure.heapPerConnection) ? `, ${int(measure.heapPerConnection ?? NaN)} B heap each` : ''}`;

/**
 * The results as a Markdown table (it reads well in a terminal and pastes into the README).
 * @param {ScenarioResult[]} scenarios
 */
export function formatTable(scenarios) {
  const rows = [
    [
      'Scenario', 'tcp-rx req/s', 'baseline req/s', 'ratio', 'tcp-rx p50 / p99 ms', 'baseline p50 / p99 ms', 'tcp-rx RSS MiB', 'baseline RSS MiB', 'RSS ratio',
      'server CPU tcp-rx / baseline', 'server CPU µs / request, tcp-rx / baseline',
    ],
    ...scenarios.map(({ name, kind, tcpRx, baseline }) => [
      name,
      kind === 'load' ? int(tcpRx.requestsPerSecond) : held(tcpRx),
      kind === 'load' ? int(baseline.requestsPerSecond) : held(baseline),
      kind === 'load' ? ratio(tcpRx.requestsPerSecond, baseline.requestsPerSecond) : ratio(tcpRx.heapPerConnection ?? NaN, baseline.heapPerConnection ?? NaN),
      kind === 'load' ? `${ms(tcpRx.p50)} / ${ms(tcpRx.p99)}` : '',
      kind === 'load' ? `${ms(baseline.p50)} / ${ms(baseline.p99)}` : '',
      mib(tcpRx.rss),
      mib(baseline.rss),
      ratio(tcpRx.rss, baseline.rss),
      kind === 'load' ? `${Math.round(tcpRx.cpu * 100)}% / ${Math.round(baseline.cpu * 100)}%` : '',
      kind === 'load' ? `${us(cpuPerRequest(tcpRx))} / ${us(cpuPerRequest(baseline))} (${ratio(cpuPerRequest(tcpRx), cpuPerRequest(baseline))})` : '',
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (/** @type {string[]} */ row) => `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/**
 * The reference's targets, judged on tcp-rx's results.
 * @param {ScenarioResult[]} scenarios
 * @returns {Array<{ target: string, pass: boolean, measured: string }>}
 */
export function checkTargets(scenarios) {
  const find = (/** @type {string} */ prefix) => scenarios.find((scenario) => scenario.name.startsWith(prefix));
  const active = find('10,000 active');
  const idle = find('10,000 idle');
  const single = find('100 × 1');
  const loads = scenarios.filter((s) => s.kind === 'load');
  const best = loads.length > 0 ? loads.reduce((a, b) => (b.tcpRx.requestsPerSecond > a.tcpRx.requestsPerSecond ? b : a)) : undefined;
  const tenK = [active, idle].filter((s) => s !== undefined);
  const peakRss = tenK.length > 0 ? Math.max(...tenK.map((s) => s.tcpRx.rss)) : NaN; // NaN: not run (--only), not passed
  return [
    {
      target: '10,000 concurrent connections',
      pass: tenK.length > 0 && tenK.every((s) => s.tcpRx.opened >= 10_000 && s.tcpRx.failed === 0),
      measured: tenK.map((s) => `${s.name}: ${int(s.tcpRx.opened)} open, ${int(s.tcpRx.failed)} failed`).join('; '),
    },
    {
      target: '100,000 requests/s',
      pass: best !== undefined && best.tcpRx.requestsPerSecond >= 100_000,
      measured: best ? `${int(best.tcpRx.requestsPerSecond)} req/s (${best.name})` : 'not run',
    },
    {
      target: '< 100 MB at 10,000 connections',
      pass: peakRss < 100 * 1024 ** 2,
      measured: `peak RSS ${mib(peakRss)} MiB`,
    },
    {
      target: '< 1 ms average latency',
      pass: single !== undefined && single.tcpRx.avg < 1,
      measured: single ? `${ms(single.tcpRx.avg)} ms average (${single.name})` : 'not run',
    },
  ];
}
