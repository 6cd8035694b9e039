#!/usr/bin/env node
// @ts-check
/**
 * The bar tcp-rx must beat: the reference protocol on plain `node:net`, no
 * RxJS, written the way a competent Node developer would.
 *
 * Each request line `x\n` (or `x\r\n`) is answered `[<RFC 3339 UTC>] Echo: x\n`,
 * in order, the bytes echoed unchanged. A partial line is carried to the next
 * read; all replies to one read go out in one write, stamped with one
 * timestamp (they arrived together). A line longer than 64 KiB gets
 * `ERR line too long` and the connection closes.
 *
 * Usage: node perf/baseline-server.js [host:port]   (or env BASELINE_ADDR; default 127.0.0.1:9090)
 */
import { createServer } from 'node:net';

const MAX_LINE = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from('\n');
const TOO_LONG = 'ERR line too long\n';

const [host, port] = splitAddress(process.argv[2] ?? process.env.BASELINE_ADDR ?? '127.0.0.1:9090');

const server = createServer({ noDelay: true }, (socket) => {
  /** @type {Buffer | undefined} the unfinished line carried from the previous read */
  let partial;
  socket.on('error', () => {}); // a peer that resets is ordinary
  socket.on('data', (chunk) => {
    const data = partial === undefined ? chunk : Buffer.concat([partial, chunk]);
    partial = undefined;
    /** @type {Buffer[]} */
    const out = [];
    let prefix;
    let start = 0;
    for (let newline = data.indexOf(LF); newline !== -1; newline = data.indexOf(LF, start)) {
      const end = newline > start && data[newline - 1] === CR ? newline - 1 : newline;
      if (end - start > MAX_LINE) return tooLong(out);
      prefix ??= Buffer.from(`[${new Date().toISOString()}] Echo: `, 'latin1');
      out.push(prefix, data.subarray(start, end), NEWLINE);
      start = newline + 1;
    }
    if (data.length - start > MAX_LINE + 1) return tooLong(out); // + 1: room for the \r of a full-length line
    if (start < data.length) partial = data.subarray(start);
    if (out.length > 0) socket.write(Buffer.concat(out));
  });

  /** @param {Buffer[]} out replies owed before the error */
  function tooLong(out) {
    out.push(Buffer.from(TOO_LONG));
    socket.removeAllListeners('data');
    socket.end(Buffer.concat(out));
    socket.resume(); // drain what is still coming so the close is a FIN, not a reset
  }
});

server.listen(port, host, () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`baseline listening on ${address.address}:${address.port}\n`);
});
for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT'])) process.once(signal, () => process.exit(0));

/**
 * @param {string} text host:port, :port or [v6]:port
 * @returns {[string | undefined, number]}
 */
function splitAddress(text) {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!match) throw new RangeError(`'${text}' is not an address: use host:port, :port or [::1]:port`);
  return [match[1] ?? (match[2] || undefined), Number(match[3])];
}
