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
import type { ActiveConnections, ActiveLinks } from './active-connections.js';
import { Arrivals } from './arrivals.js';
import type { Expiring } from './timeout-sweeper.js';
import { READ_BUFFER_SIZE, readIntoSharedBuffer, sharedRead } from './shared-read-buffer.js';
import { BatchWriter, type Reply, type WriterOwner } from './writer.js';
import { tlsLogFields, tlsPeer, type TlsPeer } from '../transport/tls-peer.js';
import { HIBERNATE_AFTER, isStateless } from './stateless.js';
import { ownPeer, peerLogFields, proxiedPeer, readOwnPeer, type OwnPeer, type Peer } from '../transport/peer.js';
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
  /** What each connection does with its bytes. */
  readonly protocol: Protocol;
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
  readonly active: ActiveConnections<ActiveConnection>;
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
export interface ActiveConnection extends Expiring, ActiveLinks<ActiveConnection> {
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
 * How one server serves each socket: its chunks flow through
 * `settings.protocol` into a batching writer. Each Observable completes when
 * its socket has closed. It returns no teardown: the forced end of a
 * shutdown reaches the connection through `settings.active`
 * ({@link ActiveConnection.abort}), and a teardown would cost every
 * connection a finalizer array in its pool subscriber (~180 B).
 *
 * The server's connections are of a class of its own, whose prototype holds
 * the settings: one reference for the server rather than a field in each
 * connection (8 B each; perf/NOTES.md, issue 15).
 */
export function connectionServer(settings: ConnectionSettings): (socket: Socket) => Observable<never> {
  class ServerConnection extends Connection {}
  Object.defineProperty(ServerConnection.prototype, kSettings, { value: settings });
  return (socket) =>
    new Observable<never>((subscriber) => {
      new ServerConnection(socket, subscriber);
    });
}

/** Where a server's {@link Connection} class keeps its settings, on its prototype. */
const kSettings = Symbol('tcp-rx connection settings');

/**
 * The socket's listeners are shared functions that find their connection
 * through this key, as Node's own `net` and `http` do with theirs: at 10,000
 * connections, a closure per listener per connection is megabytes.
 */
const kConnection = Symbol('tcp-rx connection');
type ServedSocket = Socket & { [kConnection]: Connection };

/** An Unsubscribable that does nothing: the chunks end with the connection, not with their subscriber. */
const STAYS: Unsubscribable = { unsubscribe() {} };

// The bits of a connection's #flags.
/** The chunks go to an ordinary subscriber, which gets copies of borrowed ones. */
const COPY_CHUNKS = 1 << 0;
/** The protocol was declared {@link stateless}: its pipeline may be dropped while the connection idles. */
const STATELESS = 1 << 1;
/** A stateless protocol's pipeline is not subscribed: the next byte subscribes it. */
const ASLEEP = 1 << 2;
/** Set once the pipeline has finished or been stopped: later bytes are read and dropped. */
const FINISHED = 1 << 3;
const DRAINING = 1 << 4;
/** The drain has taken every request that had arrived: a frame in progress is finished, nothing more. */
const CUT = 1 << 5;
/** The latest read filled the read buffer: the kernel may hold more. */
const LAST_READ_FULL = 1 << 6;
/**
 * Plain TCP reads come into the shared buffer, whose size says whether a
 * read took all the kernel held. A TLS read (a record, at most 16 KiB) says
 * nothing of the kind, nor does Node's own path: there every read counts as
 * full, and a drain waits for a turn of the loop without one.
 */
const SHORT_READ_MEANS_EMPTY = 1 << 7;
const PEER_ENDED = 1 << 8;
/** The framing holds the start of an unfinished frame. */
const PENDING = 1 << 9;
/** Between the start and the end of a chunk's decoding: settlements wait for its frames to be counted. */
const DECODING = 1 << 10;
/** The protocol settles requests itself (settleManually). */
const MANUAL_SETTLING = 1 << 11;
/** Destroyed by the server (a shutdown past its drain timeout), which counts it. */
const FORCED = 1 << 12;
/** Our side has finished writing (the FIN is out): the linger has begun. */
const WRITING_FINISHED = 1 << 13;
/**
 * Three bits: why the connection closes, as its index in {@link CLOSE_REASONS}
 * (0: no reason given yet; the `closed` event then says `end`). A reason not
 * there (a protocol's own, from its `ProtocolError`) is {@link OWN_REASON}
 * and is kept in the {@link Exchange}, which a connection closed by its
 * protocol has (the error is answered through its writer) and keeps (it
 * hibernates no more once finished).
 */
const REASON_SHIFT = 14;
const REASON = 0b111 << REASON_SHIFT;
const CLOSE_REASONS: readonly CloseReason[] = ['', 'idle-timeout', 'read-timeout', 'write-timeout', 'shutdown', 'internal', 'reset'];
const OWN_REASON = 7;

/**
 * What a connection holds only while it is being talked to: its pipeline's
 * subscription and input, the requests in flight and when they came, the
 * chunk being decoded. A stateless protocol's connection drops it with its
 * pipeline when it hibernates, and one that never sends never has one: at
 * 10,000 idle connections these dozen fields (some of them boxed numbers)
 * are over a megabyte.
 */
class Exchange {
  /** The chunks as the pipeline subscribed them (one Observable per subscription of the pipeline). */
  chunks: Observable<Buffer> | undefined = undefined;
  input: Observer<Buffer> | undefined = undefined;
  pipeline: Subscription | undefined = undefined;
  /** Bytes already received but not yet taken by the framing (it stopped: the connection was full). */
  backlog: Buffer | undefined = undefined;
  /**
   * Reads since it was created: a drain waits for one more, or for a turn of
   * the loop without one (it is not dropped while a drain waits).
   */
  reads = 0;
  /** What the framing reported of the chunk being decoded. */
  frames = 0;
  consumed = -1;
  /** Settlements made while the chunk was decoded, to be applied as it ends. */
  settledInChunk = 0;
  /** Bytes the socket held unwritten as the chunk's decoding began. */
  unsent = 0;
  /** Created with the first frame. */
  arrivals: Arrivals | undefined = undefined;
  /** Created with the first reply or read. */
  writer: BatchWriter | undefined = undefined;
  /** When the oldest request answered since the last write arrived (NaN: none), for reply latency. */
  batchArrival = Number.NaN;
  /** When the latest chunk arrived (a performance.now() time, as are the connection's instants). */
  receivedAt = performance.now();
  /** When the unfinished frame began: for the read timeout. */
  frameStarted = 0;
  /** Why the connection closes, where the reason is a protocol's own (see {@link REASON}). */
  reason: CloseReason | undefined = undefined;
}

/**
 * One served socket. Its state is in `#` fields, out of reach of the user
 * code that `connectionContext()` hands it to; its helper methods are
 * TypeScript-private only, as its listeners' entry points (`read`, `closed`…)
 * are public: a class with any `#` method gives every instance a brand slot
 * (8 B per connection; perf/NOTES.md, issue 15), and a method reaches no
 * state that a public one does not.
 */
class Connection implements ConnectionContext, ActiveConnection, Observer<Reply>, WriterOwner {
  readonly socket: ServedSocket;
  /** Its links in `settings.active`. */
  activePrevious: ActiveConnection | undefined = undefined;
  activeNext: ActiveConnection | undefined = undefined;
  /** The server's settings, from the prototype (see {@link connectionServer}). */
  declare readonly [kSettings]: ConnectionSettings;
  readonly #done: Subscriber<never>;
  /** The connection's yes-or-no states, as bits (see {@link COPY_CHUNKS} and the rest): one field, not one each. */
  #flags = 0;
  /** Created with the first read (or the pipeline's subscription): an idle connection holds none (nor does a hibernating one). */
  #exchange: Exchange | undefined;
  /** Requests (frames) since the connection opened, across hibernations: its access log line's count. */
  #requests = 0;
  /**
   * Last read or write: for the idle timeout; once our side has finished
   * writing ({@link WRITING_FINISHED}), when it did: for the linger. In
   * whole milliseconds: small integers live in the object, where a fraction
   * would box a number per connection (for the first 24 days of the
   * process; then they are boxed, and as right).
   */
  #lastActive = wholeMilliseconds();
  /**
   * The socket's own peer, read once as the connection opens (a socket no
   * longer knows it once closed, when the access log asks), compactly; the
   * client a PROXY header named stays with the socket.
   */
  readonly #ownPeer: OwnPeer['address'];
  /**
   * When the connection was opened (a performance.now() time, for its
   * duration in the access log and the `closed` event), in whole ms; its µs
   * past that are kept with the port, in {@link #portAndMicros}. Two small
   * integers in the object: the time as one fraction would box a number
   * (16 B) per connection.
   */
  readonly #openedAt: number;
  /** The own peer's port + 1 (0: unknown), plus {@link PORT_SPAN} × the µs of the open time past {@link #openedAt}. */
  readonly #portAndMicros: number;

