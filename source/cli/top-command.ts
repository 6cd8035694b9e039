import { fromEvent, lastValueFrom, map, merge, take, takeUntil, tap, type Observable } from 'rxjs';
import { formatAddress, parseAddress, type Address } from '../address.js';
import { plainLines } from '../top/plain.js';
import { renderScreen } from '../top/screen.js';
import { openFullScreen } from '../top/terminal.js';
import { watch } from '../top/watch.js';
import type { Command } from './command.js';
import { UsageError } from './flags.js';
import { parseCount, parseDuration } from './units.js';

const flags = {
  interval: { description: 'time between scrapes, 100ms to 1h', default: '1s', parse: (t: string) => parseDuration(t, { min: 100, max: 3_600_000, zeroMeansOff: false }) },
  count: { description: 'stop after this many scrapes (default: until q, Ctrl-C or a signal)', parse: (t: string) => parseCount(t) },
};

export const topCommand: Command<typeof flags> = {
  name: 'top',
  usage: 'top [flags] ADDR…',
  summary: "watch servers live, from the Prometheus endpoint (--metrics-addr) of each",
  input: 'ADDR…',
  flags,
  async run(options, input) {
    if (input.length === 0) throw new UsageError('give the --metrics-addr of at least one server: tcp-rx top 127.0.0.1:9100 …');
    const targets = input.map((text) => {
      let address: Address;
      try {
        address = parseAddress(text);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      return { label: formatAddress({ host: address.host ?? '127.0.0.1', port: address.port }), address };
    });
    const views = watch(targets, options.interval).pipe(take(options.count ?? Infinity));
    if (!process.stdout.isTTY) {
      // Piped: a line per server per scrape, until told to stop or the reader goes away (EPIPE).
      const stop$: Observable<unknown> = merge(fromEvent(process, 'SIGINT'), fromEvent(process, 'SIGTERM'), fromEvent(process.stdout, 'error'));
      await lastValueFrom(views.pipe(takeUntil(stop$), tap((view) => process.stdout.write(`${plainLines(view).join('\n')}\n`))), { defaultValue: undefined });
      return 0;
    }
    const screen = openFullScreen(process.stdout, process.stdin);
    try {
      await lastValueFrom(views.pipe(takeUntil(screen.quit$), map((view) => screen.draw((width, height) => renderScreen(view, width, height)))), { defaultValue: undefined });
    } finally {
      screen.close();
    }
    return 0;
  },
};
