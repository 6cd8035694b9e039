import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import type { TlsCertificates } from './tls-transport.js';

/** PEM files, as `tcp-rx serve --tls-cert/--tls-key/--tls-ca` name them. */
export interface CertificateFiles {
  /** Certificate chains, each paired with the key at the same position. */
  readonly certs: readonly string[];
  readonly keys: readonly string[];
  /** CAs that client certificates are verified against. */
  readonly ca?: readonly string[] | undefined;
}

/**
 * Reads certificate/key pairs (and CAs) from PEM files: the first pair is
 * the default, and with several each serves the names its certificate
 * holds (subject alternative DNS names, else its common name) to clients
 * that ask for them by SNI; a name in two certificates goes to the first.
 * Read again on every call: what a reload (SIGHUP) uses. Throws, naming the
 * file, for one that cannot be read or holds no certificate.
 */
export function readCertificates({ certs, keys, ca }: CertificateFiles): TlsCertificates {
  if (certs.length !== keys.length) throw new RangeError(`${certs.length} certificate file(s) but ${keys.length} key file(s): give them in pairs`);
  const pairs = certs.map((certFile, index) => ({ cert: read(certFile), key: read(keys[index]!), file: certFile }));
  const [first] = pairs;
  if (first === undefined) throw new RangeError('no certificate given');
  const sni: Record<string, SecureContextOptions> = {};
  if (pairs.length > 1) {
    for (const { cert, key, file } of pairs) {
      const options = { cert, key };
      for (const name of certificateNames(cert, file)) sni[name] ??= options;
    }
  }
  return {
    cert: first.cert,
    key: first.key,
    ...(ca !== undefined && ca.length > 0 ? { ca: ca.map(read) } : {}),
    ...(pairs.length > 1 ? { sni } : {}),
  };
}

/** The host names a certificate is for: its DNS subject alternative names, else its common name. */
export function certificateNames(pem: Buffer, file = 'certificate'): string[] {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (error) {
    throw new Error(`${file}: not a PEM certificate (${(error as Error).message})`);
  }
  const alternatives = (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  if (alternatives.length > 0) return alternatives;
  const commonName = /^CN=(.+)$/m.exec(certificate.subject)?.[1];
  return commonName === undefined ? [] : [commonName.toLowerCase()];
}

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
