import type { Socket } from 'node:net';
import { proxyInfo } from './proxy-protocol.js';

/**
 * Who is at the other end of a connection: the client, as a PROXY header
 * named it, or else the socket's own peer. What logs, access control,
 * `maxConnsPerIp` and `connectionContext().peer` report.
 */
export interface Peer {
  /** Its IP address, as Node writes one (`203.0.113.7`, `2001:db8::1`); `undefined` once the socket has gone. */
  readonly address: string | undefined;
  readonly port: number | undefined;
  /** The address is the one a PROXY header gave, not the socket's (which is the proxy's). */
  readonly proxied: boolean;
}

/**
 * The client of `socket`'s connection. A PROXY header that names no IP
 * address (`LOCAL`, `UNKNOWN`, `UNSPEC`, a UNIX socket) leaves the socket's own.
 *
 * @example
 * ```ts
 * const { address, port } = peerOf(connectionContext()!.socket);
 * ```
 */
export function peerOf(socket: Socket): Peer {
  const source = proxyInfo(socket)?.source;
  if (source !== undefined && source.family !== 'unix') return { address: source.address, port: source.port, proxied: true };
  const own = underlying(socket);
  return { address: own.remoteAddress, port: own.remotePort, proxied: false };
}

/**
 * The accepted socket under a TLS socket (Node keeps it as `_parent`), or
 * the socket itself: the accepted one read its peer as it arrived and keeps
 * it, where asking the TLS socket would be a second `getpeername` through
 * Node's proxy of the handle.
 */
function underlying(socket: Socket): Socket {
  return (socket as Socket & { _parent?: Socket | null })._parent ?? socket;
}

/** The client's address alone: {@link peerOf}'s, without an object. */
export function peerAddress(socket: Socket): string | undefined {
  const source = proxyInfo(socket)?.source;
  return source !== undefined && source.family !== 'unix' ? source.address : underlying(socket).remoteAddress;
}

/** The fields that name a peer in a log record: `peer` (host:port), and the `proxy` it came through, if it did. */
export function peerLogFields(socket: Socket): Readonly<Record<string, string>> {
  const peer = peerOf(socket);
  const name = `${peer.address}:${peer.port}`;
  return peer.proxied ? { peer: name, proxy: `${socket.remoteAddress}:${socket.remotePort}` } : { peer: name };
}
