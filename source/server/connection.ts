import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Observable, type Observer, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import { withConnectionContext, type ConnectionContext } from '../connection-context.js';
import { ProtocolError } from '../errors.js';
import { clock } from '../protocols/clock.js';
import type { Logger } from '../logger.js';
import type { CloseReason, ServerEvent } from './events.js';
import { Arrivals } from './arrivals.js';
import type { Expiring } from './timeout-sweeper.js';
import { readIntoSharedBuffer, sharedRead } from './shared-read-buffer.js';
import { BatchWriter, type Reply, type WriterOwner } from './writer.js';

/**
 * A protocol: what a connection does with the bytes it receives. Compose one
 * with `pipe(framing, handlers…)`; it is subscribed once per connection, so
 * operator state (a `scan`, say) is per connection. The chunks are borrowed:
 * views of a read buffer that the next read overwrites (see `lines`).
 */
export type Protocol = OperatorFunction<Buffer, Reply>;

/** How connections are served; the server fills it from its options. */
export interface ConnectionSettings {
  /** No bytes either way for this long closes the connection quietly (ms; 0 = never). */
  readonly idleTimeout: number;
  /** A frame started but unfinished for this long gets `ERR read timeout` (ms; 0 = never). */
  readonly readTimeout: number;
  /** Replies pending with no write progress for this long destroy the connection (ms; 0 = never). */
  readonly writeTimeout: number;
  readonly events: { next(event: ServerEvent): void };
  readonly logger: Logger;
  /** Connections being served, so that shutdown and the timeout sweeper can reach them. */
  readonly active: Set<ActiveConnection>;
}

/** A connection as the server sees it. */
export interface ActiveConnection extends Expiring {
  /** Stops taking requests once the frame in progress is complete; closes when every reply is written. */
  drain(): void;
}

/** After our side has finished, how long a peer that keeps sending is given to close its side. */
export const LINGER = 5_000;

/**
 * Serves one socket: its chunks flow through `protocol` into a batching
 * writer. The Observable completes when the socket has closed; unsubscribing
 * destroys the socket (the forced end of a shutdown).
 */
export function serveConnection(socket: Socket, protocol: Protocol, settings: ConnectionSettings): Observable<never> {
  return new Observable<never>((subscriber) => {
    const connection = new Connection(socket, protocol, settings, subscriber);
    return connection; // its unsubscribe() is the forced end
  });
}

/**
 * The socket's listeners are shared functions that find their connection
 * through this key, as Node's own `net` and `http` do with theirs: at 10,000
 * connections, a closure per listener per connection is megabytes.
 */
const kConnection = Symbol('tcp-rx connection');
type ServedSocket = Socket & { [kConnection]: Connection };

class Connection implements ConnectionContext, ActiveConnection, Observer<Reply>, WriterOwner {
  readonly socket: ServedSocket;
  readonly #settings: ConnectionSettings;
  readonly #done: Subscriber<never>;
  readonly #writer: BatchWriter;
  #input: Subscriber<Buffer> | undefined;
  #pipeline: Subscription | undefined;
  /** Set once the pipeline has finished or been stopped: later bytes are discarded. */
  #finished = false;
  #draining = false;
  /** The framing holds the start of an unfinished frame. */
  #pending = false;
  #frames = 0;
  /** Created with the first frame: an idle connection holds none. */
  #arrivals: Arrivals | undefined;
  /** When the latest chunk arrived (a performance.now() time, as are the other instants). */
  #receivedAt = 0;
  /** Last read or write: for the idle timeout. */
  #lastActive = performance.now();
  /** When the unfinished frame began: for the read timeout. */
  #frameStarted = 0;
  /** When our side finished: for the linger. */
  #finishedAt = 0;
  #reason: CloseReason | undefined;

  constructor(accepted: Socket, protocol: Protocol, settings: ConnectionSettings, done: Subscriber<never>) {
    const socket = readIntoSharedBuffer(accepted, onRead);
    this.socket = Object.assign(socket, { [kConnection]: this });
    this.#settings = settings;
    this.#done = done;
    this.#writer = new BatchWriter(socket, this, settings.writeTimeout);
    settings.active.add(this);
    settings.events.next({ type: 'opened' });
    socket.on('close', onClose); // not once(): it fires once anyway, and once() allocates a wrapper per socket
    socket.on('error', onError);
    socket.on('end', onEnd);
    const chunks = new Observable<Buffer>((input) => {
      this.#input = input;
    });
    this.#pipeline = withConnectionContext(this, () => protocol(chunks).subscribe(this));
    socket.resume();
  }

