import fc from 'fast-check';
import t from 'tap';
import { parseProxyHeader, V1_MAX_LENGTH, V2_MAX_LENGTH, type ParsedProxyHeader, type ProxyInfo } from '../../source/transport/proxy-header.js';
import { crc32c } from '../../source/transport/crc32c.js';
import { inet, inet6, tlv, unix, v1Header, v2Header, V2_SIGNATURE } from '../helpers/proxy-header.js';

const DATA = Buffer.from('PING\r\n');

/** The header a parse found, failing the test otherwise. */
function parsed(bytes: Buffer): { info: ProxyInfo; length: number } {
  const result = parseProxyHeader(bytes);
  if (result.kind !== 'header') throw new Error(`expected a header, got ${JSON.stringify(result)}`);
  return result;
}

function reason(bytes: Buffer): string {
  const result = parseProxyHeader(bytes);
  return result.kind === 'invalid' ? result.reason : result.kind;
}

/** The same IPv6 address, whatever its spelling: WHATWG URL's serialisation, an oracle independent of Node's `net`. */
function sameIPv6(a: string, b: string): boolean {
  return new URL(`http://[${a}]/`).hostname === new URL(`http://[${b}]/`).hostname;
}

t.test('crc32c: the standard check value', async (t) => {
  t.equal(crc32c([Buffer.from('123456789')]), 0xe3069283);
  t.equal(crc32c([Buffer.from('1234'), Buffer.from('56789')]), 0xe3069283, 'in parts');
});

