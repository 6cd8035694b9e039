import { BlockList, isIP } from 'node:net';

/** Options of {@link AccessControl}: address ranges in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or one address). */
export interface AccessRules {
  /** Only peers in these ranges are served. Absent or empty: every peer not denied. */
  readonly allow?: readonly string[] | undefined;
  /** Peers in these ranges are refused, even when also allowed. */
  readonly deny?: readonly string[] | undefined;
}

/** A range in CIDR notation, checked: what {@link parseCidr} returns. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * Who may connect, by the peer's address: deny wins over allow, and an
 * allow list, once given, refuses everyone outside it.
 *
 * Matching is Node's own `net.BlockList`, which also matches an IPv4 peer
 * seen as IPv4-mapped IPv6 (`::ffff:10.1.2.3`, on a server bound to `::`)
 * against IPv4 ranges and the other way round.
 *
 * @example
 * ```ts
 * const access = new AccessControl({ allow: ['10.0.0.0/8', '::1'], deny: ['10.6.6.0/24'] });
 * access.allows('10.1.2.3'); // true
 * access.allows('10.6.6.6'); // false
 * ```
 */
export class AccessControl {
  readonly #allow: BlockList | undefined;
  readonly #deny: BlockList | undefined;

  /** Throws a RangeError naming the first range that is not one. */
  constructor({ allow = [], deny = [] }: AccessRules) {
    this.#allow = allow.length > 0 ? blockList(allow) : undefined;
    this.#deny = deny.length > 0 ? blockList(deny) : undefined;
  }

  /** Whether a peer at `address` may connect. A peer whose address is unknown (it is gone already) may not. */
  allows(address: string | undefined): boolean {
    if (address === undefined) return false;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (this.#deny?.check(address, family)) return false;
    return this.#allow === undefined || this.#allow.check(address, family);
  }
}

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32` or a single address (a /32 or /128).
 * Throws a RangeError that says what is accepted.
 */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(address);
  const bits = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (version === 0 || rest.length > 0 || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) || prefix > bits) {
    throw new RangeError(`'${text}' is not an address range: use CIDR notation, as in 10.0.0.0/8, 2001:db8::/32 or 127.0.0.1`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A comma-separated list of ranges (the `--allow`/`--deny` flags), each checked by {@link parseCidr}. */
export function parseCidrList(text: string): string[] {
  const ranges = text.split(',').map((range) => range.trim()).filter((range) => range !== '');
  if (ranges.length === 0) throw new RangeError(`'${text}' names no address range`);
  for (const range of ranges) parseCidr(range);
  return ranges;
}

function blockList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const { address, prefix, family } = parseCidr(range);
    list.addSubnet(address, prefix, family);
  }
  return list;
}
