/** One sample of the Prometheus text exposition format: `name{labels} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * Reads the samples of a Prometheus text exposition (version 0.0.4); `#`
 * lines (HELP, TYPE, comments) and blank lines are skipped. Throws a
 * RangeError naming the line for anything else that is not a sample: a
 * server that answers with something other than metrics is shown as such.
 *
 * @example
 * ```ts
 * parseExposition('tcprx_connections_closed_total{reason="idle"} 3\n');
 * // [{ name: 'tcprx_connections_closed_total', labels: { reason: 'idle' }, value: 3 }]
 * ```
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    const value = match ? parseValue(match[3]!) : NaN;
    const labels = match ? parseLabels(match[2] ?? '') : undefined;
    if (!match || labels === undefined || (Number.isNaN(value) && match[3] !== 'NaN')) {
      throw new RangeError(`line ${index + 1} is not a metric: ${JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line)}`);
    }
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return text === '' ? NaN : Number(text);
}

/** `a="1",b="x\"y"` → `{ a: '1', b: 'x"y' }`; undefined where that is not what it is. */
function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (match === null) return undefined;
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, character: string) => (character === 'n' ? '\n' : character));
  }
  return labels;
}