t.test('v1: TCP4 and TCP6 headers name both ends; what follows is not theirs', async (t) => {
  const header = v1Header('203.0.113.7', '10.0.0.1', 51234, 443);
  const { info, length } = parsed(Buffer.concat([header, DATA]));
  t.equal(length, header.length);
  t.match(info, { version: 1, command: 'proxy', transport: 'stream', source: { family: 'IPv4', address: '203.0.113.7', port: 51234 }, destination: { family: 'IPv4', address: '10.0.0.1', port: 443 } });
  t.same(info.tlvs, []);
  const six = parsed(Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:7 ::FFFF:10.0.0.1 0 65535\r\n'));
  t.match(six.info.source, { family: 'IPv6', address: '2001:db8::7', port: 0 }, 'written as Node writes it');
  t.match(six.info.destination, { family: 'IPv6', address: '::ffff:10.0.0.1', port: 65535 });
});

t.test('v1: UNKNOWN names no address, with or without the rest of the line', async (t) => {
  for (const line of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN ffff:: 1.2.3.4 what ever\r\n']) {
    const { info, length } = parsed(Buffer.from(line + 'PING\r\n'));
    t.equal(length, line.length, line);
    t.match(info, { version: 1, command: 'proxy', transport: 'unspec', source: undefined, destination: undefined });
  }
});

t.test('v1: the longest line is 107 bytes, CRLF included; one more is oversized', async (t) => {
  const longest = `PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`;
  t.equal(longest.length, V1_MAX_LENGTH);
  t.equal(parsed(Buffer.from(longest)).length, 107);
  const tooLong = longest.replace('65535 65535', '65535 655355');
  t.equal(reason(Buffer.from(tooLong)), 'oversized');
  t.equal(reason(Buffer.from(`PROXY TCP4 ${'1'.repeat(101)}`)), 'oversized', 'no CRLF in 107 bytes: oversized before the line ends');
  t.equal(reason(Buffer.from(`PROXY TCP4 ${'1'.repeat(95)}`)), 'incomplete', 'under 107 bytes it may still end');
});

t.test('v1: what breaks the grammar is malformed', async (t) => {
  const bad = [
    'PROXY TCP4 256.1.1.1 10.0.0.1 1 2\r\n',
    'PROXY TCP4 01.1.1.1 10.0.0.1 1 2\r\n',
    'PROXY TCP4 1.1.1.1 10.0.0.1 65536 2\r\n',
    'PROXY TCP4 1.1.1.1 10.0.0.1 -1 2\r\n',
    'PROXY TCP4 1.1.1.1 10.0.0.1 1 2 3\r\n',
    'PROXY TCP4 1.1.1.1 10.0.0.1 1\r\n',
    'PROXY TCP4  1.1.1.1 10.0.0.1 1 2\r\n',
    'PROXY TCP4 ::1 ::1 1 2\r\n',
    'PROXY TCP6 1.1.1.1 10.0.0.1 1 2\r\n',
    'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n',
    'PROXY UDP4 1.1.1.1 10.0.0.1 1 2\r\n',
    'PROXY tcp4 1.1.1.1 10.0.0.1 1 2\r\n',
    'PROXY TCP4 1.1.1.1 10.0.0.1 1 2\n',
    'PROXY \r\n',
  ];
  for (const line of bad) t.equal(reason(Buffer.from(line)), 'malformed', JSON.stringify(line));
});

t.test('the signature decides: a prefix of one waits, anything else is missing', async (t) => {
  t.equal(reason(Buffer.alloc(0)), 'incomplete');
  for (const prefix of ['P', 'PROX', 'PROXY', 'PROXY ', 'PROXY TCP4 1.2.']) t.equal(reason(Buffer.from(prefix)), 'incomplete', prefix);
  for (let length = 1; length < 16; length++) t.equal(reason(v2Header({ addresses: inet('1.2.3.4', '5.6.7.8', 1, 2) }).subarray(0, length)), 'incomplete', `v2, ${length} bytes`);
  for (const other of ['GET / HTTP/1.1\r\n', 'PING\r\n', 'PROXYTCP4', 'proxy tcp4', '\r\n\r\n\x00\r\nQUIT\r', '\x16\x03\x01']) {
    t.equal(reason(Buffer.from(other, 'latin1')), 'missing', JSON.stringify(other));
  }
});

t.test('v2 PROXY: INET, INET6 and UNIX addresses; what follows is not theirs', async (t) => {
  const four = v2Header({ addresses: inet('203.0.113.7', '10.0.0.1', 51234, 443) });
  const { info, length } = parsed(Buffer.concat([four, DATA]));
  t.equal(length, four.length);
  t.match(info, { version: 2, command: 'proxy', transport: 'stream', source: { family: 'IPv4', address: '203.0.113.7', port: 51234 }, destination: { address: '10.0.0.1', port: 443 } });

  const loopback = Buffer.alloc(16);
  loopback[15] = 1;
  const mapped = Buffer.from('00000000000000000000ffffc0000201', 'hex');
  const six = parsed(v2Header({ familyTransport: 0x21, addresses: inet6(Buffer.from('20010db8000000000000000000000007', 'hex'), loopback, 1, 2) })).info;
  t.match(six, { source: { family: 'IPv6', address: '2001:db8::7', port: 1 }, destination: { family: 'IPv6', address: '::1', port: 2 } });
  t.match(parsed(v2Header({ familyTransport: 0x21, addresses: inet6(mapped, loopback, 1, 2) })).info.source, { address: '::ffff:192.0.2.1' }, 'IPv4-mapped, as Node writes it');

  const local = parsed(v2Header({ familyTransport: 0x31, addresses: unix('/run/client.sock', '/run/haproxy.sock') })).info;
  t.same([local.source, local.destination], [{ family: 'unix', path: '/run/client.sock' }, { family: 'unix', path: '/run/haproxy.sock' }]);
  t.equal(parsed(v2Header({ familyTransport: 0x12, addresses: inet('1.2.3.4', '5.6.7.8', 1, 2) })).info.transport, 'dgram');
});

t.test('v2 LOCAL and UNSPEC: accepted, with no address, whatever the block holds', async (t) => {
  const health = v2Header({ command: 0, familyTransport: 0x00 });
  t.match(parsed(Buffer.concat([health, DATA])), { length: 16, info: { version: 2, command: 'local', source: undefined, destination: undefined, tlvs: [] } });
  const skipped = v2Header({ command: 0, familyTransport: 0xff, addresses: Buffer.from('anything at all') });
  t.match(parsed(skipped), { length: skipped.length, info: { command: 'local', source: undefined } }, 'LOCAL skips its block, family included');
  const unspec = v2Header({ familyTransport: 0x00, addresses: Buffer.from('opaque') });
  t.match(parsed(unspec), { length: unspec.length, info: { command: 'proxy', transport: 'unspec', source: undefined } });
});

t.test('v2: version, command, family, transport and length are checked', async (t) => {
  const four = inet('1.2.3.4', '5.6.7.8', 1, 2);
  t.equal(reason(v2Header({ version: 1, addresses: four })), 'malformed', 'version 1');
  t.equal(reason(v2Header({ version: 3, addresses: four })), 'malformed', 'version 3');
  t.equal(reason(v2Header({ command: 2, addresses: four })), 'malformed', 'command 2');
  t.equal(reason(v2Header({ familyTransport: 0x41, addresses: four })), 'malformed', 'family 4');
  t.equal(reason(v2Header({ familyTransport: 0x13, addresses: four })), 'malformed', 'transport 3');
  t.equal(reason(v2Header({ familyTransport: 0x21, addresses: four })), 'malformed', 'INET6 in an INET-sized block');
  t.equal(reason(v2Header({ addresses: four.subarray(0, 11) })), 'malformed', 'INET block one byte short');
  const whole = v2Header({ addresses: four });
  for (let length = 16; length < whole.length; length++) t.equal(reason(whole.subarray(0, length)), 'incomplete', `${length} of ${whole.length} bytes`);
  const big = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
  t.equal(reason(big), 'oversized', 'a 64 KiB header is refused as soon as its length is read');
  t.equal(reason(v2Header({ addresses: four, tlvs: [[0xe0, Buffer.alloc(V2_MAX_LENGTH - 16 - 12 - 3)]] })), 'header', `${V2_MAX_LENGTH} bytes are taken`);
  t.equal(reason(v2Header({ addresses: four, tlvs: [[0xe0, Buffer.alloc(V2_MAX_LENGTH - 16 - 12 - 2)]] })), 'oversized', 'one more is not');
});

t.test('v2 TLVs: ALPN, authority, unique ID, SSL, and every TLV in order', async (t) => {
  const ssl = Buffer.concat([
    Buffer.from([0x07, 0, 0, 0, 0]),
    tlv(0x21, Buffer.from('TLSv1.3')),
    tlv(0x22, Buffer.from('alice')),
    tlv(0x23, Buffer.from('TLS_AES_256_GCM_SHA384')),
    tlv(0x24, Buffer.from('SHA256')),
    tlv(0x25, Buffer.from('RSA2048')),
  ]);
  const tlvs: Array<[number, Buffer]> = [
    [0x01, Buffer.from('h2')],
    [0x02, Buffer.from('api.example.com')],
    [0x04, Buffer.alloc(3)],
    [0x05, Buffer.from('4F1A-0001')],
    [0x20, ssl],
    [0xea, Buffer.from('vpce-0123')],
  ];
  const { info } = parsed(v2Header({ addresses: inet('1.2.3.4', '5.6.7.8', 1, 2), tlvs, crc: true }));
  t.equal(info.alpn, 'h2');
  t.equal(info.authority, 'api.example.com');
  t.same(info.uniqueId, Buffer.from('4F1A-0001'));
  t.same(info.ssl, { tls: true, certificate: true, verified: true, version: 'TLSv1.3', commonName: 'alice', cipher: 'TLS_AES_256_GCM_SHA384', signatureAlgorithm: 'SHA256', keyAlgorithm: 'RSA2048' });
  t.same(info.tlvs.map(({ type }) => type), [0x01, 0x02, 0x04, 0x05, 0x20, 0xea, 0x03]);
  t.same(info.tlvs[5]!.value, Buffer.from('vpce-0123'));
  const unverified = parsed(v2Header({ addresses: inet('1.2.3.4', '5.6.7.8', 1, 2), tlvs: [[0x20, Buffer.from([0x03, 0, 0, 0, 1])]] })).info.ssl;
  t.match(unverified, { tls: true, certificate: true, verified: false, commonName: undefined });
});

t.test('v2 TLVs: cut short, overlong, or failing their CRC32C is malformed', async (t) => {
  const four = inet('1.2.3.4', '5.6.7.8', 1, 2);
  t.equal(reason(v2Header({ addresses: Buffer.concat([four, Buffer.from([0x01, 0x00])]) })), 'malformed', 'two bytes of a TLV');
  t.equal(reason(v2Header({ addresses: Buffer.concat([four, Buffer.from([0x01, 0x00, 0x05, 0x68])]) })), 'malformed', 'a value longer than the header');
  t.equal(reason(v2Header({ addresses: four, tlvs: [[0x01, Buffer.from('h2')]], crc: true })), 'header', 'the right CRC32C');
  t.equal(reason(v2Header({ addresses: four, tlvs: [[0x01, Buffer.from('h2')]], crc: 0x12345678 })), 'malformed', 'a wrong one');
  t.equal(reason(v2Header({ addresses: four, tlvs: [[0x03, Buffer.alloc(2)]] })), 'malformed', 'a CRC32C TLV of 2 bytes');
});

t.test('what a header says is a copy: the bytes it was read from may be overwritten', async (t) => {
  const bytes = v2Header({ addresses: inet('1.2.3.4', '5.6.7.8', 1, 2), tlvs: [[0x01, Buffer.from('h2')], [0x05, Buffer.from('id-1')]] });
  const { info } = parsed(bytes);
  bytes.fill(0x41);
  t.equal(info.alpn, 'h2');
  t.same(info.uniqueId, Buffer.from('id-1'));
  t.same(info.tlvs[0]!.value, Buffer.from('h2'));
});

// Generators for the properties below.
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((bytes) => bytes.join('.'));
const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes));
const port = fc.nat(65535);
const trailing = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes));
const hex = (bytes: Buffer): string => (bytes.toString('hex').match(/.{4}/g) ?? []).join(':');
const userTlvs = fc.array(fc.tuple(fc.constantFrom(0x01, 0x02, 0x04, 0x05, 0x30, 0xe0, 0xef), fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes))), { maxLength: 6 });

