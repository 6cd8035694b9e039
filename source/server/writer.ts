import type { Socket } from 'node:net';
import { bufferView } from '../buffer-view.js';
import { isBorrowed } from '../borrowed-memory.js';
import { lastCarved } from './reply-memory.js';

/** What a protocol emits for the writer: bytes, or text sent as UTF-8. */
export type Reply = string | Uint8Array;

/** Whom the writer reports to: its connection. */
export interface WriterOwner {
  /** One write of `replies` replies, `bytes` bytes, was handed to the socket. */
  flushed(bytes: number, replies: number): void;
  /** The write timeout expired; the writer destroys the socket after this call. */
  writeTimedOut(): void;
}

/**
 * Joins replies into one write per read, and otherwise per turn of the event loop.
 *
 * Replies produced while a read is processed (a pipelined burst, say) reach
 * the socket as one buffer in one syscall, not one each, written as the read
 * ends (Netty's flush on read-complete); replies produced outside a read (by
 * an asynchronous step) go out together at the end of the turn. Its owner
 * stops reading from the peer while too much waits to be written
 * (backpressure); a peer that stops reading altogether is dropped by the
 * write timeout.
 */
export class BatchWriter {
  readonly #socket: Socket;
  readonly #owner: WriterOwner;
  readonly #writeTimeout: number;
  /** Replies queued for the next write, and their bytes. */
  #count = 0;
  #bytes = 0;
  /**
   * The replies queued last that lie side by side in `#memory` (as replies
   * from `allocateReply` do), from `#start` to `#end`: the *run*, kept as
   * its bounds (and its first reply, sent as it is when alone), not reply
   * by reply. A read's replies are one run, and go out as one view of it,
   * uncopied. Empty when `#runFirst` is undefined.
   */
  #runFirst: Uint8Array | undefined;
  #memory: ArrayBufferLike | undefined;
  #start = 0;
  #end = 0;
  /**
   * What is queued before the run (strings, replies elsewhere, earlier runs
   * as views): `#pieces` of them, joined at the write. Kept and overwritten
   * rather than emptied with `length = 0`, which would free its storage and
   * make every batch grow it again.
   */
  #more: Array<Reply | undefined> | undefined;
  #pieces = 0;
  #scheduled = false;
  /** Between {@link hold} and {@link release}: a read is being processed. */
  #held = false;
  /** Bytes whose writes had completed at the last check, and when that figure last moved. */
  #flushed = 0;
  #progressAt = 0;

  /** `writeTimeout` in ms; 0 = never. */
  constructor(socket: Socket, owner: WriterOwner, writeTimeout: number) {
    this.#socket = socket;
    this.#owner = owner;
    this.#writeTimeout = writeTimeout;
  }

  /** Bytes queued for the next write. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Replies pushed from now on wait for {@link release}. */
  hold(): void {
    this.#held = true;
  }

  /** Writes the replies pushed since {@link hold}. */
  release(): void {
    this.#held = false;
    this.flush();
  }

  /** Queues a reply for the write at {@link release}, or at the end of this turn if not held. */
  push(reply: Reply): void {
    if (typeof reply === 'string') {
      this.#endRun();
      (this.#more ??= [])[this.#pieces++] = reply;
      this.#bytes += Buffer.byteLength(reply);
    } else {
      // Each TypedArray accessor is a builtin call (~15 ns on Node 20): read each once, and none for the reply just carved.
      const carved = reply === lastCarved.reply;
      let memory: ArrayBufferLike = carved ? lastCarved.memory : reply.buffer;
      let offset = carved ? lastCarved.offset : reply.byteOffset;
      const length = carved ? lastCarved.length : reply.byteLength;
      if (this.#runFirst !== undefined && memory === this.#memory && offset === this.#end) {
        this.#end = offset + length; // the run goes on: nothing to store
      } else {
        // A frame echoed as it is may be a view of the read buffer or of a pooled block,
        // reused once this call returns: copy it. (A reply that continues the run is in memory checked already.)
        if (isBorrowed(reply)) {
          reply = Buffer.from(reply);
          memory = reply.buffer;
          offset = reply.byteOffset;
        }
        this.#endRun();
        this.#runFirst = reply;
        this.#memory = memory;
        this.#start = offset;
        this.#end = offset + length;
      }
      this.#bytes += length;
    }
    this.#count++;
    if (!this.#scheduled && !this.#held) {
      this.#scheduled = true;
      process.nextTick(flush, this);
    }
  }

  /** Writes what is queued, then `last`, and ends the socket's writing side. */
  end(last?: Reply): void {
    if (last !== undefined) this.push(last);
    this.flush();
    this.#socket.end();
  }

  /** Hands everything queued to the socket as one write. */
  flush(): void {
    this.#scheduled = false;
    const count = this.#count;
    if (count === 0 || this.#socket.destroyed) return;
    const bytes = this.#bytes;
    let data: Reply;
    if (this.#pieces === 0) {
      data = this.#run()!;
    } else if (this.#pieces === 1 && this.#runFirst === undefined) {
      data = this.#more![0]!; // one string, say: no copy
      this.#more![0] = undefined;
      this.#pieces = 0;
    } else {
      this.#endRun();
      data = join(this.#more!, this.#pieces, bytes);
      this.#more!.fill(undefined, 0, this.#pieces); // keep no reply (nor the slab under it) alive
      this.#pieces = 0;
    }
    this.#runFirst = undefined;
    this.#memory = undefined; // holds no slab past the write
    this.#count = 0;
    this.#bytes = 0;
    this.#socket.write(data);
    this.#owner.flushed(bytes, count);
  }

  /** The run as one reply: its first reply if it is alone, else a view of its bytes; undefined if empty. */
  #run(): Uint8Array | undefined {
    const first = this.#runFirst;
    if (first === undefined) return undefined;
    const length = this.#end - this.#start;
    return length === first.byteLength ? first : bufferView(this.#memory!, this.#start, length);
  }

  /** Queues the run as one piece before whatever comes next. */
  #endRun(): void {
    const run = this.#run();
    if (run === undefined) return;
    (this.#more ??= [])[this.#pieces++] = run;
    this.#runFirst = undefined;
    this.#memory = undefined;
  }

  /**
   * The sweeper's check: replies have waited in the socket with no write
   * progress (the kernel taking none of them) for a whole write timeout →
   * drop the peer.
   */
  expire(now: number): void {
    if (this.#writeTimeout <= 0) return;
    const waiting = this.#socket.writableLength;
    const flushed = waiting === 0 ? 0 : this.#socket.bytesWritten - waiting;
    if (waiting === 0 || flushed !== this.#flushed) {
      this.#flushed = flushed;
      this.#progressAt = now;
    } else if (now - this.#progressAt >= this.#writeTimeout) {
      this.#owner.writeTimedOut();
      this.#socket.destroy();
    }
  }
}

function flush(writer: BatchWriter): void {
  writer.flush();
}

/** The `count` first pieces of `pieces`, copied into one buffer of `bytes`. */
function join(pieces: ReadonlyArray<Reply | undefined>, count: number, bytes: number): Buffer {
  const joined = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (let index = 0; index < count; index++) offset = place(joined, pieces[index]!, offset);
  return joined;
}

function place(target: Buffer, reply: Reply, offset: number): number {
  if (typeof reply === 'string') return offset + target.write(reply, offset);
  target.set(reply, offset);
  return offset + reply.byteLength;
}
