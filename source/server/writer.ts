import type { Socket } from 'node:net';
import { isPooled } from '../framing/buffer-pool.js';

/** What a protocol emits for the writer: bytes, or text sent as UTF-8. */
export type Reply = string | Uint8Array;

/** Options of {@link BatchWriter}. */
export interface BatchWriterOptions {
  /** Replies pending with no write progress for this long destroy the socket (ms; 0 = never). */
  writeTimeout: number;
  /** Called once per write handed to the socket. */
  onFlush(bytes: number, replies: number): void;
  /** Called when the write timeout expires, before the socket is destroyed. */
  onWriteTimeout(): void;
}

/**
 * Joins the replies produced in one turn of the event loop into one write.
 *
 * Replies produced while a read is processed (a pipelined burst, say) reach
 * the socket as one buffer in one syscall, not one each. Above the socket's
 * high-water mark it stops reading from the peer until the socket drains
 * (backpressure); a peer that stops reading altogether is dropped by the
 * write timeout.
 */
export class BatchWriter {
  readonly #socket: Socket;
  readonly #options: BatchWriterOptions;
  readonly #pending: Reply[] = [];
  #bytes = 0;
  #scheduled = false;
  /** Bytes handed to the socket are still waiting for the kernel. */
  #waiting = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, options: BatchWriterOptions) {
    this.#socket = socket;
    this.#options = options;
    socket.on('drain', () => socket.resume());
  }

  /** Queues a reply for the write at the end of this turn. */
  push(reply: Reply): void {
    // A frame echoed as it is may be a view of a pooled block, reused once the frame is released.
    this.#pending.push(typeof reply !== 'string' && isPooled(reply) ? Buffer.from(reply) : reply);
    this.#bytes += typeof reply === 'string' ? Buffer.byteLength(reply) : reply.byteLength;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /** Writes what is queued, then `last`, and ends the socket's writing side. */
  end(last?: Reply): void {
    if (last !== undefined) this.push(last);
    this.#flush();
    this.#socket.end();
  }

  /** Stops the write timer (the socket has closed). */
  dispose(): void {
    clearTimeout(this.#timer);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const count = this.#pending.length;
    if (count === 0 || this.#socket.destroyed) return;
    const data = count === 1 ? this.#pending[0]! : join(this.#pending, this.#bytes);
    const bytes = this.#bytes;
    this.#pending.length = 0;
    this.#bytes = 0;
    if (!this.#socket.write(data, this.#written)) this.#socket.pause();
    this.#options.onFlush(bytes, count);
    if (this.#socket.writableLength > 0 && !this.#waiting) this.#startWaiting();
  };

  readonly #written = (): void => {
    if (this.#socket.writableLength === 0) this.#waiting = false;
    else this.#timer?.refresh(); // progress: the kernel took some of it
  };

  #startWaiting(): void {
    this.#waiting = true;
    if (this.#options.writeTimeout <= 0) return;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        if (!this.#waiting) return;
        this.#options.onWriteTimeout();
        this.#socket.destroy();
      }, this.#options.writeTimeout).unref();
    } else {
      this.#timer.refresh();
    }
  }
}

function join(replies: readonly Reply[], bytes: number): Buffer {
  const joined = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (const reply of replies) {
    if (typeof reply === 'string') offset += joined.write(reply, offset);
    else {
      joined.set(reply, offset);
      offset += reply.byteLength;
    }
  }
  return joined;
}
