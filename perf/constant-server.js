#!/usr/bin/env node
// @ts-check
/**
 * A server that does no work: every request line is answered with the same
 * prebuilt reply, all replies of a read in one write. Against it, `tcp-rx
 * bench` shows its own ceiling (the load generator, not the server, is then
 * the bottleneck). Not a protocol implementation: it does not echo.
 *
 * Usage: node perf/constant-server.js [host:port]   (default 127.0.0.1:9091)
 */
import { createServer } from 'node:net';

const REPLY = Buffer.from('[2026-01-01T00:00:00.000000Z] Echo: hello\n');
let replies = Buffer.concat(Array.from({ length: 64 }, () => REPLY));

const [host, port] = (process.argv[2] ?? '127.0.0.1:9091').split(/:(?=\d+$)/);
createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    let lines = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, newline + 1)) lines++;
    if (lines === 0) return; // a partial line: its reply goes with the read that completes it
    if (lines * REPLY.length > replies.length) replies = Buffer.concat(Array.from({ length: lines * 2 }, () => REPLY));
    socket.write(replies.subarray(0, lines * REPLY.length));
  });
}).listen(Number(port), host || undefined);
