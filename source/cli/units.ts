const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** The longest delay Node's timers hold (2^31 − 1 ms, ~24.8 days); a longer one fires at once. */
export const MAX_DURATION = 2 ** 31 - 1;
/** The largest size a flag takes unless it says otherwise. */
export const MAX_SIZE = 1024 ** 3;
/** The largest count a flag takes unless it says otherwise (what Node's APIs take as an int32). */
export const MAX_COUNT = 2 ** 31 - 1;

/** Bounds of a value, inclusive; `0` is always accepted where `zeroMeansOff`. */
export interface Range {
  readonly min?: number;
  readonly max?: number;
  /** Accept `0` (a timeout or feature turned off) even below `min`. */
  readonly zeroMeansOff?: boolean;
}

/**
 * `500ms`, `30s`, `2m`, `1h`, `1.5s` → milliseconds; `0` (off) needs no unit.
 * At most {@link MAX_DURATION} unless `max` says less.
 */
export function parseDuration(text: string, { min = 0, max = MAX_DURATION, zeroMeansOff = true }: Range = {}): number {
  const ms = parseWithUnit(text, DURATION_UNITS, 'a duration', '500ms, 30s or 2m');
  if (ms === 0 && zeroMeansOff) return 0;
  if (ms < min) throw new RangeError(`'${text}' is shorter than ${formatDuration(min)}${zeroMeansOff ? ' (0 turns it off)' : ''}`);
  if (ms > max) throw new RangeError(`'${text}' is longer than ${formatDuration(max)}${max === MAX_DURATION ? ' (~24.8 days), the longest a Node timer holds' : ''}`);
  return ms;
}

/** `512B`, `64KiB`, `1MiB`, `10KB` → bytes; `0` needs no unit. At most {@link MAX_SIZE} unless `max` says otherwise. */
export function parseSize(text: string, { min = 0, max = MAX_SIZE }: Range = {}): number {
  const bytes = Math.round(parseWithUnit(text, SIZE_UNITS, 'a size', '64KiB or 1MiB'));
  if (bytes < min) throw new RangeError(`'${text}' is less than ${formatSize(min)}`);
  if (bytes > max) throw new RangeError(`'${text}' is more than ${formatSize(max)}`);
  return bytes;
}

/** A whole number from `min` (default 1) to `max` (default {@link MAX_COUNT}). */
export function parseCount(text: string, { min = 1, max = MAX_COUNT }: Range = {}): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min) throw new RangeError(`'${text}' is not a whole number ≥ ${min}`);
  if (value > max) throw new RangeError(`'${text}' is more than ${max.toLocaleString('en-US')}`);
  return value;
}

function parseWithUnit(text: string, units: Record<string, number>, what: string, examples: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (match && Number(match[1]) === 0 && match[2] === '') return 0;
  const scale = match ? units[match[2]!] : undefined;
  if (!match || scale === undefined) throw new RangeError(`'${text}' is not ${what}: use a unit, as in ${examples}`);
  return Number(match[1]) * scale;
}

/** A bound, in the largest unit it is a whole number of (or in ms). */
function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms >= DURATION_UNITS[unit]! && ms % DURATION_UNITS[unit]! === 0) return `${ms / DURATION_UNITS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}

function formatSize(bytes: number): string {
  for (const unit of ['GiB', 'MiB', 'KiB'] as const) {
    if (bytes >= SIZE_UNITS[unit]! && bytes % SIZE_UNITS[unit]! === 0) return `${bytes / SIZE_UNITS[unit]!}${unit}`;
  }
  return `${bytes}B`;
}