t.test('fuzz: any v1 TCP4/TCP6 header is read back, whatever follows it', async (t) => {
  fc.assert(
    fc.property(ipv4, ipv4, port, port, trailing, (source, destination, sourcePort, destinationPort, after) => {
      const header = v1Header(source, destination, sourcePort, destinationPort);
      const { info, length } = parsed(Buffer.concat([header, after]));
      return length === header.length && info.source?.family === 'IPv4' && info.source.address === source && info.source.port === sourcePort && info.destination?.family === 'IPv4' && info.destination.port === destinationPort;
    }),
  );
  fc.assert(
    fc.property(ipv6Bytes, ipv6Bytes, port, port, trailing, (source, destination, sourcePort, destinationPort, after) => {
      const header = v1Header(hex(source), hex(destination), sourcePort, destinationPort);
      const { info, length } = parsed(Buffer.concat([header, after]));
      return length === header.length && info.source?.family === 'IPv6' && sameIPv6(info.source.address, hex(source)) && info.destination?.family === 'IPv6' && sameIPv6(info.destination.address, hex(destination));
    }),
  );
  t.pass('v1 headers read back');
});

t.test('fuzz: any v2 header with TLVs is read back, and every proper prefix of it waits for more', async (t) => {
  fc.assert(
    fc.property(fc.boolean(), ipv6Bytes, ipv6Bytes, port, port, userTlvs, fc.boolean(), trailing, (six, source, destination, sourcePort, destinationPort, tlvs, crc, after) => {
      const addresses = six ? inet6(source, destination, sourcePort, destinationPort) : inet([...source.subarray(0, 4)].join('.'), [...destination.subarray(0, 4)].join('.'), sourcePort, destinationPort);
      const header = v2Header({ familyTransport: six ? 0x21 : 0x11, addresses, tlvs, ...(crc ? { crc: true as const } : {}) });
      for (let length = 0; length < header.length; length++) if (parseProxyHeader(header.subarray(0, length)).kind !== 'incomplete') return false;
      const { info, length } = parsed(Buffer.concat([header, after]));
      const expectedSource = six ? hex(source) : [...source.subarray(0, 4)].join('.');
      return (
        length === header.length &&
        info.source?.family === (six ? 'IPv6' : 'IPv4') &&
        (six ? sameIPv6(info.source.address, expectedSource) : info.source.address === expectedSource) &&
        info.source.port === sourcePort &&
        tlvs.every(([type, value], index) => info.tlvs[index]!.type === type && info.tlvs[index]!.value.equals(value))
      );
    }),
    { numRuns: 300 },
  );
  t.pass('v2 headers read back');
});

