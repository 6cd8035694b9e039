import { performance } from 'node:perf_hooks';

/** Length of a timestamp such as `2026-11-25T21:39:09.123456Z`. */
export const TIMESTAMP_LENGTH = 27;
const PREFIX_LENGTH = 20; // `2026-11-25T21:39:09.`

/**
 * RFC 3339 UTC timestamps with microseconds, written straight into a buffer.
 *
 * The date and time up to the second are formatted once per second and
 * copied; only the six fractional digits are computed per call, so stamping a
 * reply allocates nothing. The sub-millisecond digits come from the monotonic
 * clock, kept within a millisecond of the wall clock (re-anchored when NTP or
 * a person moves the wall clock).
 */
export class Clock {
  #offset = performance.timeOrigin;
  #second = Number.NaN;
  readonly #prefix = Buffer.alloc(PREFIX_LENGTH);

  /** Writes the current time at `offset`; returns the offset after it. */
  write(target: Buffer, offset: number): number {
    let micros = Math.floor((performance.now() + this.#offset) * 1000);
    const second = Math.floor(micros / 1e6);
    if (second !== this.#second) {
      micros = this.#recheck(micros);
      this.#second = Math.floor(micros / 1e6);
      this.#prefix.write(new Date(this.#second * 1000).toISOString(), 0, PREFIX_LENGTH, 'latin1');
    }
    this.#prefix.copy(target, offset);
    let fraction = micros - this.#second * 1e6;
    for (let digit = offset + PREFIX_LENGTH + 5; digit >= offset + PREFIX_LENGTH; digit--) {
      target[digit] = 0x30 + (fraction % 10);
      fraction = Math.floor(fraction / 10);
    }
    target[offset + TIMESTAMP_LENGTH - 1] = 0x5a; // Z
    return offset + TIMESTAMP_LENGTH;
  }

  /** The current time as a string, for logs. */
  now(): string {
    const text = Buffer.allocUnsafe(TIMESTAMP_LENGTH);
    this.write(text, 0);
    return text.toString('latin1');
  }

  #recheck(micros: number): number {
    const wall = Date.now();
    if (Math.abs(micros / 1000 - wall) <= 1) return micros;
    this.#offset = wall - performance.now();
    return Math.floor((performance.now() + this.#offset) * 1000);
  }
}

/** One clock for the process: its per-second cache is shared by every connection. */
export const clock = new Clock();
