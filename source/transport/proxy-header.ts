import { isIPv4, SocketAddress } from 'node:net';
import { crc32c } from './crc32c.js';

/**
 * One end of a proxied connection, as a PROXY header gives it: an IP
 * address and port (written as Node writes `socket.remoteAddress`:
 * `203.0.113.7`, `2001:db8::1`, `::ffff:10.1.2.3`), or a UNIX socket path.
 */
export type ProxyAddress =
  | { readonly family: 'IPv4' | 'IPv6'; readonly address: string; readonly port: number }
  | { readonly family: 'unix'; readonly path: string };

/** A v2 header's type-length-value field, as received; `value` is a copy, the connection's to keep. */
export interface ProxyTlv {
  /** `0x01` ALPN, `0x02` authority, `0x03` CRC32C, `0x04` no-op, `0x05` unique ID, `0x20` SSL, `0x30` network namespace, `0xE0`–`0xEF` custom. */
  readonly type: number;
  readonly value: Buffer;
}

/** What the proxy knew of the client's TLS connection: a v2 `SSL` TLV (HAProxy's `send-proxy-v2-ssl`, `send-proxy-v2-ssl-cn`). */
export interface ProxySsl {
  /** The client spoke TLS to the proxy. */
  readonly tls: boolean;
  /** The client presented a certificate, on this connection or on the TLS session it resumed. */
  readonly certificate: boolean;
  /** It did, and the proxy verified it. */
  readonly verified: boolean;
  /** The TLS version (`TLSv1.3`), the certificate's common name, the cipher, its signature and key algorithms, where sent. */
  readonly version: string | undefined;
  readonly commonName: string | undefined;
  readonly cipher: string | undefined;
  readonly signatureAlgorithm: string | undefined;
  readonly keyAlgorithm: string | undefined;
}

/**
 * What a proxy said of a connection in its PROXY header: what
 * `connectionContext().proxy` is. Every part of it is a copy, the
 * connection's to keep.
 */
export interface ProxyInfo {
  readonly version: 1 | 2;
  /**
   * `proxy`: the proxy relays a client's connection. `local`: the
   * connection is the proxy's own (v2 `LOCAL`, HAProxy's health checks),
   * so it is served with the socket's own addresses.
   */
  readonly command: 'proxy' | 'local';
  /** How the client reached the proxy (v2's transport; `stream` for v1 `TCP4`/`TCP6`); `unspec` when the proxy does not say. */
  readonly transport: 'stream' | 'dgram' | 'unspec';
  /**
   * The client, as the proxy saw it. `undefined` when the header names no
   * address (`LOCAL`, v1 `UNKNOWN`, v2 `UNSPEC`): the socket's own
   * addresses stand.
   */
  readonly source: ProxyAddress | undefined;
  /** The address the client connected to, on the proxy. */
  readonly destination: ProxyAddress | undefined;
  /** The protocol the client negotiated with the proxy by ALPN (`h2`, `http/1.1`): TLV `0x01`. */
  readonly alpn: string | undefined;
  /** The host name the client asked for (SNI, usually): TLV `0x02`. */
  readonly authority: string | undefined;
  /** The proxy's unique ID of the connection (HAProxy's `unique-id-format`): TLV `0x05`. */
  readonly uniqueId: Buffer | undefined;
  /** The client's TLS connection to the proxy: TLV `0x20`. */
  readonly ssl: ProxySsl | undefined;
  /** Every TLV of a v2 header, in order, those above included; empty for v1 and `LOCAL`. */
  readonly tlvs: readonly ProxyTlv[];
}

/** Why bytes are not a PROXY header: they do not start with either signature, they break its grammar, or it is longer than allowed. */
export type ProxyHeaderError = 'missing' | 'malformed' | 'oversized';

/** What {@link parseProxyHeader} makes of the bytes received so far. */
export type ParsedProxyHeader =
  /** A header may still come: wait for more bytes. */
  | { readonly kind: 'incomplete' }
  /** A header, `length` bytes long; whatever follows it is the connection's first data. */
  | { readonly kind: 'header'; readonly info: ProxyInfo; readonly length: number }
  /** Not a header, and more bytes would not make it one; `detail` says what was wrong, for a log. */
  | { readonly kind: 'invalid'; readonly reason: ProxyHeaderError; readonly detail: string };

