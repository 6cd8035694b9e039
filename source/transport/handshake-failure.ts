import type { TLSSocket } from 'node:tls';
import type { HandshakeFailure } from '../server/events.js';

const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_HTTPS_PROXY_REQUEST',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);
const VERSION = new Set([
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_VERSION_TOO_LOW',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
]);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/**
 * Why a handshake failed, as one of a few reasons (metrics labels stay few):
 * from the error of Node's `tlsClientError` and the socket it came with.
 */
export function handshakeFailure(error: NodeJS.ErrnoException, socket: TLSSocket): HandshakeFailure {
  const code = error.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout';
  // A certificate that fails verification under `require` is refused by Node after OpenSSL's handshake: it surfaces as a hang-up.
  if (socket.authorizationError || code === 'ERR_SSL_CERTIFICATE_VERIFY_FAILED') return 'bad-certificate';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'no-certificate';
  if (NOT_TLS.has(code)) return 'not-tls';
  if (VERSION.has(code)) return 'version';
  if (/^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/.test(code)) return 'alert';
  if (RESET.has(code)) return 'reset';
  return 'other';
}
