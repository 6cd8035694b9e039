#!/usr/bin/env node
/**
 * Where an idle connection's heap goes: a server in this process (tcp-rx's
 * reference server from dist/, or with `baseline` the plain `net` one),
 * `count` connections from a child process (each sends one line first with
 * `greet`), held 3 s (env HOLD_MS), then a heap snapshot diffed against one
 * taken before they came, grouped by kind and constructor (an `Object`, a
 * closure or a context by its property names), per connection. With env
 * WHO=<text>, what holds the new objects whose group holds that text.
 *
 * Usage (after `npm run build`): node --expose-gc perf/heap-diff.js [tcp-rx|baseline] [count] [greet]
 */
import { fork } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { readFileSync, unlinkSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { serveReference } from './baseline-protocol.js';

const [, , which = 'tcp-rx', countText = '5000', greetText] = process.argv;
const count = Number(countText);
const greet = greetText === 'greet';

if (process.env.HEAP_DIFF_PORT !== undefined) {
  // The child: opens the connections, says so, and holds them until told.
  const port = Number(process.env.HEAP_DIFF_PORT);
  const sockets = [];
  let next = 0;
  const open = () =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        sockets.push(socket);
        if (!greet) return resolve(undefined);
        socket.write('hello\n');
        socket.once('data', resolve);
      });
      socket.on('error', resolve);
    });
  await Promise.all(Array.from({ length: 100 }, async () => { while (next++ < count) await open(); }));
  process.send?.(sockets.length);
  process.on('message', () => process.exit(0));
} else {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const server = await startServer();
  const before = snapshot();
  const child = fork(new URL(import.meta.url).pathname, process.argv.slice(2), { env: { ...process.env, HEAP_DIFF_PORT: String(server.port) } });
  const opened = await new Promise((resolve) => child.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.HOLD_MS ?? 3000)));
  const afterSnapshot = snapshot();
  // Read once both are taken: what reading one leaves alive must not weigh on the other's heap figure.
  const beforeGroups = groupObjects(before.file);
  const after = { heapUsed: afterSnapshot.heapUsed, ...groupObjects(afterSnapshot.file, beforeGroups.ids) };
  const rows = [];
  for (const [key, group] of after.groups) {
    const old = beforeGroups.groups.get(key) ?? { count: 0, size: 0 };
    const size = (group.size - old.size) / count;
    if (Math.abs(size) >= 4) rows.push({ key, count: (group.count - old.count) / count, size });
  }
  rows.sort((a, b) => b.size - a.size);
  for (const row of rows) console.log(`${row.size.toFixed(1).padStart(8)} B ${row.count.toFixed(2).padStart(6)} ×  ${row.key}`);
  console.log(`${which}, ${opened} connections${greet ? ' that said hello' : ''}: heap used ${((after.heapUsed - before.heapUsed) / count).toFixed(0)} B per connection`);
  for (const [holder, times] of [...after.holders].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`held ${(times / count).toFixed(2)} × ${holder}`);
  child.send('done');
  await new Promise((resolve) => child.once('exit', resolve));
  await server.close();

  /** The heap in use after a full collection, and a snapshot of it, in a file. */
  function snapshot() {
    gc();
    gc();
    return { heapUsed: process.memoryUsage().heapUsed, file: writeHeapSnapshot() };
  }

  /** A snapshot's objects grouped (with their ids, and what holds the new ones). */
  function groupObjects(file, oldIds) {
    const { snapshot: { meta }, nodes, edges, strings } = JSON.parse(readFileSync(file, 'utf8'));
    unlinkSync(file);
    const nodeFields = meta.node_fields.length;
    const edgeFields = meta.edge_fields.length;
    const [type, name, id, selfSize, edgeCount] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((field) => meta.node_fields.indexOf(field));
    const [edgeType, edgeName, toNode] = ['type', 'name_or_index', 'to_node'].map((field) => meta.edge_fields.indexOf(field));
    const nodeTypes = meta.node_types[0];
    const edgeTypes = meta.edge_types[0];
    const groups = new Map();
    const ids = new Set();
    const keys = [];
    let edge = 0;
    for (let node = 0; node < nodes.length; node += nodeFields) {
      const first = edge;
      edge += nodes[node + edgeCount] * edgeFields;
      const kind = nodeTypes[nodes[node + type]];
      if (kind === 'synthetic' || kind === 'native') continue; // outside the V8 heap
      let label = kind.includes('string') ? '(string)' : kind === 'number' ? '(heap number)' : strings[nodes[node + name]].slice(0, 60);
      if (label === 'Object' || kind === 'closure' || label === 'system / Context') {
        const properties = [];
        for (let at = first; at < edge; at += edgeFields) {
          const what = edgeTypes[edges[at + edgeType]];
          if (what === 'property' || what === 'context') properties.push(strings[edges[at + edgeName]]);
        }
        label += `{${properties.filter((property) => property !== '__proto__' && property !== 'map').slice(0, 8).join(',')}}`;
      }
      const key = `${kind}:${label}`;
      const group = groups.get(key) ?? { count: 0, size: 0 };
      group.count++;
      group.size += nodes[node + selfSize];
      groups.set(key, group);
      if (oldIds === undefined && process.env.WHO !== undefined) ids.add(nodes[node + id]); // kept only when asked: they weigh on the heap measured after
      keys[node / nodeFields] = key;
    }
    const holders = new Map();
    const who = process.env.WHO;
    if (oldIds !== undefined && who !== undefined) {
      edge = 0;
      for (let node = 0; node < nodes.length; node += nodeFields) {
        const end = edge + nodes[node + edgeCount] * edgeFields;
        for (; edge < end; edge += edgeFields) {
          const target = edges[edge + toNode];
          const what = edgeTypes[edges[edge + edgeType]];
          const key = keys[target / nodeFields];
          if (what === 'weak' || key === undefined || !key.includes(who) || oldIds.has(nodes[target + id])) continue;
          const via = what === 'element' || what === 'hidden' ? '[]' : strings[edges[edge + edgeName]];
          const holder = `${key} <- ${keys[node / nodeFields] ?? nodeTypes[nodes[node + type]]} .${via}`;
          holders.set(holder, (holders.get(holder) ?? 0) + 1);
        }
      }
    }
    return { groups, ids, holders };
  }
}

/** The server under study, on a free loopback port. */
async function startServer() {
  if (which === 'baseline') {
    const server = createServer({ noDelay: true }, serveReference);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
    const address = /** @type {import('node:net').AddressInfo} */ (server.address());
    return { port: address.port, close: async () => void server.close() };
  }
  const { serve, silentLogger } = await import('../dist/index.js');
  const server = await serve({ host: '127.0.0.1', port: 0, metricsInterval: 0, workers: count + 1, logger: silentLogger });
  return { port: server.address.port, close: async () => void (await server.close()) };
}
