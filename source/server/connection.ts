import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { Observable, type Observer, type OperatorFunction, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { isBorrowed } from '../borrowed-memory.js';
import { withConnectionContext, type ConnectionContext } from '../connection-context.js';
import { ProtocolError } from '../errors.js';
import { clock } from '../protocols/clock.js';
import type { Logger } from '../logger.js';
import type { CloseReason, ServerEvent } from './events.js';
import { Arrivals } from './arrivals.js';
import type { Expiring } from './timeout-sweeper.js';
import { READ_BUFFER_SIZE, readIntoSharedBuffer, sharedRead } from './shared-read-buffer.js';
import { BatchWriter, type Reply, type WriterOwner } from './writer.js';
import { tlsLogFields, tlsPeer, type TlsPeer } from '../transport/tls-peer.js';
import { HIBERNATE_AFTER, isStateless } from './stateless.js';
import { peerLogFields, peerOf, type Peer } from '../transport/peer.js';
import { proxyInfo, takeEarlyBytes } from '../transport/proxy-protocol.js';
import type { ProxyInfo } from '../transport/proxy-header.js';

/**
 * A protocol: what a connection does with the bytes it receives. Compose one
 * with `pipe(framing, handlers…)`; it is subscribed once per connection, so
 * operator state (a `scan`, say) is per connection. Each chunk is the
 * protocol's to keep (a framing operator of tcp-rx may take them borrowed:
 * see {@link ConnectionContext}).
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
  /** Requests read but not yet answered, past which reading pauses. */
  readonly maxPending: number;
  /** Bytes of the reads whose requests are not all answered, past which reading pauses. */
  readonly maxPendingBytes: number;
  /** Bytes of replies not yet written to the kernel, past which no more requests are taken. */
  readonly replyBudget: number;
  /** TCP keep-alive probe delay (ms; 0 = off), which the socket already has. */
  readonly keepAlive: number;
  readonly events: { next(event: ServerEvent): void };
  readonly logger: Logger;
  /** Told once the connection has closed, just before its Observable completes: its worker is free. */
  readonly released: () => void;
  /** Connections being served, so that shutdown and the timeout sweeper can reach them. */
  readonly active: Set<ActiveConnection>;
  /** The server's shutdown: connections served once it has begun drain at once. */
  readonly shutdown: ShutdownState;
}

/** What connections report of a shutdown in progress. */
export interface ShutdownState {
  draining: boolean;
  /** Connections that closed during the shutdown with replies unwritten or requests unanswered. */
  cut: number;
}

/** A connection as the server sees it. */
export interface ActiveConnection extends Expiring {
  /**
   * Answers every request that has reached the server (read, held back, or
   * still in the kernel's receive buffer), then closes with a FIN once every
   * reply is written. Bytes that arrive later are read and dropped.
   */
  drain(): void;
  /** The socket this connection serves (for the server to find it by). */
  readonly socket: Socket;
  /** Ends the connection with `ERR internal`: its pipeline failed where nothing could report it. */
  fail(error: unknown): void;
  /** Destroys the connection, counted as forced: a shutdown past its drain timeout. */
  abort(): void;
}

/** After our side has finished writing, how long a peer that keeps sending is given to close its side. */
export const LINGER = 5_000;

/**
 * Serves one socket: its chunks flow through `protocol` into a batching
 * writer. The Observable completes when the socket has closed. It returns
 * no teardown: the forced end of a shutdown reaches the connection through
 * `settings.active` ({@link ActiveConnection.abort}), and a teardown would
 * cost every connection a finalizer array in its pool subscriber (~180 B).
 */
export function serveConnection(socket: Socket, protocol: Protocol, settings: ConnectionSettings): Observable<never> {
  return new Observable<never>((subscriber) => {
    new Connection(socket, protocol, settings, subscriber);
  });
}

/**
 * The socket's listeners are shared functions that find their connection
 * through this key, as Node's own `net` and `http` do with theirs: at 10,000
 * connections, a closure per listener per connection is megabytes.
 */
