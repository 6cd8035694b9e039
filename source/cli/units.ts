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

/** `500ms`, `30s`, `2m`, `1h`, `1.5s` → milliseconds; `0` (off) needs no unit. */
export function parseDuration(text: string): number {
  return parseWithUnit(text, DURATION_UNITS, 'a duration', '500ms, 30s or 2m');
}

/** `512B`, `64KiB`, `1MiB`, `10KB` → bytes; `0` needs no unit. */
export function parseSize(text: string): number {
  return Math.round(parseWithUnit(text, SIZE_UNITS, 'a size', '64KiB or 1MiB'));
}

/** A whole number at least `min`. */
export function parseCount(text: string, min = 1): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min) throw new RangeError(`'${text}' is not a whole number ≥ ${min}`);
  return value;
}

function parseWithUnit(text: string, units: Record<string, number>, what: string, examples: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (match && Number(match[1]) === 0 && match[2] === '') return 0;
  const scale = match ? units[match[2]!] : undefined;
  if (!match || scale === undefined) throw new RangeError(`'${text}' is not ${what}: use a unit, as in ${examples}`);
  return Number(match[1]) * scale;
}
