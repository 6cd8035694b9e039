import type { Logger } from '../logger.js';
import { serve, type ServeOptions, type Server } from '../server/server.js';
import { isMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /**
   * Installs what signals do to this one process's server (SIGHUP: a TLS
   * server reloads its certificates; SIGUSR1: the access log is reopened).
   */
  readonly handleSignals?: (server: Server) => void;
}

/**
 * A worker of `serve --processes`: serves like a single process (same
 * options, same drain), and talks to its primary over the cluster channel:
 * sends a snapshot each metrics interval and when asked (the primary logs
 * and serves the whole server's metrics, so the worker logs none), drains
 * when told to, and sends its last snapshot before it exits.
 *
 * It also drains by itself on SIGTERM or SIGINT (Ctrl-C reaches every process
 * of the group; a second one exits at once), and when the primary is gone
 * (nothing would replace or report on it). Resolves with whether the drain
 * was clean, once its last snapshot is on its way.
 */
export async function runWorker(options: ServeOptions & { logger: Logger }, { handleSignals }: WorkerOptions = {}): Promise<boolean> {
  const logger = withPid(options.logger);
  const server = await serve({ ...options, logger, metricsLog: false });
  const send = (message: WorkerMessage, sent?: () => void): void => {
    if (process.connected) process.send!(message, undefined, undefined, () => sent?.());
    else sent?.();
  };
  server.metrics$.subscribe((snapshot) => send({ tcprx: 'metrics', snapshot }));
  // SIGHUP's default would end the process; a worker's restart is the primary's to run.
  process.on('SIGHUP', () => {});
  handleSignals?.(server);
  send({ tcprx: 'serving', port: server.address.port, snapshot: server.snapshot() });

  return new Promise<boolean>((resolve) => {
    let draining = false;
    let farewell!: () => void;
    // Bounded: a primary that never answers must not keep a drained worker alive.
    const dismissed = new Promise<void>((resolve) => (farewell = resolve)).then(() => clearTimeout(patience));
    let patience: NodeJS.Timeout | undefined;
    const drain = (): void => {
      if (draining) return;
      draining = true;
      void server.close().then(({ destroyed }) => {
        patience = setTimeout(farewell, FAREWELL_TIMEOUT);
        send({ tcprx: 'drained', snapshot: server.snapshot(), destroyed });
        void dismissed.then(() => resolve(destroyed === 0));
      });
    };
    process.on('message', (message: unknown) => {
      if (!isMessage<PrimaryMessage>(message)) return;
      if (message.tcprx === 'snapshot') send({ tcprx: 'snapshot', id: message.id, snapshot: server.snapshot() });
      else if (message.tcprx === 'drain') drain();
      else if (message.tcprx === 'farewell') farewell();
    });
    process.once('disconnect', () => {
      farewell();
      drain();
    });
    const stop = (): void => {
      drain();
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
    };
    const force = (signal: NodeJS.Signals): void => {
      logger.log('warn', `${signal} again: exiting without draining`);
      resolve(false);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Longest wait (ms) for the primary's `farewell` once drained. */
const FAREWELL_TIMEOUT = 5_000;

/** `logger` with the process id in every record: the workers share the primary's stderr. */
function withPid(logger: Logger): Logger {
  const pid = process.pid;
  return { ...(logger.format === undefined ? {} : { format: logger.format }), log: (level, message, fields) => logger.log(level, message, { ...fields, pid }) };
}