/** The longest v1 header, CRLF included (the spec's `PROXY UNKNOWN` with two full IPv6 addresses and ports). */
export const V1_MAX_LENGTH = 107;
/**
 * The longest v2 header taken, its 16 fixed bytes included. The format
 * allows 64 KiB of addresses and TLVs; proxies send a few hundred bytes
 * (HAProxy with every SSL TLV, a UNIX address at 216 bytes), and each
 * connection awaiting its header holds what it sent of it.
 */
export const V2_MAX_LENGTH = 4096;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED = 16;
/** Address block length by v2 family: UNSPEC (none), INET, INET6, UNIX. */
const ADDRESS_LENGTHS = [0, 12, 36, 216] as const;
const TRANSPORTS = ['unspec', 'stream', 'dgram'] as const;
const PORT = /^\d{1,5}$/;

const INCOMPLETE: ParsedProxyHeader = { kind: 'incomplete' };
const NO_TLVS: readonly ProxyTlv[] = Object.freeze([]);

/**
 * Reads a PROXY header (HAProxy's proxy-protocol.txt) from the first bytes
 * of a connection: version 1 (text, `PROXY TCP4 …\r\n`) or 2 (binary), told
 * apart by their signatures, never guessed from what follows. Returns
 * `incomplete` while the bytes are a prefix of a header that may still
 * come, `invalid` as soon as they cannot be one.
 *
 * `bytes` may be borrowed: nothing returned refers to it.
 *
 * @example
 * ```ts
 * const parsed = parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\nPING\r\n'));
 * // { kind: 'header', length: 44, info: { version: 1, source: { family: 'IPv4', address: '203.0.113.7', port: 51234 }, … } }
 * ```
 */
export function parseProxyHeader(bytes: Buffer): ParsedProxyHeader {
  if (bytes.length === 0) return INCOMPLETE;
  if (bytes[0] === V1_PREFIX[0]) return parseV1(bytes);
  if (bytes[0] === V2_SIGNATURE[0]) return parseV2(bytes);
  return invalid('missing', 'the connection does not start with a PROXY header');
}

function parseV1(bytes: Buffer): ParsedProxyHeader {
  if (!startsLike(bytes, V1_PREFIX)) return invalid('missing', 'the connection does not start with a PROXY header');
  const end = bytes.subarray(0, V1_MAX_LENGTH).indexOf(0x0a);
  if (end === -1) return bytes.length >= V1_MAX_LENGTH ? invalid('oversized', `no CRLF in the first ${V1_MAX_LENGTH} bytes of a v1 header`) : INCOMPLETE;
  if (bytes[end - 1] !== 0x0d) return invalid('malformed', 'a v1 header ends in a bare LF');
  const fields = bytes.toString('latin1', 0, end - 1).split(' ');
  const protocol = fields[1];
  if (protocol === 'UNKNOWN') return header(v1Info(undefined, undefined), end + 1); // what follows is to be ignored
  if ((protocol !== 'TCP4' && protocol !== 'TCP6') || fields.length !== 6) {
    return invalid('malformed', `a v1 header is PROXY TCP4|TCP6 <source> <destination> <source port> <destination port>, or PROXY UNKNOWN`);
  }
  const family = protocol === 'TCP4' ? 'IPv4' : 'IPv6';
  const source = v1Address(family, fields[2]!, fields[4]!);
  const destination = v1Address(family, fields[3]!, fields[5]!);
  if (source === undefined || destination === undefined) return invalid('malformed', `a v1 ${protocol} header with an address or port that is not one`);
  return header(v1Info(source, destination), end + 1);
}

function v1Info(source: ProxyAddress | undefined, destination: ProxyAddress | undefined): ProxyInfo {
  return info(1, 'proxy', source === undefined ? 'unspec' : 'stream', source, destination, NO_TLVS);
}

function v1Address(family: 'IPv4' | 'IPv6', address: string, port: string): ProxyAddress | undefined {
  const number = PORT.test(port) ? Number(port) : Number.NaN;
  if (!(number <= 65535)) return undefined;
  const written = family === 'IPv4' ? (isIPv4(address) ? address : undefined) : ipv6(address);
  return written === undefined ? undefined : { family, address: written, port: number };
}