  constructor(socket: Socket, done: Subscriber<never>) {
    const settings = this[kSettings];
    this.#done = done;
    const shared = readIntoSharedBuffer(socket, onRead);
    this.set(SHORT_READ_MEANS_EMPTY, shared && !(socket as Partial<TLSSocket>).encrypted);
    // What came after a PROXY header, in the read that brought it: the connection's first chunk.
    const early = takeEarlyBytes(socket);
    // Node's own read path (where the shared buffer cannot apply): chunks of their own.
    if (!shared) socket.on('data', onData);
    (socket as ServedSocket)[kConnection] = this; // not Object.assign(): its source object would be garbage at every connection
    this.socket = socket as ServedSocket;
    const opened = performance.now();
    this.#openedAt = Math.trunc(opened);
    const own = readOwnPeer(socket);
    this.#ownPeer = own.address;
    this.#portAndMicros = (own.port === undefined ? 0 : own.port + 1) + PORT_SPAN * Math.round((opened - this.#openedAt) * 1000);
    this.set(STATELESS, isStateless(settings.protocol));
    settings.active.add(this);
    settings.events.next({ type: 'opened' });
    socket.on('close', onClose); // not once(): it fires once anyway, and once() allocates a wrapper per socket
    socket.on('error', onError);
    listenForEnd(socket);
    socket.on('drain', onDrain);
    socket.on('finish', onFinish);
    // A stateless protocol waits for the first byte: a connection that never sends holds no pipeline.
    if (this.is(STATELESS)) this.set(ASLEEP, true);
    else this.subscribePipeline();
    socket.resume();
    // After resume(): a read that fills the connection pauses the socket again, and it stays paused.
    if (early !== undefined) this.read(early);
    if (settings.shutdown.draining) this.drain();
  }

