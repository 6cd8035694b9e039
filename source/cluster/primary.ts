import cluster, { type Worker } from 'node:cluster';
import { formatAddress, type Address } from '../address.js';
import type { Logger } from '../logger.js';
import { serveMetrics } from '../metrics/metrics-endpoint.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { isMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  /** Worker processes to keep serving. */
  readonly processes: number;
  /** Where the workers listen, for the `listening on` line. */
  readonly addr: Address;
  readonly logger: Logger;
  readonly metricsInterval: number;
  /** Serve the whole server's `/metrics` here. */
  readonly metricsAddr?: Address;
  /** The workers' drain timeout: a worker still there this long (and 5 s more) after it was told to drain is killed. */
  readonly drainTimeout: number;
  /** Signals passed on to every worker (SIGUSR1: each reopens its access log). */
  readonly forward?: readonly NodeJS.Signals[];
  /** More fields for the `listening on` line. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** How a cluster ended: its workers failed to start (with the first one's exit code), or it shut down, cleanly or not. */
export type PrimaryEnding = { readonly kind: 'failed'; readonly code: number } | { readonly kind: 'stopped'; readonly clean: boolean };

/** A worker that lived at least this long (ms) before dying was not in a crash loop: its replacement starts at once. */
const STABLE_AFTER = 10_000;
/** Replacements of workers that keep dying wait 250 ms, 500 ms, 1 s… up to this (ms). */
const MAX_BACKOFF = 30_000;
/** A worker told to drain that is still there this long (ms) after its drain timeout is killed. */
const DRAIN_GRACE = 5_000;

/** Sends `message` unless the channel is gone; one closing meanwhile is no error (the callback takes it, not an 'error' event). */
function tell(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, () => {});
}

/** A worker that exited before it was serving. */
class WorkerExit extends Error {
  constructor(readonly code: number | null, readonly signal: string | null) {
    super(signal === null ? `worker exited with code ${code}` : `worker killed by ${signal}`);
  }
}

/**
 * The primary of `serve --processes N`: forks N workers (each re-runs this
 * command line, see `runWorker`), which share the listening port; keeps N
 * serving; serves and logs the whole server's metrics ({@link ClusterMetrics}).
 *
 * - A worker that dies is replaced, at once, or with a growing delay while
 *   workers keep dying within 10 s of their start (logged).
 * - SIGHUP replaces the workers one at a time, each new one serving before
 *   the old one is told to drain: no connection is refused or lost, and the
 *   new workers run the code (and read the certificates) on disk now. A new
 *   worker that fails to start stops the restart; the old ones serve on.
 * - SIGTERM or SIGINT drains every worker at once, each as a single process
 *   drains; a second signal kills them.
 *
 * Resolves with how it ended; a worker that fails at startup has already
 * said why on stderr.
 */