t.test('fuzz: any bytes at all give a verdict, never a throw; a header is never longer than allowed or than the bytes', async (t) => {
  const anyBytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.concat([Buffer.from('PROXY '), Buffer.from(bytes)])),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.concat([V2_SIGNATURE, Buffer.from(bytes)])),
  );
  fc.assert(
    fc.property(anyBytes, (bytes) => {
      const result: ParsedProxyHeader = parseProxyHeader(bytes);
      if (result.kind !== 'header') return true;
      return result.length <= bytes.length && result.length <= (result.info.version === 1 ? V1_MAX_LENGTH : V2_MAX_LENGTH);
    }),
    { numRuns: 2000 },
  );
  t.pass('no throw');
});

t.test('fuzz: a CRC32C-protected header with one byte changed is never taken for a PROXY header with its checksum', async (t) => {
  fc.assert(
    fc.property(userTlvs, fc.nat(), fc.integer({ min: 1, max: 255 }), (tlvs, at, flip) => {
      const header = v2Header({ addresses: inet('192.0.2.1', '10.0.0.1', 40000, 443), tlvs, crc: true });
      // Not the signature (changing it is `missing`, as checked above), nor what no checksum can guard: the length
      // (a header cut before its CRC32C TLV is one without), and that TLV's own type (it is another TLV then).
      const guarded = [...header.keys()].filter((index) => index >= 12 && index !== 14 && index !== 15 && index !== header.length - 7);
      header[guarded[at % guarded.length]!]! ^= flip;
      const result = parseProxyHeader(header);
      // Turned into LOCAL, its block is skipped unchecked, as the spec says. A changed TLV length can also swallow the
      // CRC32C TLV into another TLV's value: a header without a checksum then, which the spec lets through (seen by
      // fast-check). Otherwise the checksum (or the grammar) catches it.
      return result.kind !== 'header' || result.info.command === 'local' || !result.info.tlvs.some((tlv) => tlv.type === 0x03);
    }),
    { numRuns: 500 },
  );
  t.pass('CRC32C catches every single-byte change');
});