const kConnection = Symbol('tcp-rx connection');
type ServedSocket = Socket & { [kConnection]: Connection };

/** An Unsubscribable that does nothing: the chunks end with the connection, not with their subscriber. */
const STAYS: Unsubscribable = { unsubscribe() {} };

class Connection implements ConnectionContext, ActiveConnection, Observer<Reply>, WriterOwner {
  readonly socket: ServedSocket;
  readonly #protocol: Protocol;
  readonly #settings: ConnectionSettings;
  readonly #done: Subscriber<never>;
  /** Created with the first reply or read: an idle connection holds none (nor does a hibernating one). */
  #writer: BatchWriter | undefined;
  /** The chunks as the pipeline subscribed them (one Observable per subscription of the pipeline). */
  #chunks: Observable<Buffer> | undefined;
  #input: Observer<Buffer> | undefined;
  /** The chunks go to an ordinary subscriber, which gets copies of borrowed ones. */
  #copyChunks = false;
  #pipeline: Subscription | undefined;
  /** The protocol was declared {@link stateless}: its pipeline may be dropped while the connection idles. */
  readonly #stateless: boolean;
  /** A stateless protocol's pipeline is not subscribed: the next byte subscribes it. */
  #asleep = false;
  /** Set once the pipeline has finished or been stopped: later bytes are read and dropped. */
  #finished = false;
  #draining = false;
  /** The drain has taken every request that had arrived: a frame in progress is finished, nothing more. */
  #cut = false;
  /** Reads seen: a drain waits for one more, or for a turn of the loop without one. */
  #reads = 0;
  /** The latest read filled the read buffer: the kernel may hold more. */
  #lastReadFull = false;
  /**
   * Plain TCP reads come into the shared buffer, whose size says whether a
   * read took all the kernel held. A TLS read (a record, at most 16 KiB)
   * says nothing of the kind, nor does Node's own path: there every read
   * counts as full, and a drain waits for a turn of the loop without one.
   */
  readonly #shortReadMeansEmpty: boolean;
  #peerEnded = false;
  /** Bytes already received but not yet taken by the framing (it stopped: the connection was full). */
  #backlog: Buffer | undefined;
  /** The framing holds the start of an unfinished frame. */
  #pending = false;
  /** What the framing reported of the chunk being decoded. */
  #frames = 0;
  #consumed = -1;
  /** Between the start and the end of a chunk's decoding: settlements wait for its frames to be counted. */
  #decoding = false;
  #settledInChunk = 0;
  #manualSettling = false;
  /** Bytes the socket held unwritten as the chunk's decoding began. */
  #unsent = 0;
  /** Created with the first frame: an idle connection holds none (nor does a hibernating one). */
  #arrivals: Arrivals | undefined;
  /** Requests (frames) since the connection opened, across hibernations: its access log line's count. */
  #requests = 0;
  /** When the oldest request answered since the last write arrived (NaN: none), for reply latency. */
  #batchArrival = Number.NaN;
  /** When the latest chunk arrived (a performance.now() time, as are the other instants). */
  #receivedAt = 0;
  /** Last read or write: for the idle timeout. */
  #lastActive = performance.now();
  /** When the unfinished frame began: for the read timeout. */
  #frameStarted = 0;
  /** When our side finished writing (the FIN is out): for the linger. 0 until then. */
  #finishedAt = 0;
  /** Destroyed by the server (a shutdown past its drain timeout), which counts it. */
  #forced = false;
  #reason: CloseReason | undefined;
  /**
   * The client (behind a PROXY header, the one it names), read once as the
   * connection opens: a socket no longer knows its peer once closed, when
   * the access log asks.
   */
  readonly #peer: Peer;
  /** When the connection was opened: its duration, for the access log. */
  readonly #openedAt = performance.now();

