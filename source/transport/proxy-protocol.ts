import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import { AccessControl } from '../access/access-control.js';
import type { Logger } from '../logger.js';
import type { ProxyFailure, ServerEvent } from '../server/events.js';
import { readIntoSharedBuffer, sharedRead } from '../server/shared-read-buffer.js';
import type { Expiring } from '../server/timeout-sweeper.js';
import { parseProxyHeader, type ProxyInfo } from './proxy-header.js';

/**
 * The PROXY protocol for `serve()`: every connection starts with a PROXY
 * header (v1 or v2) from a trusted proxy (HAProxy's `send-proxy`,
 * `send-proxy-v2`; AWS NLB…), and is served as the client's it names.
 *
 * @example
 * ```ts
 * import { serve } from 'tcp-rx';
 *
 * const server = await serve({ port: 7000, proxyProtocol: { trustedProxies: ['10.0.0.0/24'], headerTimeout: 2000 } });
 * ```
 */
export interface ProxyProtocolOptions {
  /**
   * Address ranges (CIDR) of the proxies whose headers are believed; a peer
   * outside them is closed at once, unread, as `untrusted`. Default
   * loopback: `127.0.0.0/8` and `::1`.
   */
  readonly trustedProxies?: readonly string[] | undefined;
  /** Longest wait (ms) from a connection's arrival to the end of its header; then it is closed as `timeout` (0 = no limit). Default 3 s. */
  readonly headerTimeout?: number | undefined;
}

/** Defaults of {@link ProxyProtocolOptions}. */
export const proxyProtocolDefaults = { trustedProxies: ['127.0.0.0/8', '::1'], headerTimeout: 3_000 } as const satisfies ProxyProtocolOptions;

/** What the stage reports to. */
export interface ProxyStageOptions {
  readonly events: { next(event: ServerEvent): void };
  readonly logger: Logger;
}

/** What a socket carries once its header has been read. */
interface Proxied {
  readonly info: ProxyInfo;
  /** What arrived after the header, until the connection takes it as its first chunk. */
  early: Buffer | undefined;
}

const kProxied = Symbol('tcp-rx PROXY header');
type ProxiedSocket = Socket & { [kProxied]?: Proxied };

/** A socket whose header is awaited: since when, and what it has sent of it (a copy), if not all at once. */
interface Awaiting {
  readonly since: number;
  received: Buffer | undefined;
}

/** The stage's subscriber, and whether its source may still bring sockets. */
interface Output {
  readonly subscriber: Subscriber<Socket>;
  accepting: boolean;
}

/**
 * The PROXY header as a stage of the connection stream: accepted sockets
 * in; out, the same connections once their header has been read, carrying
 * what it said (see {@link proxyInfo}). It comes before access control, so
 * that `allow`, `deny` and `maxConnsPerIp` judge the client's address, and
 * before TLS: a proxy in TCP mode sends its header first, on the raw socket.
 *
 * A peer outside the trusted ranges is closed unread. The others are read
 * only as far as their header: the read that completes it stops reading, so
 * whatever the kernel holds after it (a FIN too) waits there until the
 * connection is served, as an unproxied connection waits unread. The bytes
 * that came in the same read as the header are kept for the connection, as
 * its first chunk ({@link handOver}). Reads go through the shared read
 * buffer, as the connection's own do: a header costs no buffer of its own
 * unless it arrives in pieces. The header timeout is the server's timeout
 * sweeper's to check ({@link expire}), not a timer per connection.
 */
