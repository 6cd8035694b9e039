import type { Peer } from '../transport/peer.js';
/**
 * What happens to connections, as a stream: the single source of every metric.
 *
 * Events are published per connection state change and per read or write
 * batch, never per byte or per request, so the hot path pays one small
 * object per read at most.
 */
export type ServerEvent =
  /** A connection arrived while every worker was busy and waits in the queue. */
  | { readonly type: 'queued' }
  /** A queued connection left the queue for a worker (or, reset while it waited, for nothing). */
  | { readonly type: 'dequeued' }
  /** A connection was turned away before it was served. */
  | { readonly type: 'rejected'; readonly reason: RejectReason }
  /**
   * The server began to drain ({@link Server.close}): it takes what the
   * kernel has already queued and nothing more. Readiness probes fail from here.
   */
  | { readonly type: 'draining' }
  /** A worker started serving a connection. */
  | { readonly type: 'opened' }
  /** One read: `bytes` received, `frames` decoded from them by the framing. */
  | { readonly type: 'read'; readonly bytes: number; readonly frames: number }
  /**
   * One batched write of `replies` replies, `bytes` bytes. `latency` (ms) runs
   * from the arrival of the oldest request it answers to the hand-over of the
   * write to the socket: the reply latency of every reply in the batch.
   */
  | { readonly type: 'written'; readonly bytes: number; readonly replies: number; readonly latency: number }
  /**
   * A served connection closed; `reason` says why. What an access log line
   * says of it comes with it: who the peer was, how long it was served
   * (`duration`, ms), the bytes it sent (`bytesIn`, read from it) and was
   * sent (`bytesOut`, handed to its socket), and its `requests` (frames).
   */
  | {
      readonly type: 'closed';
      readonly reason: CloseReason;
      readonly peer: Peer;
      readonly duration: number;
      readonly bytesIn: number;
      readonly bytesOut: number;
      readonly requests: number;
    }
  /** A TLS handshake completed in `duration` ms (from the connection's arrival), agreeing on `protocol` (`TLSv1.3`…). */
  | { readonly type: 'handshake'; readonly duration: number; readonly protocol: string }
  /** A TLS handshake failed, or did not finish within the handshake timeout; the connection was closed. */
  | { readonly type: 'handshake-failed'; readonly reason: HandshakeFailure }
  /**
   * The access log wrote `written` lines, or gave up on `dropped` lines: its
   * sink was too slow (past its buffer) or failed (a full disk). Lines written
   * plus lines dropped are the connections closed.
   */
  | { readonly type: 'access-log'; readonly written: number; readonly dropped: number }
  /** A connection's PROXY header was read (`proxyProtocol`): its version, and whether it relays a client or is the proxy's own (`local`). */
  | { readonly type: 'proxy-header'; readonly version: 1 | 2; readonly command: 'proxy' | 'local' }
  /** A connection that had to start with a PROXY header (`proxyProtocol`) did not, and was closed before it was served. */
  | { readonly type: 'proxy-failed'; readonly reason: ProxyFailure };

/**
 * Why a connection was not served: the pool and queue were full, it waited
 * past the queue timeout, or the server was stopping; or access control
 * refused its address (`denied`) or it was one too many from its address.
 */
export type RejectReason = 'busy' | 'queue-timeout' | 'shutting-down' | 'denied' | 'too-many-connections';

/**
 * Why a TLS handshake failed: the peer spoke something else (`not-tls`),
 * offered no protocol version we accept (`version`), sent no client
 * certificate where one is required (`no-certificate`) or one we do not
 * trust (`bad-certificate`), aborted with an alert (`alert`: it does not
 * trust ours, say), went away (`reset`), or stalled past the handshake
 * timeout (`timeout`); `other` for the rest (no shared cipher…).
 */
export type HandshakeFailure = 'not-tls' | 'version' | 'no-certificate' | 'bad-certificate' | 'alert' | 'reset' | 'timeout' | 'other';

/**
 * Why a connection that had to start with a PROXY header was closed: its
 * peer is not a trusted proxy (`untrusted`, closed unread); it sent
 * something else, or nothing (`missing`); a header that breaks the format
 * (`malformed`) or is longer than allowed (`oversized`); it closed halfway
 * through one (`truncated`); or the header was not complete within the
 * header timeout (`timeout`).
 */
export type ProxyFailure = 'untrusted' | 'missing' | 'malformed' | 'oversized' | 'truncated' | 'timeout';

/**
 * Why a served connection closed: `end` when the peer finished and every
 * reply was written; `reset` when the peer vanished; a {@link ProtocolError}'s
 * own reason for bad input; `internal` for a handler's failure; otherwise the
 * timeout or shutdown that ended it.
 */
export type CloseReason =
  | 'end'
  | 'reset'
  | 'internal'
  | 'idle-timeout'
  | 'read-timeout'
  | 'write-timeout'
  | 'shutdown'
  | (string & {});
