import type { Socket } from 'node:net';
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/**
 * What a TLS handshake established about a connection: what protocol
 * operators see as `connectionContext().tls`, and what the logs name.
 */
export interface TlsPeer {
  /** The protocol version agreed on: `TLSv1.2` or `TLSv1.3`. */
  readonly protocol: string;
  /** The cipher suite agreed on (its standard name, `TLS_AES_256_GCM_SHA384`…). */
  readonly cipher: string;
  /** The server name the client asked for (SNI), if it asked. */
  readonly servername: string | undefined;
  /** The peer presented a certificate that the server's CA list verifies. */
  readonly authorized: boolean;
  /** Why its certificate was not verified (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`…); only a server that requests but does not require one serves such a peer. */
  readonly authorizationError: string | undefined;
  /** The peer certificate's subject on one line (`CN=alice, O=Example`); `undefined` without a client certificate. */
  readonly subject: string | undefined;
  /** The peer certificate's SHA-256 fingerprint (`AB:CD:…`). */
  readonly fingerprint: string | undefined;
  /** The peer's whole certificate (issuer, validity, names…), as Node parses it. */
  readonly certificate: X509Certificate | undefined;
}

/** Read once per socket: a certificate is parsed (and a few strings made) on first use only. */
const peers = new WeakMap<Socket, TlsPeer>();

/**
 * The TLS side of `socket`, or `undefined` for a plain TCP socket.
 *
 * @example
 * ```ts
 * const who = tlsPeer(socket)?.subject ?? 'anonymous';
 * ```
 */
export function tlsPeer(socket: Socket): TlsPeer | undefined {
  if (!(socket as Partial<TLSSocket>).encrypted) return undefined;
  let peer = peers.get(socket);
  if (peer === undefined) {
    const secure = socket as TLSSocket;
    const certificate = secure.getPeerX509Certificate();
    const error = secure.authorizationError as unknown as string | Error | null | undefined; // Node types it as an Error, sets a code
    peer = {
      protocol: secure.getProtocol() ?? 'unknown',
      cipher: secure.getCipher()?.standardName ?? 'unknown',
      servername: typeof secure.servername === 'string' ? secure.servername : undefined,
      authorized: secure.authorized,
      authorizationError: error == null ? undefined : typeof error === 'string' ? error : error.message,
      subject: certificate?.subject.split('\n').join(', '),
      fingerprint: certificate?.fingerprint256,
      certificate,
    };
    peers.set(socket, peer);
  }
  return peer;
}

const NONE: Readonly<Record<string, string>> = {};

/** The fields that name a TLS peer in a log record: its certificate's subject and fingerprint, when it showed one. */
export function tlsLogFields(socket: Socket): Readonly<Record<string, string>> {
  const peer = tlsPeer(socket);
  return peer?.subject === undefined ? NONE : { subject: peer.subject, fingerprint: peer.fingerprint! };
}