  // ConnectionContext: what the framing reports.

  decoded(frames: number, pending: boolean): void {
    this.#frames += frames;
    if (frames > 0) (this.#arrivals ??= new Arrivals()).add(this.#receivedAt, frames);
    if (pending && (frames > 0 || !this.#pending)) this.#frameStarted = this.#receivedAt;
    this.#pending = pending;
    if (this.#draining && !pending) this.#input?.complete();
  }

  // ActiveConnection: shutdown, and the timeout sweeper (below).

  drain(): void {
    this.#draining = true;
    if (!this.#pending) this.#input?.complete();
  }

  // Expiring: the timeout sweeper's call.

  expire(now: number): void {
    const { idleTimeout, readTimeout } = this.#settings;
    if (this.#finished) {
      if (now - this.#finishedAt >= LINGER) this.socket.destroy();
    } else if (idleTimeout > 0 && now - this.#lastActive >= idleTimeout && this.socket.writableLength === 0) {
      this.destroy('idle-timeout');
    } else if (readTimeout > 0 && this.#pending && now - this.#frameStarted >= readTimeout) {
      this.#pipeline?.unsubscribe();
      this.error(new ProtocolError('ERR read timeout\n', 'read-timeout'));
    } else {
      this.#writer.expire(now);
    }
  }

  /** The pool unsubscribing: a shutdown past its drain timeout. */
  unsubscribe(): void {
    this.destroy('shutdown');
  }

  destroy(reason: CloseReason): void {
    this.#closeAs(reason);
    this.socket.destroy();
  }

  // Observer<Reply>: what the protocol answers.

  next(reply: Reply): void {
    this.#writer.push(reply);
  }

  error(error: unknown): void {
    if (error instanceof ProtocolError) {
      this.#closeAs(error.reason);
      this.#log('warn', error.message);
      this.#finish(error.reply);
    } else {
      this.#closeAs('internal');
      this.#log('error', 'handler failed', { error });
      this.#finish('ERR internal\n');
    }
  }

  /** The protocol has answered everything: end our side once the replies are written. */
  complete(): void {
    this.#finish();
  }

  // WriterOwner: what the writer reports.

  flushed(bytes: number, replies: number): void {
    const now = (this.#lastActive = performance.now());
    const latency = now - (this.#arrivals?.take(replies, this.#receivedAt) ?? this.#receivedAt);
    this.#settings.events.next({ type: 'written', bytes, replies, latency });
  }

  writeTimedOut(): void {
    this.#closeAs('write-timeout');
  }

  // What the socket reports (through the shared listeners below).

  /**
   * One chunk through the protocol. Everything answered while it is processed
   * carries its arrival time and goes out in one write as it ends.
   */
  read(chunk: Buffer): void {
    if (this.#finished) return;
    const now = (this.#receivedAt = this.#lastActive = performance.now());
    this.#frames = 0;
    clock.hold(now);
    this.#writer.hold();
    try {
      this.#input?.next(chunk);
    } finally {
      clock.release();
      this.#writer.release();
    }
    this.#settings.events.next({ type: 'read', bytes: chunk.length, frames: this.#frames });
  }

  ended(): void {
    this.#input?.complete();
  }

  /** A peer that resets or vanishes is ordinary for a server: counted, not logged. */
  failed(): void {
    this.#closeAs('reset');
  }

  closed(): void {
    this.#finished = true;
    this.#pipeline?.unsubscribe();
    this.#settings.active.delete(this);
    this.#settings.events.next({ type: 'closed', reason: this.#reason ?? 'end' });
    this.#done.complete();
  }

  #finish(last?: Reply): void {
    this.#finished = true;
    this.#finishedAt = performance.now();
    this.#writer.end(last);
  }

  /** The first reason given is the one counted. */
  #closeAs(reason: CloseReason): void {
    this.#reason ??= reason;
  }

  #log(level: 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this.#settings.logger.log(level, message, { peer: `${this.socket.remoteAddress}:${this.socket.remotePort}`, ...fields });
  }
}

function onRead(this: Socket, bytes: number): void {
  (this as ServedSocket)[kConnection].read(sharedRead(bytes));
}
function onEnd(this: ServedSocket): void {
  this[kConnection].ended();
}
function onError(this: ServedSocket): void {
  this[kConnection].failed();
}
function onClose(this: ServedSocket): void {
  this[kConnection].closed();
}
