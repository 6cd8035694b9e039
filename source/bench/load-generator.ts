import { connect as connectSocket, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { createHistogram, performance } from 'node:perf_hooks';
import { LoadConnection, type LoadTally } from './load-connection.js';

/** What {@link runLoad} does. Times are in milliseconds. */
export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  /** Clients: each keeps `depth` requests in flight. */
  readonly clients: number;
  /** Connections the clients share, spread evenly (the pool). At most `clients`. */
  readonly connections: number;
  /** Requests in flight per client. */
  readonly depth: number;
  /** The request line, without `\n`. */
  readonly message: Buffer;
  /** Requests each client sends: `clients × requests` in all. Ignored when `duration` is set. */
  readonly requests: number;
  /** Measure for this long instead of counting requests. */
  readonly duration?: number;
  /** Requests each warm-up client sends before the measurement; a tenth of the clients warm up. 0: none. */
  readonly warmupRequests: number;
  /** Requests in flight with no reply for this long fail, and their connection is dropped. */
  readonly timeout: number;
  /** Connect attempts under way at once, so that the server's listen backlog does not overflow. */
  readonly connectConcurrency?: number;
  /** Called about every 500 ms while measuring. */
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Called when the measurement ends, while every connection is still open (to sample the server's memory, say). */
  readonly onMeasured?: () => void;
  /** Speak TLS, with these options (`ca`, `servername`…); a connection counts as open once its handshake is done. */
  readonly tls?: ConnectionOptions | undefined;
}

/** How far a run has got. */
export interface LoadProgress {
  /** Requests answered (or failed) so far. */
  readonly done: number;
  /** The goal in requests, or undefined for a timed run. */
  readonly total: number | undefined;
  readonly elapsed: number;
  /** The goal in ms for a timed run. */
  readonly duration: number | undefined;
  /** Requests per second over the last interval. */
  readonly rate: number;
}

/** The outcome of {@link runLoad}. Latencies in milliseconds. */
export interface LoadResult {
  /** `wanted` is the pool's size; `time`: ms taken to open them all (the server's accept rate shows here). */
  readonly connections: { readonly wanted: number; readonly opened: number; readonly failed: number; readonly time: number };
  /** Length of the measured part of the run. */
  readonly duration: number;
  readonly total: number;
  readonly successful: number;
  readonly failed: number;
  readonly requestsPerSecond: number;
  readonly latency: { readonly avg: number; readonly p50: number; readonly p99: number; readonly max: number };
}

const PROGRESS_INTERVAL = 500;
const WATCH_INTERVAL = 250;

/**
 * Drives a line-protocol server as the reference's benchmark does: `clients`
 * clients share a pool of `connections`, and each sends `requests` requests
 * (`clients × requests` in all), keeping `depth` in flight; or, for a timed
 * run, as many as they can for `duration`. It measures what the server
 * answers: requests per second and the latency of every reply (from the
 * write of its request to the read of its line).
 *
 * Connections are opened first, `connectConcurrency` at a time. Then, as in
 * the reference, a tenth of the clients warm up with `warmupRequests` each,
 * unmeasured, and the measurement starts afresh once they are all answered.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const connectionCount = Math.min(options.connections, options.clients);
  const connecting = performance.now();
  const sockets = await openSockets(options.host, options.port, connectionCount, options.connectConcurrency ?? 256, options.tls);
  const opened = sockets.filter((socket): socket is Socket => socket !== undefined);
  const connections = { wanted: connectionCount, opened: opened.length, failed: connectionCount - opened.length, time: performance.now() - connecting };

  const timed = options.duration !== undefined;
  let endPhase = (): void => {};
  const tally: LoadTally = {
    measuring: false,
    stopped: false,
    outstanding: 0,
    successful: 0,
    failed: 0,
    latencies: createHistogram(),
    settled: () => {
      if (tally.outstanding <= 0) endPhase();
    },
  };
  const phase = (): Promise<void> => new Promise<void>((resolve) => (endPhase = resolve));

  // Clients spread over the connections as evenly as they go: the first ones get one more.
  const share = (clients: number, index: number): number => Math.floor(clients / connectionCount) + (index < clients % connectionCount ? 1 : 0);
  const longest = share(options.clients, 0) * options.depth;
  const requestLine = Buffer.concat([options.message, Buffer.from('\n')]);
  const requests = Buffer.concat(Array.from({ length: longest }, () => requestLine));
  // Aligned with the pool: undefined where the connection could not be opened.
  const load = sockets.map((socket) => socket && new LoadConnection(socket, longest, requests, requestLine.length, tally));
  // A connection that closes gives up what it still had to do; when none is left, so does the run.
  let alive = opened.length;
  const closed = (connection: LoadConnection): void => {
    alive--;
    connection.giveUp();
    if (alive === 0) endPhase();
  };
  for (const connection of load) {
    if (connection === undefined) continue;
    connection.socket.on('error', () => {}); // counted on close
    // The server may have closed it already (`ERR server busy`) while the others were connecting.
    if (connection.socket.closed) closed(connection);
    else connection.socket.once('close', () => closed(connection));
  }

  const watch = setInterval(() => {
    const now = performance.now();
    for (const connection of load) {
      if (connection !== undefined && connection.inFlight > 0 && now - connection.lastProgress > options.timeout) connection.socket.destroy();
    }
  }, WATCH_INTERVAL);

  /**
   * Runs a phase: `clientsAt(index)` clients on each connection, each with
   * `quota` requests (for a timed measurement: until the deadline).
   * Measured requests of clients whose connection is gone fail at once.
   */
  const begin = (clientsAt: (index: number) => number, quota: number): Promise<void> => {
    const done = phase();
    const counted = !(timed && tally.measuring);
    tally.outstanding = counted ? 0 : Infinity;
    const starting: Array<[LoadConnection, number]> = [];
    load.forEach((connection, index) => {
      const clients = clientsAt(index);
      if (clients === 0) return;
      if (connection === undefined || connection.socket.destroyed) {
        if (counted && tally.measuring) tally.failed += clients * quota;
      } else {
        if (counted) tally.outstanding += clients * quota;
        starting.push([connection, clients]);
      }
    });
    if (starting.length === 0) endPhase();
    const now = performance.now();
    for (const [connection, clients] of starting) connection.begin(now, counted ? clients * quota : Infinity, clients * options.depth);
    return done;
  };

  if (options.warmupRequests > 0) {
    const warmClients = Math.ceil(options.clients / 10);
    await begin((index) => share(warmClients, index), options.warmupRequests);
  }

  tally.measuring = true;
  const start = performance.now();
  const total = timed ? undefined : options.clients * options.requests;
  let lastDone = 0;
  let lastTime = start;
  const progress = setInterval(() => {
    const now = performance.now();
    const done = tally.successful + tally.failed;
    options.onProgress?.({ done, total, elapsed: now - start, duration: options.duration, rate: ((done - lastDone) * 1000) / (now - lastTime) });
    lastDone = done;
    lastTime = now;
  }, PROGRESS_INTERVAL);
  // Timers may fire a fraction of a millisecond early by performance.now(): never end a timed run short.
  const endAt = start + (options.duration ?? 0);
  const checkDeadline = (): void => {
    const left = endAt - performance.now();
    if (left > 0) deadline = setTimeout(checkDeadline, Math.max(1, Math.ceil(left)));
    else endPhase();
  };
  let deadline = timed ? setTimeout(checkDeadline, options.duration) : undefined;
  await begin((index) => share(options.clients, index), options.requests);
  const end = performance.now();
  tally.stopped = true;
  clearInterval(watch);
  clearInterval(progress);
  clearTimeout(deadline);
  options.onMeasured?.();
  for (const connection of load) connection?.socket.destroy();

  const duration = end - start;
  const { latencies } = tally;
  const measured = tally.successful > 0;
  const ms = (nanoseconds: number): number => (measured ? nanoseconds / 1e6 : 0);
  return {
    connections,
    duration,
    total: tally.successful + tally.failed,
    successful: tally.successful,
    failed: tally.failed,
    requestsPerSecond: duration > 0 ? ((tally.successful + tally.failed) * 1000) / duration : 0,
    latency: { avg: ms(latencies.mean), p50: ms(latencies.percentile(50)), p99: ms(latencies.percentile(99)), max: ms(latencies.max) },
  };
}

/** Opens `count` connections, `concurrency` attempts at a time; a failed one is `undefined`. */
async function openSockets(host: string, port: number, count: number, concurrency: number, tls: ConnectionOptions | undefined): Promise<Array<Socket | undefined>> {
  const sockets = new Array<Socket | undefined>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      sockets[index] = await openSocket(host, port, tls);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return sockets;
}

function openSocket(host: string, port: number, tls: ConnectionOptions | undefined): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = tls === undefined ? connectSocket({ host, port, noDelay: true }) : connectTls({ host, port, ...tls }).setNoDelay(true);
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', () => resolve(undefined));
  });
}
