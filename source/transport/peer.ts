import type { Socket } from 'node:net';
import { proxyInfo } from './proxy-protocol.js';
import type { ProxyAddress } from './proxy-header.js';

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
  const proxied = proxiedPeer(socket);
  if (proxied !== undefined) return proxied;
  const own = underlying(socket);
  return { address: own.remoteAddress, port: own.remotePort, proxied: false };
}

/** The client a PROXY header named for `socket`, if it named one by IP address. */
export function proxiedPeer(socket: Socket): Peer | undefined {
  const source = ipSource(socket);
  return source === undefined ? undefined : { address: source.address, port: source.port, proxied: true };
}

/** The source address a PROXY header gave `socket`, if it gave one by IP (not a unix socket's path). */
function ipSource(socket: Socket): Exclude<ProxyAddress, { family: 'unix' }> | undefined {
  const source = proxyInfo(socket)?.source;
  return source !== undefined && source.family !== 'unix' ? source : undefined;
}

/**
 * A socket's own peer as a connection keeps it for its lifetime (the socket
 * forgets it once closed): the address of an IPv4 peer as a 32-bit integer,
 * which V8 holds in the field itself, any other as Node wrote it. At 10,000
 * idle connections, what `remoteAddress` would keep instead (an object cached
 * on the socket, the address string, a {@link Peer}) is over a megabyte.
 */
export interface OwnPeer {
  readonly address: number | string | undefined;
  readonly port: number | undefined;
}

interface PeerNamedSocket {
  _peername?: unknown;
  _handle?: { getpeername?: (out: { address?: string; port?: number }) => number } | null;
}

/** Reads `socket`'s own peer, without the cache `remoteAddress` leaves on it (unless it is there already). */
export function readOwnPeer(socket: Socket): OwnPeer {
  socket = underlying(socket);
  const named = socket as Socket & PeerNamedSocket;
  const name: { address?: string; port?: number } = {};
  const read = named._peername === undefined && named._handle?.getpeername?.(name) === 0;
  const address = read ? name.address : socket.remoteAddress;
  return { address: packIPv4(address) ?? address, port: read ? name.port : socket.remotePort };
}

/** The {@link Peer} an {@link OwnPeer} stands for. */
export function ownPeer({ address, port }: OwnPeer): Peer {
  return { address: typeof address === 'number' ? unpackIPv4(address) : address, port, proxied: false };
}

/**
 * A dotted-quad IPv4 address, written as Node writes one (no leading zeros),
 * as a 32-bit integer (signed: a small integer to V8); otherwise
 * `undefined`. Parsed by hand: a regular expression's match would be
 * garbage at every connection.
 */
export function packIPv4(address: string | undefined): number | undefined {
  if (address === undefined) return undefined;
  let packed = 0;
  let octets = 0;
  let value = 0;
  let digits = 0;
  for (let index = 0; index <= address.length; index++) {
    const code = index < address.length ? address.charCodeAt(index) : DOT;
    if (code === DOT) {
      if (digits === 0 || value > 255 || ++octets > 4) return undefined;
      packed = (packed << 8) | value;
      value = digits = 0;
    } else if (code >= ZERO && code <= ZERO + 9 && !(digits === 1 && value === 0)) {
      value = value * 10 + (code - ZERO);
      if (++digits > 3) return undefined;
    } else {
      return undefined; // not a digit, or a digit after a leading zero
    }
  }
  return octets === 4 ? packed : undefined;
}

const DOT = 0x2e;
const ZERO = 0x30;

/** The dotted quad of {@link packIPv4}'s integer. */
export function unpackIPv4(packed: number): string {
  return `${packed >>> 24}.${(packed >>> 16) & 255}.${(packed >>> 8) & 255}.${packed & 255}`;
}

/**
 * The accepted socket under a TLS socket (Node keeps it as `_parent`), or
 * the socket itself: the accepted one may have read its peer already (access
 * control, a PROXY header), where asking the TLS socket would be a second
 * `getpeername` through Node's proxy of the handle.
 */
function underlying(socket: Socket): Socket {
  return (socket as Socket & { _parent?: Socket | null })._parent ?? socket;
}

/** The client's address alone: {@link peerOf}'s, without an object. */
export function peerAddress(socket: Socket): string | undefined {
  const source = ipSource(socket);
  return source === undefined ? underlying(socket).remoteAddress : source.address;
}

/** The fields that name a peer in a log record: `peer` (host:port), and the `proxy` it came through, if it did. */
export function peerLogFields(socket: Socket): Readonly<Record<string, string>> {
  const peer = peerOf(socket);
  const name = `${peer.address}:${peer.port}`;
  return peer.proxied ? { peer: name, proxy: `${socket.remoteAddress}:${socket.remotePort}` } : { peer: name };
}
