import type { AddressInfo } from 'node:net';

/** A TCP endpoint. `host` is absent for "all interfaces". */
export interface Address {
  readonly host?: string;
  readonly port: number;
}

/**
 * Parses `host:port`, `:port` (all interfaces) or `[v6]:port`.
 *
 * @example
 * ```ts
 * parseAddress('[::1]:9090'); // { host: '::1', port: 9090 }
 * ```
 */
export function parseAddress(text: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new RangeError(`'${text}' is not an address: use host:port, :port or [::1]:port`);
  }
  const host = match[1] ?? match[2];
  return host ? { host, port } : { port };
}

/** Formats an address (a bound socket's `AddressInfo`, a peer) the way {@link parseAddress} reads it. */
export function formatAddress(address: Address | AddressInfo | { readonly address: string; readonly port: number }): string {
  const { port } = address;
  const host = 'address' in address ? address.address : address.host;
  if (host === undefined) return `:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
