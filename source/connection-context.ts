import type { Socket } from 'node:net';

/**
 * What a connection tells the operators of its pipeline, and what they tell it.
 *
 * Like Reactor's subscriber `Context`, it is handed out at subscription time:
 * the connection subscribes its pipeline inside {@link withConnectionContext},
 * and an operator that wants it calls {@link connectionContext} in its own
 * subscribe function. Operators work without it too (in unit tests, or on any
 * other stream of buffers): it is `undefined` there.
 */
export interface ConnectionContext {
  /** The peer's socket: a `net.Socket`, or a `tls.TLSSocket` under TLS. */
  readonly socket: Socket;
  /**
   * Called by a framing operator once per chunk it has consumed: how many frames
   * it emitted from that chunk, and whether it now holds the start of an
   * unfinished frame (which starts the read timeout).
   */
  decoded(frames: number, pending: boolean): void;
}

let current: ConnectionContext | undefined;

/** Runs `subscribe` with `context` visible to the operators it subscribes. */
export function withConnectionContext<T>(context: ConnectionContext, subscribe: () => T): T {
  const previous = current;
  current = context;
  try {
    return subscribe();
  } finally {
    current = previous;
  }
}

/** The context of the connection whose pipeline is being subscribed, if any. */
export function connectionContext(): ConnectionContext | undefined {
  return current;
}
