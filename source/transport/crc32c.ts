/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one byte at a time from a table. */
const TABLE = new Uint32Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte;
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  TABLE[byte] = crc >>> 0;
}

/**
 * The CRC-32C of `parts` one after the other (RFC 3309's checksum, which a
 * PROXY v2 header's `CRC32C` TLV carries). Node's zlib has only the other
 * CRC-32 (IEEE), and a header is at most a few kilobytes: a table does.
 *
 * @example
 * ```ts
 * crc32c([Buffer.from('123456789')]); // 0xe3069283
 * ```
 */
export function crc32c(parts: readonly Uint8Array[]): number {
  let crc = 0xffffffff;
  for (const part of parts) {
    for (let index = 0; index < part.length; index++) crc = TABLE[(crc ^ part[index]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
