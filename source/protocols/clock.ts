import { performance } from 'node:perf_hooks';
import { copyBytes } from '../buffer-view.js';

/** Length of a timestamp such as `2026-11-25T21:39:09.123456Z`. */
export const TIMESTAMP_LENGTH = 27;
/** `2026-11-25T21:39:09.`: everything down to the second, cached. */
const SECOND_LENGTH = 20;
/** '000'…'999' as ASCII, for the millisecond and microsecond digits. */
const DIGITS = Buffer.from(Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0')).join(''), 'latin1');

/**
 * RFC 3339 UTC timestamps with microseconds, written straight into a buffer.
 *
 * The server holds the clock at each read's arrival time while it
 * processes the read ({@link Clock.hold}): everything stamped in reply to
 * one read (a pipelined burst, say) carries the same time, and a million
 * stamps a second do not cost a million clock reads. Outside a read (a
 * reply produced later by an asynchronous step) each stamp reads the clock.
 * Everything down to the second is formatted once per second and copied;
 * the millisecond and microsecond digits are looked up. (Formatting a `Date`
 * is ~1 µs in a loop but ~8 µs where connections are new and the code is
 * cold, as in a TLS handshake's reply: perf/NOTES.md.)
 * Stamping allocates nothing. The sub-millisecond digits come from the
 * monotonic clock, kept within a millisecond of the wall clock (re-anchored
 * when NTP or a person moves the wall clock, checked once a second).
 */
export class Clock {
  #offset = performance.timeOrigin;
  #second = Number.NaN;
  readonly #cached = Buffer.alloc(SECOND_LENGTH);
  /** The time the clock is held at (a `performance.now()` reading), or NaN. */
  #held = Number.NaN;

  /**
   * Until {@link release}, every stamp carries `time` (a `performance.now()`
   * reading): a connection holds the clock at a read's arrival while it
   * processes that read.
   */
  hold(time: number): void {
    this.#held = time;
  }

  /** Stamps read the clock again. */
  release(): void {
    this.#held = Number.NaN;
  }

  /** Writes the time (the held time, if held) at `offset`; returns the offset after it. */
  write(target: Uint8Array, offset: number): number {
    const reading = Number.isNaN(this.#held) ? performance.now() : this.#held;
    let now = reading + this.#offset;
    let millis = Math.floor(now);
    let second = Math.floor(millis / 1000);
    if (second !== this.#second) {
      now = this.#recheck(reading);
      millis = Math.floor(now);
      second = Math.floor(millis / 1000);
      this.#second = second;
      this.#cached.write(new Date(millis).toISOString(), 0, SECOND_LENGTH, 'latin1');
    }
    copyBytes(target, offset, this.#cached, SECOND_LENGTH);
    writeThreeDigits(target, offset + SECOND_LENGTH, millis - second * 1000);
    writeThreeDigits(target, offset + SECOND_LENGTH + 3, Math.floor((now - millis) * 1000));
    target[offset + TIMESTAMP_LENGTH - 1] = 0x5a; // Z
    return offset + TIMESTAMP_LENGTH;
  }

  /** The current time as a string, for logs. */
  now(): string {
    const text = Buffer.allocUnsafe(TIMESTAMP_LENGTH);
    this.write(text, 0);
    return text.toString('latin1');
  }

  /** Once a second: re-anchors to the wall clock if the monotonic clock has drifted from it by over a millisecond. */
  #recheck(reading: number): number {
    const monotonic = performance.now(); // not `reading`: a held time may be a little old
    const wall = Date.now();
    if (Math.abs(monotonic + this.#offset - wall) > 1) this.#offset = wall - monotonic;
    return reading + this.#offset;
  }
}

/** Writes `n` (0–999) as three ASCII digits at `offset`. */
function writeThreeDigits(target: Uint8Array, offset: number, n: number): void {
  const at = 3 * n;
  target[offset] = DIGITS[at]!;
  target[offset + 1] = DIGITS[at + 1]!;
  target[offset + 2] = DIGITS[at + 2]!;
}

/** One clock for the process: its per-second cache is shared by every connection. */
export const clock = new Clock();