  /**
   * The connection's {@link Exchange}, created as it is first needed. An
   * ordinary getter, not a `#` one: on Node 20 (V8 11.3) each read of a
   * private accessor is a runtime call (`LoadPrivateGetter`) that the
   * optimising compiler cannot inline, and this is read several times a
   * request (perf/NOTES.md, issue 12).
   */
  private get x(): Exchange {
    return (this.#exchange ??= new Exchange());
  }

  private is(flag: number): boolean {
    return (this.#flags & flag) !== 0;
  }

  private set(flags: number, on: boolean): void {
    this.#flags = on ? this.#flags | flags : this.#flags & ~flags;
  }

  // ConnectionContext: what the operators of the pipeline report and ask.

  get chunks(): Observable<Buffer> {
    return (this.x.chunks ??= new Observable<Buffer>((input) => {
      this.x.input = input;
      this.set(COPY_CHUNKS, true);
    }));
  }

  get tls(): TlsPeer | undefined {
    return tlsPeer(this.socket);
  }

  get peer(): Peer {
    const port = (this.#portAndMicros % PORT_SPAN) - 1;
    return proxiedPeer(this.socket) ?? ownPeer({ address: this.#ownPeer, port: port < 0 ? undefined : port });
  }

  get proxy(): ProxyInfo | undefined {
    return proxyInfo(this.socket);
  }

  lend(observer: Observer<Buffer>): Unsubscribable {
    this.x.input = observer;
    this.set(COPY_CHUNKS, false);
    return STAYS;
  }

  full(frames: number): boolean {
    return this.is(CUT) || this.over(frames, this.x.unsent + (this.#exchange?.writer?.bytes ?? 0));
  }

  decoded(frames: number, pending: boolean, consumed = -1): void {
    this.x.frames += frames;
    this.set(PENDING, pending);
    this.x.consumed = consumed;
  }

  settle(requests: number): void {
    if (this.is(DECODING)) {
      this.x.settledInChunk += requests;
      return;
    }
    const x = this.x;
    const arrival = x.arrivals?.settle(requests) ?? Number.NaN;
    if (!(arrival >= x.batchArrival)) x.batchArrival = arrival; // keeps the oldest; NaN never replaces
    if (x.backlog !== undefined || this.socket.isPaused()) this.resumeIfRoom();
  }

  settleManually(): void {
    this.set(MANUAL_SETTLING, true);
  }

  // ActiveConnection: shutdown, and the timeout sweeper (below).

  drain(): void {
    if (this.is(DRAINING) || this.is(FINISHED)) return;
    this.set(DRAINING, true);
    this.awaitCut();
  }

  fail(error: unknown): void {
    if (this.is(FINISHED)) return;
    this.#exchange?.pipeline?.unsubscribe();
    this.error(error);
  }

  // Expiring: the timeout sweeper's call.

  expire(now: number): void {
    const { idleTimeout, readTimeout } = this[kSettings];
    if (this.is(FINISHED)) {
      if (this.is(WRITING_FINISHED) && now - this.#lastActive >= LINGER) this.socket.destroy();
      else this.#exchange?.writer?.expire(now);
    } else if (idleTimeout > 0 && now - this.#lastActive >= idleTimeout && this.socket.writableLength === 0) {
      this.destroy('idle-timeout');
    } else if (readTimeout > 0 && this.is(PENDING) && now - this.x.frameStarted >= readTimeout) {
      this.fail(new ProtocolError('ERR read timeout\n', 'read-timeout'));
    } else if (this.is(STATELESS) && now - this.#lastActive >= HIBERNATE_AFTER && this.owesNothing()) {
      this.hibernate();
    } else {
      this.#exchange?.writer?.expire(now);
    }
  }

  abort(): void {
    this.set(FORCED, true);
    this.destroy('shutdown');
  }

  destroy(reason: CloseReason): void {
    this.closeAs(reason);
    this.socket.destroy();
  }

  // Observer<Reply>: what the protocol answers. None of these may throw: nothing above would catch it.

  next(reply: Reply): void {
    if (this.is(FINISHED)) return;
    if (typeof reply !== 'string' && !(reply instanceof Uint8Array)) {
      this.fail(new TypeError(`a protocol replied with ${describe(reply)}: replies are strings or bytes`));
      return;
    }
    if (!this.is(DECODING) && typeof reply !== 'string' && isBorrowed(reply)) {
      // Lent memory that outlived its read now holds someone else's bytes: never send them.
      this.fail(new Error('a borrowed frame was replied after its read: its memory has been reused (see `borrowed` in the framing options)'));
      return;
    }
    this.writeReplies().push(reply);
    if (!this.is(MANUAL_SETTLING)) this.settle(1);
  }

  error(error: unknown): void {
    if (this.is(FINISHED)) return;
    if (error instanceof ProtocolError) {
      this.closeAs(error.reason);
      this.log('warn', error.message);
      this.finish(error.reply);
    } else {
      this.closeAs('internal');
      this.log('error', 'handler failed', { error });
      this.finish('ERR internal\n');
    }
  }

  /** The protocol has answered everything: end our side once the replies are written. */
  complete(): void {
    if (!this.is(FINISHED)) this.finish();
  }

  // WriterOwner: what the writer reports.

  flushed(bytes: number, replies: number): void {
    const now = performance.now();
    this.#lastActive = Math.trunc(now);
    const x = this.x;
    const arrival = x.batchArrival;
    x.batchArrival = Number.NaN;
    this[kSettings].events.next({ type: 'written', bytes, replies, latency: now - (arrival >= 0 ? arrival : x.receivedAt) });
  }

  writeTimedOut(): void {
    this.closeAs('write-timeout');
  }

  // What the socket reports (through the shared listeners below).

  /** One read: its chunk through the protocol, as far as the connection has room. */
  read(chunk: Buffer): void {
    if (this.is(FINISHED)) return; // dropped: the pipeline is done, and reading on lets the peer's FIN arrive
    const x = this.x;
    x.reads++;
    this.set(LAST_READ_FULL, !this.is(SHORT_READ_MEANS_EMPTY) || chunk.length >= READ_BUFFER_SIZE);
    const now = performance.now();
    const quiet = now - this.#lastActive;
    x.receivedAt = now;
    this.#lastActive = Math.trunc(now);
    if (x.backlog !== undefined) {
      // The next record of a TLS read that filled the connection (they all come, paused or not): it waits behind the rest.
      x.backlog = Buffer.concat([x.backlog, chunk]);
      this[kSettings].events.next({ type: 'read', bytes: chunk.length, frames: 0 }); // its frames are counted as the backlog is decoded
    } else {
      const waking = this.is(ASLEEP);
      // A wake that may stay the only one for a while: the connection's first, or one after a quiet second.
      const brief = waking && (this.#requests === 0 || quiet >= HIBERNATE_AFTER);
      if (waking) this.subscribePipeline();
      const rest = this.decode(chunk, chunk.length);
      if (rest !== undefined) x.backlog = Buffer.from(rest); // borrowed or not, it outlives this call
      if (rest !== undefined || this.isFull()) {
        this.socket.pause();
        this.resumeIfRoom(); // the replies may have gone straight to the kernel, leaving room already
      }
      // Back to sleep at once if it owes nothing: what served it then dies young, never promoted to the old generation.
      if (brief && this.owesNothing()) this.hibernate();
    }
    if (this.is(DRAINING)) this.afterDrainingRead();
  }

  ended(): void {
    this.set(PEER_ENDED, true);
    if (this.#exchange?.backlog === undefined) this.endInput();
  }

  /** The writer's socket has drained. */
  drained(): void {
    this.resumeIfRoom();
  }

  /** Our side has finished writing: the linger begins. */
  writingFinished(): void {
    this.#lastActive = wholeMilliseconds();
    this.set(WRITING_FINISHED, true);
  }

  /** A peer that resets or vanishes is ordinary for a server: counted, not logged. */
  failed(): void {
    this.closeAs('reset');
  }

  closed(): void {
    // Destroyed by the server, it was counted there; otherwise it was cut if replies or answers were still owed.
    const cut = !this.is(FORCED) && !this.socket.writableFinished && (this.socket.writableEnded || this.unanswered() > 0);
    this.set(FINISHED, true);
    this.dropBacklog();
    this.#exchange?.pipeline?.unsubscribe();
    this[kSettings].active.delete(this);
    if (cut && this[kSettings].shutdown.draining) this[kSettings].shutdown.cut++;
    const { socket } = this;
    this[kSettings].events.next({
      type: 'closed',
      reason: this.reason() ?? 'end',
      peer: this.peer,
      duration: performance.now() - (this.#openedAt + Math.floor(this.#portAndMicros / PORT_SPAN) / 1000),
      // The socket's own counts (which outlive it): what was read, and handed to it, TLS or not.
      bytesIn: socket.bytesRead,
      bytesOut: socket.bytesWritten,
      requests: this.#requests,
    });
    this[kSettings].released();
    this.#done.complete();
  }

  /**
   * Hands `chunk` to the protocol; everything answered meanwhile carries its
   * arrival time and goes out in one write as it ends. `received` is how
   * many of its bytes are new (0 for a backlog). Returns what the framing
   * left untaken because the connection was full, or `undefined`.
   */
  private decode(chunk: Buffer, received: number): Buffer | undefined {
    const x = this.x;
    const input = x.input;
    if (input === undefined) return undefined;
    x.frames = 0;
    x.consumed = -1;
    x.settledInChunk = 0;
    x.unsent = this.socket.writableLength;
    this.set(DECODING, true);
    clock.hold(x.receivedAt);
    const writer = this.writeReplies();
    writer.hold();
    try {
      input.next(this.is(COPY_CHUNKS) && isBorrowed(chunk) ? Buffer.from(chunk) : chunk);
    } finally {
      clock.release();
      this.set(DECODING, false);
      this.counted(chunk.length);
      writer.release();
    }
    this[kSettings].events.next({ type: 'read', bytes: received, frames: x.frames });
    const consumed = x.consumed;
    return consumed >= 0 && consumed < chunk.length && !this.is(FINISHED) ? chunk.subarray(consumed) : undefined;
  }

  /** The chunk's frames join the unanswered requests, and what was answered while it was decoded is settled. */
  private counted(bytes: number): void {
    const x = this.x;
    const frames = x.frames;
    this.#requests += frames;
    if (frames > 0) (x.arrivals ??= new Arrivals()).add(x.receivedAt, frames, x.consumed >= 0 ? x.consumed : bytes);
    if (this.is(PENDING) && (frames > 0 || x.frameStarted === 0)) x.frameStarted = x.receivedAt;
    if (!this.is(PENDING)) x.frameStarted = 0;
    const settled = x.settledInChunk;
    x.settledInChunk = 0;
    if (settled > 0) this.settle(settled);
  }

  /**
   * Whether the connection is at a bound once `frames` more requests are
   * counted and `unsent` bytes of replies wait: then it takes no more.
   */
  private over(frames: number, unsent: number): boolean {
    const { maxPending, maxPendingBytes, replyBudget } = this[kSettings];
    const x = this.x;
    const arrivals = x.arrivals;
    return (
      (arrivals?.pending ?? 0) + frames - x.settledInChunk >= maxPending ||
      (arrivals !== undefined && arrivals.pendingBytes >= maxPendingBytes) ||
      unsent >= replyBudget
    );
  }

  /** {@link full} between chunks. */
  private isFull(): boolean {
    return this.over(0, this.socket.writableLength + (this.#exchange?.writer?.bytes ?? 0));
  }

  /** Takes the backlog as far as there is room; reading resumes once it is all taken. */
  private resumeIfRoom(): void {
    if (this.is(FINISHED) || this.is(DECODING)) return;
    const x = this.x;
    while (x.backlog !== undefined && !this.isFull()) {
      const backlog = x.backlog;
      x.backlog = undefined;
      x.receivedAt = performance.now();
      const rest = this.decode(backlog, 0);
      if (rest !== undefined) x.backlog = rest; // a view of our own copy: it stays valid
      if (this.is(FINISHED)) return;
    }
    if (x.backlog !== undefined || this.isFull()) return;
    if (this.is(PEER_ENDED)) return this.endInput();
    this.socket.resume(); // after a cut too: a frame in progress is still read to its end
    if (this.is(CUT)) this.endInputIfWhole();
    else if (this.is(DRAINING)) this.awaitCut();
  }

  /**
   * A drain takes what the kernel holds now: it reads until a read comes
   * back short of the read buffer (the kernel had nothing more), or until a
   * turn of the event loop passes with reading on and no read at all.
   */
  private awaitCut(): void {
    if (this.is(CUT) || this.is(FINISHED)) return;
    if (this.#exchange?.backlog !== undefined || this.socket.isPaused()) return; // resumes through #resumeIfRoom
    const reads = this.#exchange?.reads ?? 0;
    if (reads > 0 && !this.is(LAST_READ_FULL)) return this.cutNow();
    // Two hops: the first lands in this turn's check phase, the second after the next poll, which reads what is there.
    setImmediate(() => setImmediate(() => {
      if ((this.#exchange?.reads ?? 0) === reads && !this.socket.isPaused()) this.cutNow();
    }));
  }

  private afterDrainingRead(): void {
    if (this.is(CUT)) this.endInputIfWhole();
    else if (this.#exchange?.backlog === undefined && !this.is(LAST_READ_FULL)) this.cutNow();
    else this.awaitCut();
  }

  private cutNow(): void {
    if (this.is(CUT)) return;
    this.set(CUT, true);
    this.endInputIfWhole();
  }

  /** After the cut: once no frame is half read, the pipeline has every request it will get. */
  private endInputIfWhole(): void {
    if (this.is(PENDING) || this.is(FINISHED)) return;
    this.dropBacklog(); // arrived after the cut: dropped, and the FIN tells the peer so
    this.endInput();
  }

  /** Subscribes the protocol's pipeline to this connection's chunks. */
  private subscribePipeline(): void {
    this.set(ASLEEP, false);
    try {
      this.x.pipeline = withConnectionContext(this, () => this[kSettings].protocol(this.chunks).subscribe(this));
    } catch (error) {
      this.error(error); // the protocol failed to assemble: this connection ends, the server serves on
    }
  }

  /** Whether a stateless pipeline may be dropped now: nothing half read, unanswered, unwritten or ending. */
  private owesNothing(): boolean {
    return (
      !this.is(ASLEEP) &&
      !this.is(FINISHED) &&
      !this.is(DRAINING) &&
      !this.is(PEER_ENDED) &&
      !this.is(PENDING) &&
      this.#exchange?.backlog === undefined &&
      this.unanswered() === 0 &&
      (this.#exchange?.writer?.bytes ?? 0) === 0 &&
      this.socket.writableLength === 0
    );
  }

  /** Drops a stateless pipeline and what serves it; the next read subscribes it again. */
  private hibernate(): void {
    const pipeline = this.#exchange?.pipeline;
    this.set(ASLEEP, true);
    this.#exchange = undefined;
    this.set(COPY_CHUNKS | MANUAL_SETTLING, false);
    pipeline?.unsubscribe();
  }

  /** The input has ended: the pipeline completes, or, asleep, owing nothing, the connection does as its pipeline would. */
  private endInput(): void {
    if (this.is(ASLEEP)) this.complete();
    else this.#exchange?.input?.complete();
  }

  private writeReplies(): BatchWriter {
    return (this.x.writer ??= new BatchWriter(this.socket, this, this[kSettings].writeTimeout));
  }

  private dropBacklog(): void {
    if (this.#exchange !== undefined) this.#exchange.backlog = undefined;
  }

  private unanswered(): number {
    return this.#exchange?.arrivals?.pending ?? 0;
  }

  private finish(last?: Reply): void {
    this.set(FINISHED, true);
    this.dropBacklog();
    this.writeReplies().end(last);
    // Read on (and drop) what the peer still sends, so that our close is a FIN, never a reset.
    this.socket.resume();
  }

  /** The first reason given is the one counted. */
  private closeAs(reason: CloseReason): void {
    if ((this.#flags & REASON) !== 0) return;
    let code = CLOSE_REASONS.indexOf(reason);
    if (code < 1) {
      code = OWN_REASON;
      this.x.reason = reason;
    }
    this.#flags |= code << REASON_SHIFT;
  }

  private reason(): CloseReason | undefined {
    const code = (this.#flags & REASON) >> REASON_SHIFT;
    return code === 0 ? undefined : code === OWN_REASON ? this.#exchange?.reason : CLOSE_REASONS[code];
  }

  private log(level: 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this[kSettings].logger.log(level, message, { ...peerLogFields(this.socket), ...tlsLogFields(this.socket), ...fields });
  }
}

/** Past any port + 1: where {@link Connection}'s µs of its open time begin in the integer they share with the port. */
const PORT_SPAN = 2 ** 17;

function wholeMilliseconds(): number {
  return Math.trunc(performance.now());
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}

/**
 * Listens for the peer's FIN with {@link onEnd}, alone. Every `net.Socket`
 * has a listener of Node's own on 'end' (`onReadableStreamEnd`), which acts
 * only on a socket that is not half-open; ours are (the listener makes them
 * so), and beside ours it would turn the socket's 'end' listeners into an
 * array: ~75 B per connection. So where it is that one listener and the
 * socket half-open, it is taken off; otherwise both stay.
 */
function listenForEnd(socket: Socket): void {
  if (socket.allowHalfOpen && socket.listenerCount('end') === 1) {
    const [own] = socket.listeners('end');
    if (own?.name === 'onReadableStreamEnd') socket.removeListener('end', own as () => void);
  }
  socket.on('end', onEnd);
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
