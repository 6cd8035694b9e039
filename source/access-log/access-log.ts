import { filter, type Observable, type Subscription } from 'rxjs';
import type { Logger } from '../logger.js';
import { rateLimited, type RateLimitedLogger } from '../rate-limited-logger.js';
import type { ServerEvent } from '../server/events.js';
import { accessLogLine, type AccessLogFormat, type ClosedEvent } from './access-log-line.js';
import { FileSink } from './file-sink.js';
import { FunctionSink, StreamSink, type LineSink } from './sink.js';

/**
 * Where access log lines go: a file's path (appended to, created if
 * missing), `'-'` for standard output, a writable stream, or a function
 * called with each line (without its line feed).
 */
export type AccessLogTarget = string | NodeJS.WritableStream | ((line: string) => void);

/** An access log with more than its target said; see {@link AccessLogTarget}. */
export interface AccessLogOptions {
  /** Where its lines go. */
  readonly to: AccessLogTarget;
  /** `text` (`key=value`) or `json` lines. Default: the logger's format, else text. */
  readonly format?: AccessLogFormat;
  /**
   * Bytes of lines waiting to be written (gathered, or handed to the target
   * and not yet written), past which new lines are dropped and counted
   * rather than held: a full disk or a pipe nobody reads costs lines, never
   * memory or time of the server. Default 1 MiB.
   */
  readonly maxBuffered?: number;
}

/** The defaults of {@link AccessLogOptions}. */
export const accessLogDefaults = { maxBuffered: 1024 * 1024 } as const;

/** Lines gathered past this many bytes are written at once rather than at the end of the turn. */
const BATCH_BYTES = 64 * 1024;

/** A failing or slow target is reported at most once a minute of each kind (then the count of the rest). */
const REPORTS = { perInterval: 1, interval: 60_000 };

/** What an access log takes from its server. */
export interface AccessLogContext {
  /** The server's events: the log writes a line per `closed` event, and reports its lines back as `access-log` events. */
  readonly events: Observable<ServerEvent> & { next(event: ServerEvent): void };
  /** Where a slow or failing target is reported (rate-limited). */
  readonly logger: Logger;
}

/**
 * One line per closed connection, written in batches (one write per turn of
 * the event loop, or per 64 KiB) by a subscriber of the server's events, so
 * that serving never waits for it: while a batch is being written the next
 * gathers, and past `maxBuffered` lines are dropped and counted. Every line
 * is accounted for in `access-log` events, written or dropped, which the
 * metrics count.
 */
export class AccessLog {
  readonly #sink: LineSink;
  readonly #format: AccessLogFormat;
  readonly #maxBuffered: number;
  readonly #events: AccessLogContext['events'];
  readonly #logger: RateLimitedLogger;
  readonly #subscription: Subscription;
  /** Lines gathered for the next write, and their bytes (with their line feeds). */
  #batch: string[] = [];
  #batchBytes = 0;
  /** Lines of the batch being written, and their bytes; 0 when none is. */
  #writing = 0;
  #writingBytes = 0;
  #scheduled = false;
  /** Called when the last batch has been written (for {@link close}). */
  #idle: (() => void) | undefined;
  /** Closed: lines from now on are dropped, and a batch still out is no longer counted (it was, as dropped). */
  #closed = false;

  private constructor(sink: LineSink, options: AccessLogOptions, context: AccessLogContext) {
    this.#sink = sink;
    this.#format = options.format ?? (context.logger.format === 'json' ? 'json' : 'text');
    this.#maxBuffered = options.maxBuffered ?? accessLogDefaults.maxBuffered;
    this.#events = context.events;
    this.#logger = rateLimited(context.logger, REPORTS);
    this.#subscription = context.events
      .pipe(filter((event): event is ClosedEvent => event.type === 'closed'))
      .subscribe((event) => this.#record(event));
  }

  /** Opens the target (a file, before anything is served: a path that cannot be opened rejects) and follows the events. */
  static async open(target: AccessLogTarget | AccessLogOptions, context: AccessLogContext): Promise<AccessLog> {
    const options = isOptions(target) ? target : { to: target };
    const { to } = options;
    const sink = typeof to === 'string' ? await FileSink.open(to) : typeof to === 'function' ? new FunctionSink(to) : new StreamSink(to);
    return new AccessLog(sink, options, context);
  }

  /** Opens the log's file again at its path (after logrotate renamed it); see {@link FileSink.reopen}. */
  reopen(): Promise<void> {
    return this.#sink.reopen();
  }

  /**
   * Writes what is gathered and resolves once every line is written, or once
   * `timeout` ms (0 = no limit) have passed: lines still unwritten then are
   * counted as dropped. Call it after the last connection has closed.
   */
  async close(timeout: number): Promise<void> {
    this.#subscription.unsubscribe();
    this.#flush();
    if (this.#writing > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        if (timeout > 0) timer = setTimeout(resolve, timeout);
      });
      clearTimeout(timer);
    }
    this.#closed = true;
    const unwritten = this.#batch.length + this.#writing;
    if (unwritten > 0) {
      this.#events.next({ type: 'access-log', written: 0, dropped: unwritten });
      this.#logger.log('warn', 'access log: lines still unwritten at shutdown were dropped', { dropped: unwritten, timeout: `${timeout}ms` });
    }
    this.#batch = [];
    this.#sink.close();
    this.#logger.flush();
  }

  #record(event: ClosedEvent): void {
    const line = accessLogLine(event, this.#format, new Date());
    const bytes = Buffer.byteLength(line) + 1;
    if (this.#writingBytes + this.#batchBytes + bytes > this.#maxBuffered) {
      this.#events.next({ type: 'access-log', written: 0, dropped: 1 });
      this.#logger.log('warn', 'access log: its target is not keeping up; lines dropped (counted in the metrics)', { maxBuffered: this.#maxBuffered });
      return;
    }
    this.#batch.push(line);
    this.#batchBytes += bytes;
    if (this.#writing > 0) return; // the batch goes out when the one being written is done
    if (this.#batchBytes >= BATCH_BYTES) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Hands the gathered lines to the sink, unless a batch is being written. */
  #flush(): void {
    this.#scheduled = false;
    if (this.#writing > 0 || this.#batch.length === 0) return;
    const lines = this.#batch;
    this.#writing = lines.length;
    this.#writingBytes = this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#sink.write(lines, (written, error) => this.#written(lines.length, written, error));
  }

  #written(lines: number, written: number, error: unknown): void {
    this.#writing = 0;
    this.#writingBytes = 0;
    if (this.#closed) return; // given up on at close, and counted as dropped then
    this.#events.next({ type: 'access-log', written, dropped: lines - written });
    if (error !== undefined) this.#logger.log('error', 'access log: write failed; lines dropped (counted in the metrics)', { dropped: lines - written, error: describe(error) });
    if (this.#batch.length > 0) this.#flush();
    else this.#idle?.();
  }
}

function isOptions(target: AccessLogTarget | AccessLogOptions): target is AccessLogOptions {
  return typeof target === 'object' && target !== null && 'to' in target && typeof (target as { write?: unknown }).write !== 'function';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
