import type { Socket } from 'node:net';
import type { RecordableHistogram } from 'node:perf_hooks';

const LF = 0x0a;
/** A reference reply starts with `[` (its timestamp); anything else (`ERR …`) is a failure. */
const REPLY_START = 0x5b;

/** What the connections of one run share: the clock of the measurement and its counters. */
export interface LoadTally {
  /** Requests sent at or after this time (performance.now()) are measured; earlier ones are warm-up. */
  measureFrom: number;
  /** Requests still to send; Infinity while the run is timed rather than counted. */
  remaining: number;
  /** Stop sending (the run is over or the duration is up). */
  stopped: boolean;
  successful: number;
  failed: number;
  /** Latency of each measured successful request, in nanoseconds. */
  readonly latencies: RecordableHistogram;
  /** Called after each reply or failure, to let the run notice that it is complete. */
  settled(): void;
}

/**
 * One connection of the load generator: keeps `window` requests in flight,
 * refilling the window from each read, and counts replies by their `\n`.
 *
 * The per-request cost is kept to a ring-buffer slot and a histogram sample:
 * no promise, closure or buffer per request. Requests are written as
 * subarrays of one shared buffer of repeated request lines.
 */
export class LoadConnection {
  readonly socket: Socket;
  readonly #window: number;
  readonly #requests: Buffer;
  readonly #requestLength: number;
  readonly #tally: LoadTally;
  /** Send time of each request in flight, oldest at #head. */
  readonly #sentAt: Float64Array;
  #head = 0;
  #inFlight = 0;
  /** The next byte read starts a reply line. */
  #atLineStart = true;
  #replyOk = true;
  /** When a reply last arrived, or the window last went from empty to busy (performance.now()). */
  lastProgress = 0;

  /**
   * @param requests the request line repeated at least `window` times
   * @param requestLength bytes of one request line, `\n` included
   */
  constructor(socket: Socket, window: number, requests: Buffer, requestLength: number, tally: LoadTally) {
    this.socket = socket;
    this.#window = window;
    this.#requests = requests;
    this.#requestLength = requestLength;
    this.#tally = tally;
    this.#sentAt = new Float64Array(window);
    socket.on('data', this.#onData);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Fills the window. */
  start(now: number): void {
    this.#refill(now);
  }

  /** Counts the requests still in flight as failed (the connection broke or stalled). */
  failInFlight(): void {
    for (; this.#inFlight > 0; this.#inFlight--) {
      if (this.#sentAt[this.#head]! >= this.#tally.measureFrom) this.#tally.failed++;
      this.#head = (this.#head + 1) % this.#window;
    }
    this.#tally.settled();
  }

  readonly #onData = (chunk: Buffer): void => {
    const now = performance.now();
    const tally = this.#tally;
    let position = 0;
    while (position < chunk.length) {
      if (this.#atLineStart) {
        this.#replyOk = chunk[position] === REPLY_START;
        this.#atLineStart = false;
      }
      const newline = chunk.indexOf(LF, position);
      if (newline === -1) break;
      this.#atLineStart = true;
      position = newline + 1;
      if (this.#inFlight === 0) continue; // a line nobody asked for
      const sentAt = this.#sentAt[this.#head]!;
      this.#head = (this.#head + 1) % this.#window;
      this.#inFlight--;
      if (sentAt < tally.measureFrom) continue;
      if (this.#replyOk) {
        tally.successful++;
        tally.latencies.record(Math.max(1, Math.round((now - sentAt) * 1e6)));
      } else tally.failed++;
    }
    this.lastProgress = now;
    this.#refill(now);
    tally.settled();
  };

  #refill(now: number): void {
    const tally = this.#tally;
    if (tally.stopped) return;
    const count = Math.min(this.#window - this.#inFlight, tally.remaining);
    if (count <= 0) return;
    if (this.#inFlight === 0) this.lastProgress = now;
    tally.remaining -= count;
    let tail = (this.#head + this.#inFlight) % this.#window;
    for (let i = 0; i < count; i++) {
      this.#sentAt[tail] = now;
      tail = tail + 1 === this.#window ? 0 : tail + 1;
    }
    this.#inFlight += count;
    this.socket.write(this.#requests.subarray(0, count * this.#requestLength));
  }
}
