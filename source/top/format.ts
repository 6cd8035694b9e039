/** How `tcp-rx top` writes its figures. NaN (not known yet, or no replies) is `-` throughout. */

export const count = (value: number): string => (Number.isNaN(value) ? '-' : Math.round(value).toLocaleString('en-US'));

/** Seconds as milliseconds, to a precision that suits the size. */
export const milliseconds = (seconds: number): string => {
  if (Number.isNaN(seconds)) return '-';
  const ms = seconds * 1000;
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms)} ms`;
};

export const mebibytes = (bytes: number): string => (Number.isNaN(bytes) ? '-' : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

/** An uptime: `42s`, `3m12s`, `5h03m`, `2d07h`. */
export const uptime = (seconds: number): string => {
  if (Number.isNaN(seconds)) return '-';
  const s = Math.floor(seconds);
  const two = (value: number): string => String(value).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
};

/** Local wall-clock time, `hh:mm:ss`. */
export const clock = (time: number): string => new Date(time).toTimeString().slice(0, 8);

/** `reason count` pairs, largest first, with a per-second rate where there is one: `idle 3 (+1/s)`. */
export function reasons(totals: Readonly<Record<string, number>>, perSecond: Readonly<Record<string, number>> | undefined): string {
  const entries = Object.entries(totals).sort(([, a], [, b]) => b - a);
  if (entries.length === 0) return 'none';
  return entries
    .map(([reason, total]) => {
      const rate = perSecond?.[reason];
      return `${reason} ${count(total)}${rate !== undefined && rate > 0 ? ` (+${rate < 10 ? rate.toFixed(1) : count(rate)}/s)` : ''}`;
    })
    .join('   ');
}