  constructor(socket: Socket, protocol: Protocol, settings: ConnectionSettings, done: Subscriber<never>) {
    this.#settings = settings;
    this.#done = done;
    const shared = readIntoSharedBuffer(socket, onRead);
    this.#shortReadMeansEmpty = shared && !(socket as Partial<TLSSocket>).encrypted;
    // What came after a PROXY header, in the read that brought it: the connection's first chunk.
    const early = takeEarlyBytes(socket);
    // Node's own read path (where the shared buffer cannot apply): chunks of their own.
    if (!shared) socket.on('data', onData);
    this.socket = Object.assign(socket, { [kConnection]: this });
    this.#peer = peerOf(socket);
    this.#protocol = protocol;
    this.#stateless = isStateless(protocol);
    settings.active.add(this);
    settings.events.next({ type: 'opened' });
    socket.on('close', onClose); // not once(): it fires once anyway, and once() allocates a wrapper per socket
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('drain', onDrain);
    socket.on('finish', onFinish);
    // A stateless protocol waits for the first byte: a connection that never sends holds no pipeline.
    if (this.#stateless) this.#asleep = true;
    else this.#subscribe();
    socket.resume();
    // After resume(): a read that fills the connection pauses the socket again, and it stays paused.
    if (early !== undefined) this.read(early);
    if (settings.shutdown.draining) this.drain();
  }

  // ConnectionContext: what the operators of the pipeline report and ask.

  get chunks(): Observable<Buffer> {
    return (this.#chunks ??= new Observable<Buffer>((input) => {
      this.#input = input;
      this.#copyChunks = true;
    }));
  }

  get tls(): TlsPeer | undefined {
    return tlsPeer(this.socket);
  }

  get peer(): Peer {
    return this.#peer;
  }

  get proxy(): ProxyInfo | undefined {
    return proxyInfo(this.socket);
  }

  lend(observer: Observer<Buffer>): Unsubscribable {
    this.#input = observer;
    this.#copyChunks = false;
    return STAYS;
  }

  full(frames: number): boolean {
    return this.#cut || this.#over(frames, this.#unsent + (this.#writer?.bytes ?? 0));
  }

  decoded(frames: number, pending: boolean, consumed = -1): void {
    this.#frames += frames;
    this.#pending = pending;
    this.#consumed = consumed;
  }

  settle(requests: number): void {
    if (this.#decoding) {
      this.#settledInChunk += requests;
      return;
    }
    const arrival = this.#arrivals?.settle(requests) ?? Number.NaN;
    if (!(arrival >= this.#batchArrival)) this.#batchArrival = arrival; // keeps the oldest; NaN never replaces
    if (this.#backlog !== undefined || this.socket.isPaused()) this.#resumeIfRoom();
  }

  settleManually(): void {
    this.#manualSettling = true;
  }

  // ActiveConnection: shutdown, and the timeout sweeper (below).

  drain(): void {
    if (this.#draining || this.#finished) return;
    this.#draining = true;
    this.#awaitCut();
  }

  fail(error: unknown): void {
    if (this.#finished) return;
    this.#pipeline?.unsubscribe();
    this.error(error);
  }

  // Expiring: the timeout sweeper's call.

  expire(now: number): void {
    const { idleTimeout, readTimeout } = this.#settings;
    if (this.#finished) {
      if (this.#finishedAt > 0 && now - this.#finishedAt >= LINGER) this.socket.destroy();
      else this.#writer?.expire(now);
    } else if (idleTimeout > 0 && now - this.#lastActive >= idleTimeout && this.socket.writableLength === 0) {
      this.destroy('idle-timeout');
    } else if (readTimeout > 0 && this.#pending && now - this.#frameStarted >= readTimeout) {
      this.fail(new ProtocolError('ERR read timeout\n', 'read-timeout'));
    } else if (this.#stateless && now - this.#lastActive >= HIBERNATE_AFTER && this.#owesNothing()) {
      this.#hibernate();
    } else {
      this.#writer?.expire(now);
    }
  }

  abort(): void {
    this.#forced = true;
    this.destroy('shutdown');
  }

  destroy(reason: CloseReason): void {
    this.#closeAs(reason);
    this.socket.destroy();
  }

  // Observer<Reply>: what the protocol answers. None of these may throw: nothing above would catch it.

  next(reply: Reply): void {
    if (this.#finished) return;
    if (typeof reply !== 'string' && !(reply instanceof Uint8Array)) {
      this.fail(new TypeError(`a protocol replied with ${describe(reply)}: replies are strings or bytes`));
      return;
    }
    if (!this.#decoding && typeof reply !== 'string' && isBorrowed(reply)) {
      // Lent memory that outlived its read now holds someone else's bytes: never send them.
      this.fail(new Error('a borrowed frame was replied after its read: its memory has been reused (see `borrowed` in the framing options)'));
      return;
    }
    this.#writeReplies().push(reply);
    if (!this.#manualSettling) this.settle(1);
  }

  error(error: unknown): void {
    if (this.#finished) return;
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
    if (!this.#finished) this.#finish();
  }

  // WriterOwner: what the writer reports.

  flushed(bytes: number, replies: number): void {
    const now = (this.#lastActive = performance.now());
    const arrival = this.#batchArrival;
    this.#batchArrival = Number.NaN;
    this.#settings.events.next({ type: 'written', bytes, replies, latency: now - (arrival >= 0 ? arrival : this.#receivedAt) });
  }

  writeTimedOut(): void {
    this.#closeAs('write-timeout');
  }

  // What the socket reports (through the shared listeners below).

  /** One read: its chunk through the protocol, as far as the connection has room. */
  read(chunk: Buffer): void {
    if (this.#finished) return; // dropped: the pipeline is done, and reading on lets the peer's FIN arrive
    this.#reads++;
    this.#lastReadFull = !this.#shortReadMeansEmpty || chunk.length >= READ_BUFFER_SIZE;
    this.#receivedAt = this.#lastActive = performance.now();
    if (this.#backlog !== undefined) {
      // The next record of a TLS read that filled the connection (they all come, paused or not): it waits behind the rest.
      this.#backlog = Buffer.concat([this.#backlog, chunk]);
      this.#settings.events.next({ type: 'read', bytes: chunk.length, frames: 0 }); // its frames are counted as the backlog is decoded
    } else {
      if (this.#asleep) this.#subscribe();
      const rest = this.#decode(chunk, chunk.length);
      if (rest !== undefined) this.#backlog = Buffer.from(rest); // borrowed or not, it outlives this call
      if (rest !== undefined || this.#isFull()) {
        this.socket.pause();
        this.#resumeIfRoom(); // the replies may have gone straight to the kernel, leaving room already
      }
    }
    if (this.#draining) this.#afterDrainingRead();
  }

  ended(): void {
    this.#peerEnded = true;
    if (this.#backlog === undefined) this.#endInput();
  }

  /** The writer's socket has drained. */
  drained(): void {
    this.#resumeIfRoom();
  }

  /** Our side has finished writing: the linger begins. */
  writingFinished(): void {
    this.#finishedAt = performance.now();
  }

  /** A peer that resets or vanishes is ordinary for a server: counted, not logged. */
  failed(): void {
    this.#closeAs('reset');
  }

  closed(): void {
    // Destroyed by the server, it was counted there; otherwise it was cut if replies or answers were still owed.
    const cut = !this.#forced && !this.socket.writableFinished && (this.socket.writableEnded || this.#unanswered() > 0);
    this.#finished = true;
    this.#backlog = undefined;
    this.#pipeline?.unsubscribe();
    this.#settings.active.delete(this);
    if (cut && this.#settings.shutdown.draining) this.#settings.shutdown.cut++;
    const { socket } = this;
    this.#settings.events.next({
      type: 'closed',
      reason: this.#reason ?? 'end',
      peer: this.#peer,
      duration: performance.now() - this.#openedAt,
      // The socket's own counts (which outlive it): what was read, and handed to it, TLS or not.
      bytesIn: socket.bytesRead,
      bytesOut: socket.bytesWritten,
      requests: this.#requests,
    });
    this.#settings.released();
    this.#done.complete();
  }

  /**
   * Hands `chunk` to the protocol; everything answered meanwhile carries its
   * arrival time and goes out in one write as it ends. `received` is how
   * many of its bytes are new (0 for a backlog). Returns what the framing
   * left untaken because the connection was full, or `undefined`.
   */
  #decode(chunk: Buffer, received: number): Buffer | undefined {
    const input = this.#input;
    if (input === undefined) return undefined;
    this.#frames = 0;
    this.#consumed = -1;
    this.#settledInChunk = 0;
    this.#unsent = this.socket.writableLength;
    this.#decoding = true;
    clock.hold(this.#receivedAt);
    const writer = this.#writeReplies();
    writer.hold();
    try {
      input.next(this.#copyChunks && isBorrowed(chunk) ? Buffer.from(chunk) : chunk);
    } finally {
      clock.release();
      this.#decoding = false;
      this.#counted(chunk.length);
      writer.release();
    }
    this.#settings.events.next({ type: 'read', bytes: received, frames: this.#frames });
    const consumed = this.#consumed;
    return consumed >= 0 && consumed < chunk.length && !this.#finished ? chunk.subarray(consumed) : undefined;
  }

  /** The chunk's frames join the unanswered requests, and what was answered while it was decoded is settled. */
  #counted(bytes: number): void {
    const frames = this.#frames;
    this.#requests += frames;
    if (frames > 0) (this.#arrivals ??= new Arrivals()).add(this.#receivedAt, frames, this.#consumed >= 0 ? this.#consumed : bytes);
    if (this.#pending && (frames > 0 || this.#frameStarted === 0)) this.#frameStarted = this.#receivedAt;
    if (!this.#pending) this.#frameStarted = 0;
    const settled = this.#settledInChunk;
    this.#settledInChunk = 0;
    if (settled > 0) this.settle(settled);
  }

  /**
   * Whether the connection is at a bound once `frames` more requests are
   * counted and `unsent` bytes of replies wait: then it takes no more.
   */
  #over(frames: number, unsent: number): boolean {
    const { maxPending, maxPendingBytes, replyBudget } = this.#settings;
    const arrivals = this.#arrivals;
    return (
      (arrivals?.pending ?? 0) + frames - this.#settledInChunk >= maxPending ||
      (arrivals !== undefined && arrivals.pendingBytes >= maxPendingBytes) ||
      unsent >= replyBudget
    );
  }

  /** {@link full} between chunks. */
  #isFull(): boolean {
    return this.#over(0, this.socket.writableLength + (this.#writer?.bytes ?? 0));
  }

  /** Takes the backlog as far as there is room; reading resumes once it is all taken. */
  #resumeIfRoom(): void {
    if (this.#finished || this.#decoding) return;
    while (this.#backlog !== undefined && !this.#isFull()) {
      const backlog = this.#backlog;
      this.#backlog = undefined;
      this.#receivedAt = performance.now();
      const rest = this.#decode(backlog, 0);
      if (rest !== undefined) this.#backlog = rest; // a view of our own copy: it stays valid
      if (this.#finished) return;
    }
    if (this.#backlog !== undefined || this.#isFull()) return;
    if (this.#peerEnded) return this.#endInput();
    this.socket.resume(); // after a cut too: a frame in progress is still read to its end
    if (this.#cut) this.#endInputIfWhole();
    else if (this.#draining) this.#awaitCut();
  }

  /**
   * A drain takes what the kernel holds now: it reads until a read comes
   * back short of the read buffer (the kernel had nothing more), or until a
   * turn of the event loop passes with reading on and no read at all.
   */
  #awaitCut(): void {
    if (this.#cut || this.#finished) return;
    if (this.#backlog !== undefined || this.socket.isPaused()) return; // resumes through #resumeIfRoom
    if (this.#reads > 0 && !this.#lastReadFull) return this.#cutNow();
    const reads = this.#reads;
    // Two hops: the first lands in this turn's check phase, the second after the next poll, which reads what is there.
    setImmediate(() => setImmediate(() => {
      if (this.#reads === reads && !this.socket.isPaused()) this.#cutNow();
    }));
  }

  #afterDrainingRead(): void {
    if (this.#cut) this.#endInputIfWhole();
    else if (this.#backlog === undefined && !this.#lastReadFull) this.#cutNow();
    else this.#awaitCut();
  }

  #cutNow(): void {
    if (this.#cut) return;
    this.#cut = true;
    this.#endInputIfWhole();
  }

  /** After the cut: once no frame is half read, the pipeline has every request it will get. */
  #endInputIfWhole(): void {
    if (this.#pending || this.#finished) return;
    this.#backlog = undefined; // arrived after the cut: dropped, and the FIN tells the peer so
    this.#endInput();
  }

  /** Subscribes the protocol's pipeline to this connection's chunks. */
  #subscribe(): void {
    this.#asleep = false;
    try {
      this.#pipeline = withConnectionContext(this, () => this.#protocol(this.chunks).subscribe(this));
    } catch (error) {
      this.error(error); // the protocol failed to assemble: this connection ends, the server serves on
    }
  }

  /** Whether a stateless pipeline may be dropped now: nothing half read, unanswered, unwritten or ending. */
  #owesNothing(): boolean {
    return (
      !this.#asleep &&
      !this.#finished &&
      !this.#draining &&
      !this.#peerEnded &&
      !this.#pending &&
      this.#backlog === undefined &&
      this.#unanswered() === 0 &&
      (this.#writer?.bytes ?? 0) === 0 &&
      this.socket.writableLength === 0
    );
  }

  /** Drops a stateless pipeline and what serves it; the next read subscribes it again. */
  #hibernate(): void {
    const pipeline = this.#pipeline;
    this.#asleep = true;
    this.#pipeline = this.#chunks = this.#input = this.#arrivals = this.#writer = undefined;
    this.#copyChunks = this.#manualSettling = false;
    pipeline?.unsubscribe();
  }

  /** The input has ended: the pipeline completes, or, asleep, owing nothing, the connection does as its pipeline would. */
  #endInput(): void {
    if (this.#asleep) this.complete();
    else this.#input?.complete();
  }

  #writeReplies(): BatchWriter {
    return (this.#writer ??= new BatchWriter(this.socket, this, this.#settings.writeTimeout));
  }

  #unanswered(): number {
    return this.#arrivals?.pending ?? 0;
  }

  #finish(last?: Reply): void {
    this.#finished = true;
    this.#backlog = undefined;
    this.#writeReplies().end(last);
    // Read on (and drop) what the peer still sends, so that our close is a FIN, never a reset.
    this.socket.resume();
  }

  /** The first reason given is the one counted. */
  #closeAs(reason: CloseReason): void {
    this.#reason ??= reason;
  }

  #log(level: 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this.#settings.logger.log(level, message, { ...peerLogFields(this.socket), ...tlsLogFields(this.socket), ...fields });
  }
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}

function onRead(this: Socket, bytes: number): void {
  (this as ServedSocket)[kConnection].read(sharedRead(bytes));
}
function onData(this: ServedSocket, chunk: Buffer): void {
  this[kConnection].read(chunk);
}
function onEnd(this: ServedSocket): void {
  this[kConnection].ended();
}
function onDrain(this: ServedSocket): void {
  this[kConnection].drained();
}
function onFinish(this: ServedSocket): void {
  this[kConnection].writingFinished();
}
function onError(this: ServedSocket): void {
  this[kConnection].failed();
}
function onClose(this: ServedSocket): void {
  this[kConnection].closed();
}
