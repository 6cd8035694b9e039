import { performance } from 'node:perf_hooks';

/** Length of a timestamp such as `2026-11-25T21:39:09.123456Z`. */
export const TIMESTAMP_LENGTH = 27;
/** `2026-11-25T21:39:09.123`: everything down to the millisecond, cached. */
const MILLIS_LENGTH = 23;
/** '000'…'999' as ASCII, for the microsecond digits. */
const DIGITS = Buffer.from(Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0')).join(''), 'latin1');

/**
 * RFC 3339 UTC timestamps with microseconds, written straight into a buffer.
 *
 * The clock is read once per turn of the event loop: everything stamped
 * while one read is processed (a pipelined burst of replies, say) carries
 * the same time, and a million stamps a second do not cost a million clock
 * reads. Everything down to the millisecond is formatted once per
 * millisecond and copied; only the three microsecond digits are looked up.
 * Stamping allocates nothing. The sub-millisecond digits come from the
 * monotonic clock, kept within a millisecond of the wall clock (re-anchored
 * when NTP or a person moves the wall clock, checked once a second).
 */
export class Clock {
  #offset = performance.timeOrigin;
  #millis = Number.NaN;
  #second = Number.NaN;
  readonly #cached = Buffer.alloc(MILLIS_LENGTH);
  /** This turn's reading of the clock; NaN once the turn is over. */
  #turn = Number.NaN;
  readonly #endTurn = (): void => {
    this.#turn = Number.NaN;
  };

  /** Writes this turn's time at `offset`; returns the offset after it. */
  write(target: Uint8Array, offset: number): number {
    if (Number.isNaN(this.#turn)) {
      this.#turn = performance.now();
      queueMicrotask(this.#endTurn);
    }
    let now = this.#turn + this.#offset;
    let millis = Math.floor(now);
    if (millis !== this.#millis) {
      if (Math.floor(millis / 1000) !== this.#second) {
        now = this.#recheck(now);
        millis = Math.floor(now);
        this.#second = Math.floor(millis / 1000);
      }
      this.#millis = millis;
      this.#cached.write(new Date(millis).toISOString(), 0, MILLIS_LENGTH, 'latin1');
    }
    target.set(this.#cached, offset);
    const micros = 3 * Math.floor((now - millis) * 1000);
    target[offset + 23] = DIGITS[micros]!;
    target[offset + 24] = DIGITS[micros + 1]!;
    target[offset + 25] = DIGITS[micros + 2]!;
    target[offset + 26] = 0x5a; // Z
    return offset + TIMESTAMP_LENGTH;
  }

  /** The current time as a string, for logs. */
  now(): string {
    const text = Buffer.allocUnsafe(TIMESTAMP_LENGTH);
    this.write(text, 0);
    return text.toString('latin1');
  }

  /** Once a second: re-anchors to the wall clock if the monotonic clock has drifted from it by over a millisecond. */
  #recheck(now: number): number {
    const wall = Date.now();
    if (Math.abs(now - wall) <= 1) return now;
    this.#offset = wall - this.#turn;
    return this.#turn + this.#offset;
  }
}

/** One clock for the process: its per-millisecond cache is shared by every connection. */
export const clock = new Clock();
