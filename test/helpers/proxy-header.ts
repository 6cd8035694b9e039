import { defer, map } from 'rxjs';
import { connectionContext, lines, type ConnectionContext, type Protocol } from '../../source/index.js';
import { crc32c } from '../../source/transport/crc32c.js';

/** A protocol that answers each line with what `describe` says of the connection (its peer, its PROXY header), then the line. */
export function whoami(describe: (context: ConnectionContext) => string): Protocol {
  return (chunks) =>
    defer(() => {
      const context = connectionContext()!;
      return chunks.pipe(
        lines(),
        map((line) => `${describe(context)} ${line.toString()}\n`),
      );
    });
}

/** A PROXY v1 line: `PROXY TCP4 <source> <destination> <source port> <destination port>\r\n`. */
export function v1Header(source: string, destination: string, sourcePort: number, destinationPort: number): Buffer {
  const family = source.includes(':') ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${family} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`, 'latin1');
}

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** What a v2 header is made of, each part as raw as the test wants it. */
export interface V2Parts {
  /** 0 LOCAL, 1 PROXY. Default 1. */
  readonly command?: number;
  /** High nibble family (0 UNSPEC, 1 INET, 2 INET6, 3 UNIX), low nibble transport (1 STREAM). Default 0x11. */
  readonly familyTransport?: number;
  /** The address block as bytes. */
  readonly addresses?: Buffer;
  readonly tlvs?: ReadonlyArray<readonly [type: number, value: Buffer]>;
  /** Add a CRC32C TLV, computed over the header (or this wrong value). */
  readonly crc?: true | number;
  /** Version nibble. Default 2. */
  readonly version?: number;
}

/** A PROXY v2 header built from its parts. */
export function v2Header({ command = 1, familyTransport = 0x11, addresses = Buffer.alloc(0), tlvs = [], crc, version = 2 }: V2Parts): Buffer {
  const blocks = tlvs.map(([type, value]) => tlv(type, value));
  if (crc !== undefined) blocks.push(tlv(0x03, Buffer.alloc(4)));
  const body = Buffer.concat([addresses, ...blocks]);
  const fixed = Buffer.alloc(4);
  fixed[0] = (version << 4) | command;
  fixed[1] = familyTransport;
  fixed.writeUInt16BE(body.length, 2);
  const header = Buffer.concat([V2_SIGNATURE, fixed, body]);
  if (crc !== undefined) header.writeUInt32BE(crc === true ? crc32c([header]) : crc, header.length - 4);
  return header;
}

export function tlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

/** An INET address block: source, destination, their ports. */
export function inet(source: string, destination: string, sourcePort: number, destinationPort: number): Buffer {
  const block = Buffer.alloc(12);
  Buffer.from(source.split('.').map(Number)).copy(block, 0);
  Buffer.from(destination.split('.').map(Number)).copy(block, 4);
  block.writeUInt16BE(sourcePort, 8);
  block.writeUInt16BE(destinationPort, 10);
  return block;
}

/** An INET6 address block from the 16 bytes of each address. */
export function inet6(source: Buffer, destination: Buffer, sourcePort: number, destinationPort: number): Buffer {
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sourcePort, 0);
  ports.writeUInt16BE(destinationPort, 2);
  return Buffer.concat([source, destination, ports]);
}

/** A UNIX address block: two 108-byte NUL-padded paths. */
export function unix(source: string, destination: string): Buffer {
  const block = Buffer.alloc(216);
  block.write(source, 0, 'utf8');
  block.write(destination, 108, 'utf8');
  return block;
}
