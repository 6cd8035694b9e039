import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSecureContext, createServer, type SecureContext, type SecureContextOptions, type Server as NodeTlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import { Observable, type OperatorFunction } from 'rxjs';
import type { Logger } from '../logger.js';
import type { ServerEvent } from '../server/events.js';
import { handshakeFailure } from './handshake-failure.js';
import { peerLogFields } from './peer.js';
import { handOver, takeEarlyBytes } from './proxy-protocol.js';
import { ServerNames } from './server-names.js';

/**
 * TLS for `serve()`: Node's own `tls.createServer` options (`cert`, `key`,
 * `ca`, `requestCert`, `rejectUnauthorized`, `minVersion`, `ciphers`,
 * `handshakeTimeout`…), with certificates by server name in `sni`.
 *
 * Defaults: `minVersion` `TLSv1.2`; `handshakeTimeout` 10 s, after which a
 * peer that has not finished its handshake (a stalled client, plain text
 * sent to the TLS port) is closed and counted.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { serve } from 'tcp-rx';
 *
 * const server = await serve({
 *   port: 7443,
 *   tls: {
 *     cert: readFileSync('example.com.pem'),
 *     key: readFileSync('example.com.key'),
 *     sni: { 'api.example.net': { cert: readFileSync('api.pem'), key: readFileSync('api.key') } },
 *   },
 * });
 * ```
 */
export interface ServeTlsOptions extends TlsOptions {
  /**
   * Certificates by the server name a client asks for (SNI): `api.example.com`
   * or `*.example.com` (one label) → that name's `cert`, `key` and any other
   * secure-context option, over the rest of these options. A client that
   * asks for no name, or for one not here, gets `cert`/`key`.
   */
  readonly sni?: Readonly<Record<string, SecureContextOptions>> | undefined;
}

/** The certificates of a running TLS server, as `Server.setSecureContext()` takes them. */
export type TlsCertificates = Pick<ServeTlsOptions, 'cert' | 'key' | 'pfx' | 'passphrase' | 'ca' | 'crl' | 'sni'>;

/** Defaults of {@link ServeTlsOptions}. */
export const tlsDefaults = { minVersion: 'TLSv1.2', handshakeTimeout: 10_000 } as const satisfies ServeTlsOptions;

/** Options of {@link TlsTransport}. */
export interface TlsTransportOptions {
  readonly events: { next(event: ServerEvent): void };
  readonly logger: Logger;
}

/**
 * TLS as a stage of the connection stream: plain sockets in, sockets whose
 * handshake has succeeded out. A `tls.Server` that never listens does the
 * handshakes: each accepted socket is handed to it as its `connection`
 * event (the documented way to give a TLS server a socket), and comes back
 * as its `secureConnection` once the handshake is done. So access control
 * runs before any cryptography, and a peer that is still handshaking holds
 * no worker and waits in no queue; only the handshake timeout bounds it.
 *
 * Sockets come out paused (`pauseOnConnect`): what a peer sends while its
 * connection waits for a worker is not read past the socket's buffer. They
 * are half-open, and have the TCP options (Nagle off, keep-alive) their
 * handle was given when it was accepted.
 */
export class TlsTransport {
  readonly #server: NodeTlsServer;
  readonly #options: TlsTransportOptions;
  #settings: ServeTlsOptions;
  #names: ServerNames | undefined;

