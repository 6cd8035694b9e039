import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import { withConnectionContext, type ConnectionContext } from '../connection-context.js';
import { ProtocolError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CloseReason, ServerEvent } from './events.js';
import { Arrivals } from './arrivals.js';
import { BatchWriter, type Reply } from './writer.js';

/**
 * A protocol: what a connection does with the bytes it receives. Compose one
 * with `pipe(framing, handlers…)`; it is subscribed once per connection, so
 * operator state (a `scan`, say) is per connection.
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
  /** Connections being served, so that shutdown can reach them. */
  readonly active: Set<Drainable>;
}

/** A connection as shutdown sees it. */
export interface Drainable {
  /** Stops taking requests once the frame in progress is complete; closes when every reply is written. */
  drain(): void;
}

/** After our side has finished, how long a peer that keeps sending is given to close its side. */
const LINGER = 5_000;

/**
 * Serves one socket: its chunks flow through `protocol` into a batching
 * writer. The Observable completes when the socket has closed; unsubscribing
 * destroys the socket (the forced end of a shutdown).
 */
export function serveConnection(socket: Socket, protocol: Protocol, settings: ConnectionSettings): Observable<never> {
  return new Observable<never>((subscriber) => {
    const connection = new Connection(socket, protocol, settings, subscriber);
    return () => connection.destroy('shutdown');
  });
}

class Connection implements ConnectionContext, Drainable {
  readonly socket: Socket;
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
  readonly #arrivals = new Arrivals();
  /** When the latest chunk arrived (performance.now()). */
  #lastRead = 0;
  #reason: CloseReason | undefined;
  #readTimer: NodeJS.Timeout | undefined;
  #lingerTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, protocol: Protocol, settings: ConnectionSettings, done: Subscriber<never>) {
    this.socket = socket;
    this.#settings = settings;
    this.#done = done;
    this.#writer = new BatchWriter(socket, {
      writeTimeout: settings.writeTimeout,
      onFlush: (bytes, replies) => {
        const now = performance.now();
        const latency = now - this.#arrivals.take(replies, this.#lastRead);
        settings.events.next({ type: 'written', bytes, replies, latency });
      },
      onWriteTimeout: () => this.#closeAs('write-timeout'),
    });
    settings.active.add(this);
    settings.events.next({ type: 'opened' });
    socket.once('close', this.#onClose);
    socket.on('error', this.#onError);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    if (settings.idleTimeout > 0) {
      socket.setTimeout(settings.idleTimeout);
      socket.on('timeout', this.#onIdle);
    }
    const chunks = new Observable<Buffer>((input) => {
      this.#input = input;
    });
    this.#pipeline = withConnectionContext(this, () =>
      protocol(chunks).subscribe({
        next: (reply) => this.#writer.push(reply),
        error: (error: unknown) => this.#fail(error),
        complete: () => this.#finish(),
      }),
    );
    socket.resume();
  }

  decoded(frames: number, pending: boolean): void {
    this.#frames += frames;
    this.#arrivals.add(this.#lastRead, frames);
    if (pending && (frames > 0 || !this.#pending)) this.#startReadTimer();
    this.#pending = pending;
    if (this.#draining && !pending) this.#input?.complete();
  }

  drain(): void {
    this.#draining = true;
    if (!this.#pending) this.#input?.complete();
  }

  destroy(reason: CloseReason): void {
    this.#closeAs(reason);
    this.socket.destroy();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#finished) return;
    this.#lastRead = performance.now();
    this.#frames = 0;
    this.#input?.next(chunk);
    this.#settings.events.next({ type: 'read', bytes: chunk.length, frames: this.#frames });
  };

  readonly #onEnd = (): void => {
    this.#input?.complete();
  };

  /** A peer that resets or vanishes is ordinary for a server: counted, not logged. */
  readonly #onError = (): void => {
    this.#closeAs('reset');
  };

  readonly #onIdle = (): void => {
    this.destroy('idle-timeout');
  };

  readonly #onClose = (): void => {
    clearTimeout(this.#readTimer);
    clearTimeout(this.#lingerTimer);
    this.#writer.dispose();
    this.#finished = true;
    this.#pipeline?.unsubscribe();
    this.#settings.active.delete(this);
    this.#settings.events.next({ type: 'closed', reason: this.#reason ?? 'end' });
    this.#done.complete();
  };

  /** The protocol has answered everything: end our side once the replies are written. */
  #finish(last?: Reply): void {
    this.#finished = true;
    this.#writer.end(last);
    if (!this.socket.readableEnded) {
      this.#lingerTimer = setTimeout(() => this.socket.destroy(), LINGER).unref();
    }
  }

  #fail(error: unknown): void {
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

  #startReadTimer(): void {
    const timeout = this.#settings.readTimeout;
    if (timeout <= 0) return;
    if (this.#readTimer === undefined) {
      this.#readTimer = setTimeout(() => {
        if (!this.#pending || this.#finished) return;
        this.#pipeline?.unsubscribe();
        this.#fail(new ProtocolError('ERR read timeout\n', 'read-timeout'));
      }, timeout).unref();
    } else {
      this.#readTimer.refresh();
    }
  }

  /** The first reason given is the one counted. */
  #closeAs(reason: CloseReason): void {
    this.#reason ??= reason;
  }

  #log(level: 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this.#settings.logger.log(level, message, { peer: `${this.socket.remoteAddress}:${this.socket.remotePort}`, ...fields });
  }
}
