/**
 * What the server has done, at one moment: lifetime totals, figures over the
 * latest interval, and the state of the process.
 *
 * Totals only grow. Interval figures (`rates`, `latency`, `eventLoopDelayP99`)
 * cover the `interval` seconds before `time`: for a periodic snapshot the time
 * since the previous one; for `Server.snapshot()` the interval in
 * progress. Durations are in milliseconds unless a name says otherwise.
 */
export interface MetricsSnapshot {
  /** When it was taken (ms since the epoch). */
  readonly time: number;
  /** Seconds since the server started listening. */
  readonly uptime: number;
  /** Seconds covered by the interval figures, as measured, not as scheduled. */
  readonly interval: number;
  readonly connections: {
    /** Being served now. */
    readonly active: number;
    /** Waiting for a worker now. */
    readonly queued: number;
    /** Turned away since the start (busy or shutting down); by reason in `rejectReasons`. */
    readonly rejected: number;
    /** Served since the start (each connection a worker took up, open or closed). */
    readonly total: number;
  };
  /** Requests (frames) received since the start. */
  readonly requests: number;
  /** Replies written since the start. */
  readonly replies: number;
  /** Bytes since the start: `in` read from peers, `out` handed to their sockets. */
  readonly bytes: { readonly in: number; readonly out: number };
  /** Per second over the interval: its count divided by its measured length. */
  readonly rates: {
    readonly requests: number;
    readonly replies: number;
    readonly bytesIn: number;
    readonly bytesOut: number;
  };
  /**
   * Reply latency over the interval (ms, microsecond resolution): from the
   * arrival of a request to the hand-over of its reply to the socket.
   * All 0 when `count` is 0.
   */
  readonly latency: {
    readonly count: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /**
   * Reply latency since the start as a cumulative histogram, the shape
   * Prometheus aggregates: `buckets[i].count` replies took at most
   * `buckets[i].le` ms; the last bound is `Infinity`. `sum` is in ms.
   */
  readonly latencyHistogram: {
    readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
    readonly sum: number;
    readonly count: number;
  };
  /** The worker pool: its size (the `workers` option) and the workers serving a connection now. */
  readonly workers: { readonly size: number; readonly inUse: number };
  /** The queue for workers: its size (the `queue` option) and the connections waiting in it now (`connections.queued`). */
  readonly queue: { readonly size: number; readonly waiting: number };
  /** The server has begun to drain (`close()`): it takes no new connections. */
  readonly draining: boolean;
  /** 99th percentile of the event loop's delay over the interval (ms). */
  readonly eventLoopDelayP99: number;
  /** Process memory now (bytes): resident set and V8 heap in use. */
  readonly memory: { readonly rss: number; readonly heapUsed: number };
  /** Served connections closed since the start, by `CloseReason`. */
  readonly closeReasons: Readonly<Record<string, number>>;
  /** Connections turned away since the start, by `RejectReason`. */
  readonly rejectReasons: Readonly<Record<string, number>>;
  /** A TLS server's handshakes since the start; absent on a plain TCP server. */
  readonly tls?: {
    /** Handshakes completed. */
    readonly handshakes: number;
    /** Handshakes completed, by protocol version (`TLSv1.3`…). */
    readonly protocols: Readonly<Record<string, number>>;
    /** Handshakes failed (the connection closed before it was served), by `HandshakeFailure`. */
    readonly failures: Readonly<Record<string, number>>;
    /** Handshake time (from the connection's arrival), as {@link MetricsSnapshot.latencyHistogram} is: cumulative, ms. */
    readonly handshakeTime: Histogram;
  };
  /**
   * A server with an access log: its lines since the start, `written` and
   * `dropped` (its sink too slow or failing); absent without one. Written
   * plus dropped is the connections closed, once the log has caught up.
   */
  readonly accessLog?: { readonly written: number; readonly dropped: number };
  /** A server with `proxyProtocol`: its PROXY headers since the start; absent otherwise. */
  readonly proxy?: {
    /** Headers read, by version (`v1`, `v2`). */
    readonly headers: Readonly<Record<string, number>>;
    /** Of them, `LOCAL` ones: the proxy's own connections (HAProxy's health checks). */
    readonly local: number;
    /** Connections closed for their header (before they were served), by `ProxyFailure`. */
    readonly failures: Readonly<Record<string, number>>;
  };
  /**
   * A server of several processes (`tcp-rx serve --processes`): each one's
   * figures; the rest of the snapshot is the whole server's. Absent for a
   * single process.
   */
  readonly processes?: readonly ProcessFigures[];
}

/** One process of a server of several: a worker's own figures, or the primary's memory. */
export interface ProcessFigures {
  /** Its process id; `exited` for the lifetime counts of the workers gone, so that the processes add up to the server. */
  readonly process: string;
  /** The primary supervises and reports; workers serve. */
  readonly role: 'primary' | 'worker' | 'exited';
  /** Seconds since it started serving. */
  readonly uptime: number;
  readonly connections: { readonly active: number; readonly total: number };
  readonly requests: number;
  readonly replies: number;
  readonly memory: { readonly rss: number; readonly heapUsed: number };
  readonly eventLoopDelayP99: number;
}

/** A cumulative histogram: `buckets[i].count` observations were at most `buckets[i].le` ms; the last bound is `Infinity`; `sum` in ms. */
export interface Histogram {
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}
