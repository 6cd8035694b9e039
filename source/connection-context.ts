import type { Socket } from 'node:net';
import type { Observable, Observer, Unsubscribable } from 'rxjs';
import type { Peer } from './transport/peer.js';
import type { ProxyInfo } from './transport/proxy-header.js';
import type { TlsPeer } from './transport/tls-peer.js';

/**
 * What a connection tells the operators of its pipeline, and what they tell it.
 *
 * Like Reactor's subscriber `Context`, it is handed out at subscription time:
 * the connection subscribes its pipeline inside {@link withConnectionContext},
 * and an operator that wants it calls {@link connectionContext} in its own
 * subscribe function. Operators work without it too (in unit tests, or on any
 * other stream of buffers): it is `undefined` there.
 *
 * The framing contract, which every framing operator of tcp-rx keeps and a
 * custom one should keep too:
 * 1. Applied directly to {@link chunks} (`source === context.chunks`), it may
 *    take the chunks *borrowed* through {@link lend} (views of a buffer the
 *    next read overwrites, so it copies what it keeps past `next`); applied to
 *    anything else it subscribes as usual, and gets chunks of its own.
 * 2. After each frame it emits, it asks {@link full}; when that says yes it
 *    emits no more from the chunk and reports how far it got through
 *    {@link decoded}. The connection keeps the rest and hands it over again
 *    once the pipeline has caught up (backpressure, and the cut of a drain).
 * 3. After each chunk it calls {@link decoded} once.
 */
export interface ConnectionContext {
  /**
   * The peer's socket: a `net.Socket`, or a `tls.TLSSocket` under TLS.
   * Behind a proxy, its `remoteAddress` is the proxy's: see {@link peer}.
   */
  readonly socket: Socket;
  /**
   * The client: its address and port, as the PROXY header named them on a
   * server with `proxyProtocol`, else the socket's own. What the logs and
   * access control use.
   */
  readonly peer: Peer;
  /**
   * On a server with `proxyProtocol`, what the connection's PROXY header
   * said: its version and command, the client's and the proxy's addresses
   * (`source`, `destination`), and a v2 header's TLVs (`alpn`,
   * `authority`, `uniqueId`, `ssl`, and all of them as `tlvs`);
   * `undefined` otherwise.
   *
   * @example
   * ```ts
   * const trace = connectionContext()?.proxy?.uniqueId?.toString('latin1');
   * ```
   */
  readonly proxy: ProxyInfo | undefined;
  /**
   * Under TLS, what the handshake established: protocol version, cipher,
   * the server name asked for, and the peer's certificate (its `subject`
   * and `fingerprint`, when it showed one); `undefined` over plain TCP.
   */
  readonly tls: TlsPeer | undefined;
  /** The chunks the peer sends: each a Buffer of its own for an ordinary subscriber. */
  readonly chunks: Observable<Buffer>;
  /**
   * Subscribes `observer` to {@link chunks} *borrowed*: each is valid only
   * while `observer.next` runs. For framing operators that copy what they keep.
   */
  lend(observer: Observer<Buffer>): Unsubscribable;
  /**
   * Whether the connection is full once `frames` frames have been emitted
   * from the chunk being decoded: requests not yet answered or replies not
   * yet written are at their bounds, or a drain has reached its cut. A framing
   * operator stops emitting from that chunk when it is.
   */
  full(frames: number): boolean;
  /**
   * Called by a framing operator once per chunk it was given: how many frames
   * it emitted from it, whether it now holds the start of an unfinished frame
   * (which starts the read timeout), and how many of the chunk's bytes it
   * consumed (all of them unless it stopped because of {@link full}).
   */
  decoded(frames: number, pending: boolean, consumed?: number): void;
  /**
   * Counts `requests` requests as done. Every reply counts as one unless a
   * pipeline has declared {@link settleManually}.
   */
  settle(requests: number): void;
  /** From now on only {@link settle} counts requests as done; replies don't (see the `settle` operator). */
  settleManually(): void;
}

let current: ConnectionContext | undefined;

/** Runs `subscribe` with `context` visible to the operators it subscribes. */
export function withConnectionContext<T>(context: ConnectionContext, subscribe: () => T): T {
  const previous = current;
  current = context;
  try {
    return subscribe();
  } finally {
    current = previous;
  }
}

/** The context of the connection whose pipeline is being subscribed, if any. */
export function connectionContext(): ConnectionContext | undefined {
  return current;
}
