import type { Socket } from 'node:net';
import { filter, identity, type MonoTypeOperatorFunction } from 'rxjs';
import type { ServerEvent } from '../server/events.js';
import { peerAddress } from '../transport/peer.js';
import type { AccessControl } from './access-control.js';
import type { PerIpLimit } from './per-ip-limit.js';

/** Options of {@link gatePeers}. */
export interface PeerGateOptions {
  readonly access: AccessControl | undefined;
  readonly perIp: PerIpLimit | undefined;
  readonly events: { next(event: ServerEvent): void };
  /**
   * Answers a peer over its limit with `ERR too many connections` and closes
   * it (the pool's own turn-away, which lingers for the line to be read).
   * Absent where the peer cannot read a line yet (TLS, before its
   * handshake): it is closed at once.
   */
  readonly answer?: ((socket: Socket, reason: 'too-many-connections') => void) | undefined;
}

/**
 * Access control on the stream of accepted sockets, before any byte is read
 * (they arrive paused) and before a TLS handshake: a peer outside the
 * allowed ranges is closed at once, one past its per-address limit is
 * turned away (the client's address, behind a PROXY header); each is counted as `rejected` with its reason. Without rules
 * it is no stage at all.
 */
export function gatePeers({ access, perIp, events, answer }: PeerGateOptions): MonoTypeOperatorFunction<Socket> {
  if (access === undefined && perIp === undefined) return identity;
  const refuse = (socket: Socket, reason: 'denied' | 'too-many-connections'): false => {
    events.next({ type: 'rejected', reason });
    socket.destroy();
    return false;
  };
  return filter((socket) => {
    const address = peerAddress(socket); // the client behind a PROXY header; undefined: the peer is gone already
    if (access !== undefined && !access.allows(address)) return refuse(socket, 'denied');
    if (perIp === undefined) return true;
    if (address === undefined) return refuse(socket, 'denied');
    if (perIp.acquire(socket, address)) return true;
    if (answer === undefined) return refuse(socket, 'too-many-connections');
    answer(socket, 'too-many-connections');
    return false;
  });
}
