// @ts-check
/**
 * The perf run as an SVG a person can open: requests/s, latency percentiles
 * and server memory per scenario, tcp-rx beside the baseline. Hand-written
 * SVG: grouped bars, each labelled with its value, one panel per measure.
 */

/** @typedef {import('./table.js').ScenarioResult} ScenarioResult */
/** @typedef {{ label: string, color: string, value: (s: ScenarioResult) => number }} Series */

const WIDTH = 980;
const PANEL_HEIGHT = 230;
const LEFT = 60;
const TOP = 60;
const COLORS = { tcpRx: '#1f6feb', tcpRxLight: '#79b8ff', baseline: '#6e7781', baselineLight: '#c5ccd3' };

const escape = (/** @type {string} */ text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * @param {ScenarioResult[]} scenarios
 * @param {string} subtitle date and machine
 */
export function renderChart(scenarios, subtitle) {
  const load = scenarios.filter((s) => s.kind === 'load');
  const panels = [
    panel('Requests per second (higher is better)', load, [
      { label: 'tcp-rx', color: COLORS.tcpRx, value: (s) => s.tcpRx.requestsPerSecond },
      { label: 'baseline', color: COLORS.baseline, value: (s) => s.baseline.requestsPerSecond },
    ], (v) => Math.round(v).toLocaleString('en-US')),
    panel('Latency p50 / p99, ms (lower is better)', load, [
      { label: 'tcp-rx p50', color: COLORS.tcpRx, value: (s) => s.tcpRx.p50 },
      { label: 'tcp-rx p99', color: COLORS.tcpRxLight, value: (s) => s.tcpRx.p99 },
      { label: 'baseline p50', color: COLORS.baseline, value: (s) => s.baseline.p50 },
      { label: 'baseline p99', color: COLORS.baselineLight, value: (s) => s.baseline.p99 },
    ], (v) => v.toFixed(2)),
    panel('Server RSS, MiB (lower is better)', scenarios, [
      { label: 'tcp-rx', color: COLORS.tcpRx, value: (s) => s.tcpRx.rss / 1024 ** 2 },
      { label: 'baseline', color: COLORS.baseline, value: (s) => s.baseline.rss / 1024 ** 2 },
    ], (v) => v.toFixed(1)),
  ];
  const height = TOP + panels.length * (PANEL_HEIGHT + 40) + 10;
  const body = panels.map((draw, index) => `<g transform="translate(0 ${TOP + index * (PANEL_HEIGHT + 40)})">${draw}</g>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${LEFT}" y="28" font-size="18" font-weight="bold">tcp-rx vs baseline (plain node:net)</text>
<text x="${LEFT}" y="46" fill="#57606a">${escape(subtitle)}</text>
${body}
</svg>
`;
}

/**
 * One panel: a group of bars per scenario, one bar per series, scaled to the panel's largest value.
 * @param {string} title
 * @param {ScenarioResult[]} scenarios
 * @param {Series[]} series
 * @param {(value: number) => string} format
 */
function panel(title, scenarios, series, format) {
  const plotHeight = PANEL_HEIGHT - 70;
  const plotWidth = WIDTH - LEFT - 20;
  const values = scenarios.flatMap((s) => series.map((line) => line.value(s))).filter(Number.isFinite);
  const max = Math.max(...values, Number.MIN_VALUE) * 1.15;
  const groupWidth = plotWidth / Math.max(scenarios.length, 1);
  const barWidth = Math.min(60, (groupWidth - 30) / series.length);
  const parts = [`<text x="${LEFT}" y="16" font-size="14" font-weight="bold">${escape(title)}</text>`];
  series.forEach((line, index) => {
    const x = LEFT + 330 + index * 120;
    parts.push(`<rect x="${x}" y="6" width="12" height="12" fill="${line.color}"/><text x="${x + 16}" y="16">${escape(line.label)}</text>`);
  });
  const baseY = 30 + plotHeight;
  parts.push(`<line x1="${LEFT}" y1="${baseY}" x2="${LEFT + plotWidth}" y2="${baseY}" stroke="#8c959f"/>`);
  scenarios.forEach((scenario, group) => {
    const groupX = LEFT + group * groupWidth + (groupWidth - barWidth * series.length) / 2;
    series.forEach((line, index) => {
      const value = line.value(scenario);
      if (!Number.isFinite(value)) return;
      const barHeight = (value / max) * plotHeight;
      const x = groupX + index * barWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(baseY - barHeight).toFixed(1)}" width="${(barWidth - 4).toFixed(1)}" height="${barHeight.toFixed(1)}" fill="${line.color}"><title>${escape(`${scenario.name}, ${line.label}: ${format(value)}`)}</title></rect>`,
        `<text x="${(x + (barWidth - 4) / 2).toFixed(1)}" y="${(baseY - barHeight - 4).toFixed(1)}" text-anchor="middle" font-size="10">${escape(format(value))}</text>`,
      );
    });
    parts.push(`<text x="${(LEFT + (group + 0.5) * groupWidth).toFixed(1)}" y="${baseY + 18}" text-anchor="middle">${escape(scenario.name)}</text>`);
  });
  return parts.join('\n');
}