export class ProxyProtocol implements Expiring {
  readonly #trusted: AccessControl;
  readonly #timeout: number;
  readonly #options: ProxyStageOptions;
  /** Sockets whose header is awaited, oldest first. */
  readonly #awaiting = new Map<Socket, Awaiting>();
  /** Shared by every socket: each finds its state by `this`. */
  readonly #listeners: {
    read(this: Socket, bytes: number): void;
    data(this: Socket, chunk: Buffer): void;
    gone(this: Socket): void;
  };
  #out: Output | undefined;

  /** Throws a RangeError for a range that is not one, or for no range at all. */
  constructor(options: ProxyProtocolOptions, stage: ProxyStageOptions) {
    const trustedProxies = options.trustedProxies ?? proxyProtocolDefaults.trustedProxies;
    if (trustedProxies.length === 0) throw new RangeError('proxyProtocol: trustedProxies names no range; a header no proxy may send would close every connection');
    this.#trusted = new AccessControl({ allow: trustedProxies });
    this.#timeout = options.headerTimeout ?? proxyProtocolDefaults.headerTimeout;
    this.#options = stage;
    const self = this;
    this.#listeners = {
      read(bytes) {
        self.#received(this, sharedRead(bytes));
      },
      data(chunk) {
        self.#received(this, chunk);
      },
      gone() {
        self.#gone(this);
      },
    };
  }

  /** The header timeout, for the sweeper's period. */
  get timeout(): number {
    return this.#timeout;
  }

  /** The stage; subscribed once. It completes when its source has and no header is awaited; unsubscribing closes those awaited. */
  headers(): OperatorFunction<Socket, Socket> {
    return (accepted$) =>
      new Observable<Socket>((subscriber) => {
        const out: Output = { subscriber, accepting: true };
        this.#out = out;
        const subscription = accepted$.subscribe({
          next: (socket) => this.#start(socket),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            out.accepting = false;
            this.#completeIfDone();
          },
        });
        return () => {
          subscription.unsubscribe();
          for (const socket of this.#awaiting.keys()) socket.destroy();
          this.#awaiting.clear();
          this.#out = undefined;
        };
      });
  }

  /** Closes, as `timeout`, every connection whose header is awaited past the header timeout. */
  expire(now: number): void {
    if (this.#timeout <= 0) return;
    for (const [socket, awaiting] of this.#awaiting) {
      if (now - awaiting.since < this.#timeout) break;
      this.#fail(socket, 'timeout', `no complete PROXY header within ${this.#timeout}ms`);
    }
  }

  #start(accepted: Socket): void {
    const address = accepted.remoteAddress;
    if (address === undefined) {
      // Gone before it was accepted (a port probe): it sent nothing, which is not worth a log line.
      this.#options.events.next({ type: 'proxy-failed', reason: 'missing' });
      accepted.destroy();
      return;
    }
    if (!this.#trusted.allows(address)) {
      this.#options.events.next({ type: 'proxy-failed', reason: 'untrusted' });
      this.#options.logger.log('warn', 'PROXY header refused', { peer: `${address}:${accepted.remotePort}`, reason: 'untrusted', detail: 'the peer is not in the trusted proxies' });
      accepted.destroy();
      return;
    }
    const listeners = this.#listeners;
    const socket = accepted;
    // Node's own path where the shared buffer cannot apply: chunks of their own, and a read-ahead Node may do once paused, which stays in the socket for the connection to read.
    if (!readIntoSharedBuffer(socket, listeners.read)) socket.on('data', listeners.data);
    socket.on('end', listeners.gone);
    socket.on('error', listeners.gone);
    this.#awaiting.set(socket, { since: performance.now(), received: undefined });
    socket.resume();
  }

  /** `chunk` may be borrowed (the shared read buffer): whatever is kept of it is copied. */
  #received(socket: Socket, chunk: Buffer): void {
    const awaiting = this.#awaiting.get(socket);
    if (awaiting === undefined) return;
    const bytes = awaiting.received === undefined ? chunk : Buffer.concat([awaiting.received, chunk]);
    const parsed = parseProxyHeader(bytes);
    if (parsed.kind === 'incomplete') {
      awaiting.received = bytes === chunk ? Buffer.from(chunk) : bytes; // at most a header's length
      return;
    }
    if (parsed.kind === 'invalid') return this.#fail(socket, parsed.reason, parsed.detail);
    // Stops the handle reading, within the read that brought the header: the rest waits in the kernel.
    socket.pause();
    this.#settle(socket);
    const early = parsed.length < bytes.length ? Buffer.from(bytes.subarray(parsed.length)) : undefined;
    (socket as ProxiedSocket)[kProxied] = { info: parsed.info, early };
    this.#options.events.next({ type: 'proxy-header', version: parsed.info.version, command: parsed.info.command });
    this.#out?.subscriber.next(socket);
    this.#completeIfDone();
  }

  /** The peer closed or reset before its header was complete: `truncated`, or `missing` if it sent nothing (a port probe), which is not logged. */
  #gone(socket: Socket): void {
    const awaiting = this.#awaiting.get(socket);
    if (awaiting === undefined) return;
    if (awaiting.received === undefined) this.#fail(socket, 'missing', undefined);
    else this.#fail(socket, 'truncated', `the connection closed after ${awaiting.received.length} bytes of a PROXY header`);
  }

  #fail(socket: Socket, reason: ProxyFailure, detail: string | undefined): void {
    this.#settle(socket);
    this.#options.events.next({ type: 'proxy-failed', reason });
    if (detail !== undefined) this.#options.logger.log('warn', 'PROXY header refused', { peer: `${socket.remoteAddress}:${socket.remotePort}`, reason, detail });
    socket.on('error', ignore); // a reset while it closes
    socket.destroy();
    this.#completeIfDone();
  }

  /** The socket's header is no longer awaited: its listeners go, the connection adds its own. */
  #settle(socket: Socket): void {
    this.#awaiting.delete(socket);
    const listeners = this.#listeners;
    socket.off('data', listeners.data);
    socket.off('end', listeners.gone);
    socket.off('error', listeners.gone);
  }

  #completeIfDone(): void {
    const out = this.#out;
    if (out !== undefined && !out.accepting && this.#awaiting.size === 0) out.subscriber.complete();
  }
}

/** What the PROXY header of `socket`'s connection said; `undefined` without one (a server without `proxyProtocol`). */
export function proxyInfo(socket: Socket): ProxyInfo | undefined {
  return (socket as ProxiedSocket)[kProxied]?.info;
}

/** The bytes that arrived with the PROXY header of `socket`, after it, once: the connection's first chunk. */
export function takeEarlyBytes(socket: Socket): Buffer | undefined {
  const proxied = (socket as ProxiedSocket)[kProxied];
  if (proxied === undefined) return undefined;
  const early = proxied.early;
  proxied.early = undefined;
  return early;
}

/**
 * The TLS socket that serves a connection takes what its header said from
 * the raw socket under it;
 * returns the bytes that came after the header, which are the connection's
 * to read first. Nothing, for a connection without a header.
 */
export function handOver(from: Socket, to: Socket): Buffer | undefined {
  const proxied = (from as ProxiedSocket)[kProxied];
  if (proxied === undefined) return undefined;
  if (to !== from) (to as ProxiedSocket)[kProxied] = proxied;
  return takeEarlyBytes(to);
}

function ignore(): void {}