/** An IPv6 address as Node writes one (`2001:db8::1`, `::ffff:1.2.3.4`), or `undefined` if `text` is not one (a zone included). */
function ipv6(text: string): string | undefined {
  if (text.includes('%')) return undefined;
  try {
    return new SocketAddress({ address: text, family: 'ipv6' }).address;
  } catch {
    return undefined;
  }
}

function parseV2(bytes: Buffer): ParsedProxyHeader {
  if (!startsLike(bytes, V2_SIGNATURE)) return invalid('missing', 'the connection does not start with a PROXY header');
  if (bytes.length < V2_FIXED) return INCOMPLETE;
  const version = bytes[12]! >> 4;
  const command = bytes[12]! & 0x0f;
  if (version !== 2) return invalid('malformed', `a v2 signature with version ${version}`);
  if (command > 1) return invalid('malformed', `a v2 header with command ${command} (0 is LOCAL, 1 is PROXY)`);
  const length = V2_FIXED + bytes.readUInt16BE(14);
  if (length > V2_MAX_LENGTH) return invalid('oversized', `a v2 header of ${length} bytes (at most ${V2_MAX_LENGTH} are taken)`);
  if (bytes.length < length) return INCOMPLETE;
  const family = bytes[13]! >> 4;
  const transport = TRANSPORTS[bytes[13]! & 0x0f];
  // LOCAL: the block, family included, is to be skipped whatever it holds.
  if (command === 0) return header(info(2, 'local', transport ?? 'unspec', undefined, undefined, NO_TLVS), length);
  if (family >= ADDRESS_LENGTHS.length || transport === undefined) return invalid('malformed', `a v2 header with family/transport byte 0x${bytes[13]!.toString(16)}`);
  // UNSPEC: an address of a kind the proxy could not name, in a block of unknown layout; the socket's addresses stand.
  if (family === 0) return header(info(2, 'proxy', transport, undefined, undefined, NO_TLVS), length);
  const addressEnd = V2_FIXED + ADDRESS_LENGTHS[family as 1 | 2 | 3];
  if (length < addressEnd) return invalid('malformed', `a v2 header too short for its addresses (${length - V2_FIXED} of ${addressEnd - V2_FIXED} bytes)`);
  const [source, destination] = v2Addresses(bytes, family as 1 | 2 | 3);
  const tlvs = readTlvs(bytes, addressEnd, length);
  if (typeof tlvs === 'string') return invalid('malformed', tlvs);
  return header(info(2, 'proxy', transport, source, destination, tlvs), length);
}

function v2Addresses(bytes: Buffer, family: 1 | 2 | 3): [ProxyAddress, ProxyAddress] {
  if (family === 3) return [{ family: 'unix', path: unixPath(bytes, 16) }, { family: 'unix', path: unixPath(bytes, 124) }];
  const size = family === 1 ? 4 : 16;
  const ports = V2_FIXED + 2 * size;
  const address = (at: number): string => (family === 1 ? bytes.subarray(at, at + 4).join('.') : ipv6FromBytes(bytes, at));
  const kind = family === 1 ? 'IPv4' : 'IPv6';
  return [
    { family: kind, address: address(V2_FIXED), port: bytes.readUInt16BE(ports) },
    { family: kind, address: address(V2_FIXED + size), port: bytes.readUInt16BE(ports + 2) },
  ];
}

