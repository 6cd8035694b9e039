import type { Logger, LogLevel } from './logger.js';

/** Options of {@link rateLimited}. */
export interface RateLimitOptions {
  /** Records of each limited level let through per interval. Default 10. */
  perInterval?: number;
  /** The interval, in ms. Default 10 s. */
  interval?: number;
}

/** A {@link Logger} that holds back floods, and can be told to report what it held back. */
export interface RateLimitedLogger extends Logger {
  /** Logs the count of records suppressed so far (if any) and starts afresh: call it when done logging. */
  flush(): void;
}

/** The levels a flood of peers can produce; phases (`info`) always pass. */
const LIMITED: readonly LogLevel[] = ['warn', 'error'];

/**
 * Passes `warn` and `error` records on to `logger`, at most `perInterval` of
 * each level per `interval`; the rest are counted, and when the interval ends
 * one line per level says how many were suppressed. Thousands of bad peers
 * (or a handler that throws on every connection) then cost a few log lines an
 * interval, not one each — while the first ones of each interval are seen. `info`
 * records pass as they are. The interval's timer runs only while records
 * come, and never holds the process open.
 *
 * @example
 * ```ts
 * const logger = rateLimited(textLogger(), { perInterval: 5, interval: 1000 });
 * for (let i = 0; i < 100; i++) logger.log('warn', 'bad peer', { peer: i });
 * logger.flush(); // 5 lines, then: warn suppressed 95 warn records interval=1000ms
 * ```
 */
export function rateLimited(logger: Logger, { perInterval = 10, interval = 10_000 }: RateLimitOptions = {}): RateLimitedLogger {
  const passed = new Map<LogLevel, number>();
  const suppressed = new Map<LogLevel, number>();
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    for (const level of LIMITED) {
      const count = suppressed.get(level) ?? 0;
      if (count > 0) logger.log(level, `suppressed ${count} ${level} records`, { interval: `${interval}ms` });
    }
    passed.clear();
    suppressed.clear();
  };

  return {
    ...(logger.format !== undefined && { format: logger.format }),
    log(level, message, fields) {
      if (!LIMITED.includes(level)) return logger.log(level, message, fields);
      timer ??= setTimeout(flush, interval).unref();
      const count = passed.get(level) ?? 0;
      if (count < perInterval) {
        passed.set(level, count + 1);
        logger.log(level, message, fields);
      } else {
        suppressed.set(level, (suppressed.get(level) ?? 0) + 1);
      }
    },
    flush,
  };
}
