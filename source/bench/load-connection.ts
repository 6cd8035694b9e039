import type { Socket } from 'node:net';
import type { RecordableHistogram } from 'node:perf_hooks';

const LF = 0x0a;
/** A reference reply starts with `[` (its timestamp); anything else (`ERR …`) is a failure. */
const REPLY_START = 0x5b;

/** What the connections of one run share: the phase it is in and its counters. */
export interface LoadTally {
  /** Replies are counted (false while warming up). */
  measuring: boolean;
  /** Stop sending (the run is over or the duration is up). */
  stopped: boolean;
  /** Requests of the current phase not yet answered, failed or given up; Infinity for a timed phase. */
  outstanding: number;
  successful: number;
  failed: number;
  /** Latency of each measured successful request, in nanoseconds. */
  readonly latencies: RecordableHistogram;
  /** Called after each reply or failure, to let the run notice that the phase is complete. */
  settled(): void;
}

/**
 * One connection of the load generator, shared by its clients: keeps up to
 * `window` of their requests in flight, refilling the window from each read
 * until its quota is sent, and counts replies by their `\n`.
 *
 * The per-request cost is kept to a ring-buffer slot and a histogram sample:
 * no promise, closure or buffer per request. Requests are written as
 * subarrays of one shared buffer of repeated request lines.
 */
export class LoadConnection {
  readonly socket: Socket;
  readonly #requests: Buffer;
  readonly #requestLength: number;
  readonly #tally: LoadTally;
  /** Send time of each request in flight, oldest at #head; its length is the largest window. */
  readonly #sentAt: Float64Array;
  #head = 0;
  #inFlight = 0;
  /** Requests in flight at most, in the current phase. */
  #window = 0;
  /** Requests of the current phase still to send; Infinity for a timed phase. */
  remaining = 0;
  /** The next byte read starts a reply line. */
  #atLineStart = true;
  #replyOk = true;
  /** When a reply last arrived, or the window last went from empty to busy (performance.now()). */
  lastProgress = 0;

  /**
   * @param requests the request line repeated at least `maxWindow` times
   * @param requestLength bytes of one request line, `\n` included
   */
  constructor(socket: Socket, maxWindow: number, requests: Buffer, requestLength: number, tally: LoadTally) {
    this.socket = socket;
    this.#requests = requests;
    this.#requestLength = requestLength;
    this.#tally = tally;
    this.#sentAt = new Float64Array(maxWindow);
    socket.on('data', this.#onData);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Starts a phase: `quota` requests (Infinity: until stopped), at most `window` in flight. */
  begin(now: number, quota: number, window: number): void {
    this.remaining = quota;
    this.#window = window;
    this.#refill(now);
  }

  /** Counts the requests still in flight, and those it was still to send, as given up (the connection broke or stalled). */
  giveUp(): void {
    const tally = this.#tally;
    const lost = this.#inFlight + (Number.isFinite(this.remaining) ? this.remaining : 0);
    if (tally.measuring) tally.failed += lost;
    tally.outstanding -= lost;
    this.#inFlight = 0;
    this.remaining = 0;
    tally.settled();
  }

  readonly #onData = (chunk: Buffer): void => {
    const now = performance.now();
    const tally = this.#tally;
    const capacity = this.#sentAt.length;
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
      this.#head = this.#head + 1 === capacity ? 0 : this.#head + 1;
      this.#inFlight--;
      tally.outstanding--;
      if (!tally.measuring) continue;
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
    if (this.#tally.stopped) return;
    const count = Math.min(this.#window - this.#inFlight, this.remaining);
    if (count <= 0) return;
    if (this.#inFlight === 0) this.lastProgress = now;
    this.remaining -= count;
    const capacity = this.#sentAt.length;
    let tail = (this.#head + this.#inFlight) % capacity;
    for (let i = 0; i < count; i++) {
      this.#sentAt[tail] = now;
      tail = tail + 1 === capacity ? 0 : tail + 1;
    }
    this.#inFlight += count;
    this.socket.write(this.#requests.subarray(0, count * this.#requestLength));
  }
}
