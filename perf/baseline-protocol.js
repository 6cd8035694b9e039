// @ts-check
/**
 * The reference protocol on a plain Node socket, no RxJS, written the way a
 * competent Node developer would: what the baseline servers (plain `net` and
 * `tls`) run on each connection.
 *
 * Each request line `x\n` (or `x\r\n`) is answered `[<RFC 3339 UTC>] Echo: x\n`,
 * in order, the bytes echoed unchanged. A partial line is carried to the next
 * read; all replies to one read go out in one write, stamped with one
 * timestamp (they arrived together). A line longer than 64 KiB gets
 * `ERR line too long` and the connection closes.
 */

const MAX_LINE = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from('\n');
const TOO_LONG = 'ERR line too long\n';

/** Serves the reference protocol on `socket` (a `net.Socket` or a `tls.TLSSocket`). @param {import('node:net').Socket} socket */
export function serveReference(socket) {
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
}

/**
 * @param {string} text host:port, :port or [v6]:port
 * @returns {[string | undefined, number]}
 */
export function splitAddress(text) {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!match) throw new RangeError(`'${text}' is not an address: use host:port, :port or [::1]:port`);
  return [match[1] ?? (match[2] || undefined), Number(match[3])];
}
