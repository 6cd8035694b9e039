import { Socket, type Server as NetServer } from 'node:net';

/** What of a `net.Server` and its listening handle this relies on (lib/net.js, Node 20 to 24). */
interface TcpOptionsServer {
  noDelay: boolean;
  keepAlive: boolean;
  /** In seconds, as `onconnection` hands it to each accepted handle. */
  keepAliveInitialDelay: number;
  _handle: { setNoDelay?(on: boolean): number; setKeepAlive?(on: boolean, seconds: number): number } | null;
}

/** The symbols under which a `net.Socket` records the options set on it, which `setNoDelay()`/`setKeepAlive()` compare against. */
interface OptionRecord {
  readonly noDelay: symbol;
  readonly keepAlive: symbol;
  readonly keepAliveInitialDelay: symbol;
}

/**
 * Sets `server`'s Nagle and keep-alive options (`noDelay`, `keepAlive`,
 * `keepAliveInitialDelay`) once, on its listening socket, rather than on
 * each socket it accepts; call it once it listens. Linux copies a listening
 * socket's options to the sockets it accepts, and the five `setsockopt`
 * calls Node otherwise makes for each connection (one for Nagle, four for
 * keep-alive) cost ~5 µs of a churned connection's ~100 (perf/NOTES.md).
 *
 * Returns what each accepted socket then needs, before anyone uses it:
 * Node's record of its options set as Node sets it, so that a protocol can
 * still turn either off (`setKeepAlive(false)` is a no-op on a socket that
 * records it off). Returns `undefined`, and leaves Node to set each socket,
 * elsewhere than Linux or where the server is not as expected (a cluster's
 * round-robin handle, a Node whose socket records these under other names).
 */
export function setOnListeningSocket(server: NetServer): ((socket: Socket) => void) | undefined {
  const options = server as NetServer & TcpOptionsServer;
  const handle = options._handle;
  const record = process.platform === 'linux' ? optionRecord() : undefined;
  if (record === undefined || handle?.setNoDelay === undefined || handle.setKeepAlive === undefined) return undefined;
  const { noDelay, keepAlive, keepAliveInitialDelay: delay } = options;
  if ((noDelay && handle.setNoDelay(true) !== 0) || (keepAlive && handle.setKeepAlive(true, delay) !== 0)) return undefined;
  options.noDelay = options.keepAlive = false; // the kernel sets them now, not onconnection
  return (socket) => {
    const recorded = socket as Socket & Record<symbol, unknown>;
    if (noDelay) recorded[record.noDelay] = true;
    if (keepAlive) {
      recorded[record.keepAlive] = true;
      recorded[record.keepAliveInitialDelay] = delay;
    }
  };
}

function optionRecord(): OptionRecord | undefined {
  const symbols = Object.getOwnPropertySymbols(new Socket());
  const named = (name: string): symbol | undefined => symbols.find((symbol) => symbol.description === name);
  const [noDelay, keepAlive, keepAliveInitialDelay] = [named('kSetNoDelay'), named('kSetKeepAlive'), named('kSetKeepAliveInitialDelay')];
  return noDelay && keepAlive && keepAliveInitialDelay ? { noDelay, keepAlive, keepAliveInitialDelay } : undefined;
}