  /** Throws (a bad certificate, a key that does not match it) as `tls.createServer` does. */
  constructor(tls: ServeTlsOptions, options: TlsTransportOptions) {
    if (tls.sni !== undefined && tls.SNICallback !== undefined) throw new TypeError('tls: give either sni or SNICallback, not both');
    const settings = { ...tlsDefaults, ...withoutUndefined(tls) };
    this.#settings = settings;
    this.#options = options;
    this.#names = serverNames(settings);
    const { sni: _sni, ...nodeOptions } = settings;
    this.#server = createServer({
      ...nodeOptions,
      pauseOnConnect: true,
      allowHalfOpen: true,
      ...(settings.sni === undefined ? {} : { SNICallback: (name: string, done: (error: Error | null, context?: SecureContext) => void) => done(null, this.#names?.lookup(name)) }),
    });
  }

  /**
   * Replaces the certificates that new handshakes use; connections already
   * open keep theirs. Every certificate is loaded before anything changes:
   * one that fails (a key that does not match, a file that is not PEM)
   * throws and leaves the current ones in place.
   */
  setSecureContext(certificates: TlsCertificates): void {
    const settings = { ...this.#settings, ...withoutUndefined(certificates) };
    createSecureContext(settings); // throws before anything changes
    const names = serverNames(settings);
    this.#server.setSecureContext(settings);
    this.#names = names;
    this.#settings = settings;
  }

  /**
   * The handshake stage. It completes when its source has completed and the
   * handshakes under way have ended; unsubscribing (a shutdown out of time)
   * closes those.
   */
  handshake(): OperatorFunction<Socket, Socket> {
    const server = this.#server;
    const { events, logger } = this.#options;
    return (raw$) =>
      new Observable<Socket>((subscriber) => {
        /**
         * The raw sockets handshaking, each with when it arrived (performance.now()):
         * for a forced end to close, and for the handshake's time. Here rather
         * than on the socket, where a property of ours would grow Node's object.
         */
        const handshaking = new Map<Socket, number>();
        let pending = 0;
        let accepting = true;
        const settle = (raw: Socket | undefined): void => {
          pending--;
          if (raw !== undefined) handshaking.delete(raw);
        };
        const completeIfDone = (): void => {
          if (!accepting && pending === 0) subscriber.complete();
        };
        const onSecure = (socket: TLSSocket): void => {
          const raw = parentOf(socket);
          const arrived = raw === undefined ? undefined : handshaking.get(raw);
          settle(raw);
          if (raw !== undefined) handOver(raw, socket); // what a PROXY header said, for the connection
          if (arrived !== undefined) events.next({ type: 'handshake', duration: performance.now() - arrived, protocol: socket.getProtocol() ?? 'unknown' });
          subscriber.next(socket);
          completeIfDone();
        };
        const onFailure = (error: NodeJS.ErrnoException, socket: TLSSocket): void => {
          const raw = parentOf(socket);
          settle(raw);
          const reason = handshakeFailure(error, socket);
          events.next({ type: 'handshake-failed', reason });
          // A peer that goes away mid-handshake is ordinary (port probes, health checks): counted, not logged.
          if (reason !== 'reset') logger.log('warn', 'TLS handshake failed', { ...(raw === undefined ? {} : peerLogFields(raw)), reason, error: describe(error) });
          socket.destroy(); // a handshake timeout leaves the socket open
          completeIfDone();
        };
        server.on('secureConnection', onSecure);
        server.on('tlsClientError', onFailure);
        const subscription = raw$.subscribe({
          next: (raw: Socket) => {
            void raw.remoteAddress; // read now, while the peer is there: a failed handshake is logged with it
            // The start of the handshake may have come with a PROXY header: Node gives a socket's buffered bytes to the TLS socket over it first.
            const early = takeEarlyBytes(raw);
            if (early !== undefined) raw.unshift(early);
            handshaking.set(raw, performance.now());
            pending++;
            server.emit('connection', raw);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            accepting = false;
            completeIfDone();
          },
        });
        return () => {
          subscription.unsubscribe();
          server.off('secureConnection', onSecure);
          server.off('tlsClientError', onFailure);
          for (const raw of handshaking.keys()) raw.destroy();
        };
      });
  }
}

/** The accepted socket a TLS socket wraps: Node keeps it as `_parent` (its handle is that socket's). */
function parentOf(socket: TLSSocket): Socket | undefined {
  return (socket as TLSSocket & { _parent?: Socket | null })._parent ?? undefined;
}

function serverNames(settings: ServeTlsOptions): ServerNames | undefined {
  if (settings.sni === undefined) return undefined;
  const { sni, cert: _cert, key: _key, pfx: _pfx, passphrase: _passphrase, SNICallback: _callback, ...shared } = settings;
  return new ServerNames(sni, shared);
}

/** OpenSSL's reason (`wrong version number`) rather than its whole error string. */
function describe(error: NodeJS.ErrnoException & { reason?: unknown }): string {
  return typeof error.reason === 'string' ? error.reason : error.message;
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