function ipv6FromBytes(bytes: Buffer, at: number): string {
  const groups: string[] = [];
  for (let group = 0; group < 8; group++) groups.push(bytes.readUInt16BE(at + 2 * group).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/** A UNIX address: 108 bytes, the path up to its first NUL. */
function unixPath(bytes: Buffer, at: number): string {
  const field = bytes.subarray(at, at + 108);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end === -1 ? field.length : end);
}

const TLV_ALPN = 0x01;
const TLV_AUTHORITY = 0x02;
const TLV_CRC32C = 0x03;
const TLV_UNIQUE_ID = 0x05;
const TLV_SSL = 0x20;

/** The TLVs of `bytes` from `start` to `end`, copied; or what is wrong with them. */
function readTlvs(bytes: Buffer, start: number, end: number): ProxyTlv[] | string {
  if (start === end) return [];
  const copy = Buffer.from(bytes.subarray(start, end)); // one copy for them all: `bytes` may be borrowed
  const tlvs = splitTlvs(copy);
  if (typeof tlvs === 'string') return tlvs;
  const checksum = tlvs.find((tlv) => tlv.type === TLV_CRC32C);
  if (checksum !== undefined) {
    if (checksum.value.length !== 4) return 'a v2 CRC32C TLV that is not 4 bytes';
    // Computed over the whole header with the checksum's own bytes as zeros.
    const at = start + checksum.value.byteOffset - copy.byteOffset;
    const computed = crc32c([bytes.subarray(0, at), Buffer.alloc(4), bytes.subarray(at + 4, end)]);
    if (computed !== checksum.value.readUInt32BE(0)) return 'a v2 header whose CRC32C does not match';
  }
  return tlvs;
}

/** Type (1 byte), length (2), value: one after the other to the end of `block`, as views of it. */
function splitTlvs(block: Buffer): ProxyTlv[] | string {
  const tlvs: ProxyTlv[] = [];
  let at = 0;
  while (at < block.length) {
    if (block.length - at < 3) return 'a v2 TLV cut short';
    const length = block.readUInt16BE(at + 1);
    if (at + 3 + length > block.length) return 'a v2 TLV longer than its header';
    tlvs.push({ type: block[at]!, value: block.subarray(at + 3, at + 3 + length) });
    at += 3 + length;
  }
  return tlvs;
}

const SSL_CLIENT_SSL = 0x01;
const SSL_CLIENT_CERT = 0x02 | 0x04; // on this connection, or on the session it resumed
/** The SSL TLV's sub-TLVs: version, common name, cipher, signature algorithm, key algorithm. */
type SslSubtype = 0x21 | 0x22 | 0x23 | 0x24 | 0x25;

/** The `SSL` TLV: client flags (1 byte), verify result (4, 0 = verified), then sub-TLVs; `undefined` if it is not one. */
function readSsl(value: Buffer): ProxySsl | undefined {
  if (value.length < 5) return undefined;
  const subs = splitTlvs(value.subarray(5));
  if (typeof subs === 'string') return undefined;
  const text = (type: SslSubtype): string | undefined => subs.find((sub) => sub.type === type)?.value.toString('utf8');
  const certificate = (value[0]! & SSL_CLIENT_CERT) !== 0;
  return {
    tls: (value[0]! & SSL_CLIENT_SSL) !== 0,
    certificate,
    verified: certificate && value.readUInt32BE(1) === 0,
    version: text(0x21),
    commonName: text(0x22),
    cipher: text(0x23),
    signatureAlgorithm: text(0x24),
    keyAlgorithm: text(0x25),
  };
}

function info(
  version: 1 | 2,
  command: 'proxy' | 'local',
  transport: ProxyInfo['transport'],
  source: ProxyAddress | undefined,
  destination: ProxyAddress | undefined,
  tlvs: readonly ProxyTlv[],
): ProxyInfo {
  const value = (type: number): Buffer | undefined => tlvs.find((tlv) => tlv.type === type)?.value;
  const ssl = value(TLV_SSL);
  return {
    version,
    command,
    transport,
    source,
    destination,
    alpn: value(TLV_ALPN)?.toString('latin1'),
    authority: value(TLV_AUTHORITY)?.toString('utf8'),
    uniqueId: value(TLV_UNIQUE_ID),
    ssl: ssl === undefined ? undefined : readSsl(ssl),
    tlvs,
  };
}

function header(info: ProxyInfo, length: number): ParsedProxyHeader {
  return { kind: 'header', info, length };
}

function invalid(reason: ProxyHeaderError, detail: string): ParsedProxyHeader {
  return { kind: 'invalid', reason, detail };
}

/** Whether `bytes` and `prefix` agree as far as both go. */
function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const length = Math.min(bytes.length, prefix.length);
  return bytes.compare(prefix, 0, length, 0, length) === 0;
}