export async function runPrimary(options: PrimaryOptions): Promise<PrimaryEnding> {
  const { logger } = options;
  // The workers share the listening socket and accept from it themselves (SCHED_NONE), rather than
  // the primary accepting and handing each connection over (round-robin, Linux's default), unless
  // NODE_CLUSTER_SCHED_POLICY says otherwise. Measured with perf/cluster.js on 2 shared cores
  // (noisy): round-robin halves connection churn (1,351 against 3,269 connections/s) and costs the
  // primary ~0.2 cores doing it (a message and an acknowledgement per connection: the primary
  // would not be light); pipelined load is even (870k against 722k requests/s, within the noise);
  // fairness is alike (0.81–1.00). Round-robin did better at 10,000 connections with one request
  // in flight (19k against 8k requests/s), which is not understood yet. Both restart without loss
  // (round-robin only thanks to the `farewell` exchange, see messages.ts). Set before setupPrimary(),
  // which fixes the policy for good.
  if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  // Workers send histograms (an `Infinity` bound) and null-prototype counts: JSON would lose the first.
  cluster.setupPrimary({ serialization: 'advanced' });
  const metrics = new ClusterMetrics({ metricsInterval: options.metricsInterval, logger });
  /** Workers in the rotation: the ones to replace on SIGHUP, and to drain on SIGTERM. */
  const serving = new Set<Worker>();
  /** Workers forked and not serving yet. */
  const starting = new Set<Worker>();
  const exits = new Map<Worker, Promise<number>>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  /** The port the first worker bound (the one asked for, or the one picked for port 0). */
  let port = options.addr.port;

  /** Forks a worker; resolves once it serves, rejects with a {@link WorkerExit} if it exits before. */
  const fork = (): Promise<Worker> => {
    const worker = cluster.fork();
    starting.add(worker);
    metrics.track(worker);
    worker.on('message', (message: unknown) => {
      if (isMessage<WorkerMessage>(message) && message.tcprx === 'drained') tell(worker, { tcprx: 'farewell' });
    });
    const born = Date.now();
    exits.set(
      worker,
      new Promise((resolve) =>
        worker.once('exit', (code, signal) => {
          starting.delete(worker);
          exits.delete(worker);
          const unexpected = serving.delete(worker) && !stopping;
          if (unexpected) replace(worker, Date.now() - born, code, signal);
          resolve(code ?? 1);
        }),
      ),
    );
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        if (!isMessage<WorkerMessage>(message) || message.tcprx !== 'serving') return;
        worker.off('message', onMessage);
        starting.delete(worker);
        port = message.port;
        if (stopping) {
          void retire(worker);
          reject(new WorkerExit(null, 'shutdown'));
        } else {
          serving.add(worker);
          resolve(worker);
        }
      };
      worker.on('message', onMessage);
      worker.once('exit', (code, signal) => reject(new WorkerExit(code, signal)));
    });
  };

  /** Takes `worker` out of the rotation and tells it to drain; resolves with its exit code. */
  const retire = (worker: Worker): Promise<number> => {
    serving.delete(worker);
    if (worker.isConnected()) tell(worker, { tcprx: 'drain' });
    else worker.process.kill('SIGTERM'); // its channel is gone: the signal drains it just as well
    const exited = exits.get(worker) ?? Promise.resolve(worker.process.exitCode ?? 1);
    if (options.drainTimeout > 0) {
      const timer = setTimeout(() => {
        logger.log('warn', 'worker still draining past its drain timeout: killing it', { pid: worker.process.pid });
        worker.process.kill('SIGKILL');
      }, options.drainTimeout + DRAIN_GRACE);
      void exited.finally(() => clearTimeout(timer));
    }
    return exited;
  };

  /**
   * With a shared socket (SCHED_NONE) the primary holds a descriptor of it
   * too, and closes it when the last worker has said it closed its own: the
   * socket then outlives every accept loop by the time that message takes,
   * and what completes its handshake meanwhile is reset (traced with ftrace,
   * perf/NOTES.md). Disconnecting the workers lets go of it now (Node closes
   * it once no worker is left on it), so that the last worker to stop
   * listening closes the socket itself, right after its last poll. A
   * worker drains as before; Node closes its channel once its server has
   * closed, so its exit code, not a last message, tells how it went.
   */
  const letGoOfSharedSocket = (): void => {
    if (cluster.schedulingPolicy === cluster.SCHED_NONE) for (const worker of serving) worker.disconnect();
  };

  let failures = 0;
  /** Replaces a worker that died; with backoff while workers keep dying young. */
  const replace = (dead: Worker, lived: number, code: number | null, signal: string | null): void => {
    failures = lived >= STABLE_AFTER ? 1 : failures + 1;
    const delay = failures === 1 ? 0 : Math.min(MAX_BACKOFF, 250 * 2 ** (failures - 2));
    logger.log('warn', 'worker died: replacing it', { pid: dead.process.pid, ...(signal === null ? { code } : { signal }), after: `${delay}ms` });
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopping) return;
      fork().then(
        (worker) => logger.log('info', 'worker replaced', { pid: worker.process.pid }),
        (exit: WorkerExit) => {
          if (!stopping) replace(dead, 0, exit.code, exit.signal);
        },
      );
    }, delay);
    timers.add(timer);
  };

  // Start: one worker first, so that a bad port or certificate is one error line, not N; then the others.
  try {
    await fork();
    await Promise.all(Array.from({ length: options.processes - 1 }, fork));
  } catch (error) {
    stopping = true;
    await Promise.all([...serving, ...starting].map(retire));
    metrics.stop();
    const code = error instanceof WorkerExit ? (error.code ?? 1) : 1;
    return { kind: 'failed', code: code === 0 ? 1 : code };
  }
  metrics.start();
  logger.log('info', `listening on ${formatAddress({ ...options.addr, port })}`, { processes: options.processes, ...options.fields });
  if (options.metricsAddr) {
    const endpoint = await serveMetrics(metrics, options.metricsAddr, { logger, refresh: () => metrics.refresh() });
    logger.log('info', `metrics on http://${formatAddress(endpoint.address)}/metrics`);
  }

  let restarting: Promise<void> | undefined;
  let again = false;
  const restart = async (): Promise<void> => {
    do {
      again = false;
      logger.log('info', 'SIGHUP: replacing the workers one at a time', { processes: serving.size });
      for (const old of [...serving]) {
        if (stopping) return;
        if (!serving.has(old)) continue; // died meanwhile, and replaced already
        let fresh: Worker;
        try {
          fresh = await fork();
        } catch (error) {
          if (!stopping) logger.log('error', 'restart stopped: a new worker failed to start; the others serve on', { reason: (error as Error).message });
          return;
        }
        const code = await retire(old);
        logger.log(code === 0 ? 'info' : 'warn', 'worker replaced', { old: old.process.pid, new: fresh.process.pid, ...(code === 0 ? {} : { code }) });
      }
      logger.log('info', 'restart done: every worker runs the code on disk');
    } while (again && !stopping);
  };
  const onHangup = (): void => {
    if (restarting !== undefined) again = true;
    else restarting = restart().finally(() => (restarting = undefined));
  };
  process.on('SIGHUP', onHangup);
  const passOn = (signal: NodeJS.Signals): void => {
    for (const worker of serving) worker.process.kill(signal);
  };
  for (const signal of options.forward ?? []) process.on(signal, passOn);

  return new Promise<PrimaryEnding>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      stopping = true;
      process.off('SIGHUP', onHangup);
      for (const signal of options.forward ?? []) process.off(signal, passOn);
      for (const timer of timers) clearTimeout(timer);
      logger.log('info', `${signal}: shutting down`, { drainTimeout: `${options.drainTimeout}ms`, processes: serving.size });
      letGoOfSharedSocket();
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      // Workers still starting are told to drain as soon as they serve (see fork); old ones of a restart are draining already.
      void Promise.all([...exits].map(([worker, exited]) => (serving.has(worker) ? retire(worker) : exited))).then((codes) => {
        metrics.stop();
        const clean = codes.every((code) => code === 0);
        if (clean) logger.log('info', 'drained: every worker answered every request and exited');
        else logger.log('warn', 'shutdown cut connections short', { exitCodes: codes.join(',') });
        resolve({ kind: 'stopped', clean });
      });
    };
    const force = (signal: NodeJS.Signals): void => {
      logger.log('warn', `${signal} again: killing the workers without draining`);
      for (const worker of exits.keys()) if (worker.process.exitCode === null && worker.process.signalCode === null) worker.process.kill('SIGKILL');
      resolve({ kind: 'stopped', clean: false });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
