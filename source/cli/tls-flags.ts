import type { SecureVersion } from 'node:tls';
import type { CertificateFiles } from '../transport/certificates.js';
import type { ServeTlsOptions } from '../transport/tls-transport.js';
import { UsageError } from './flags.js';

/** How `--tls-client-auth` treats client certificates. */
export type ClientAuth = 'none' | 'request' | 'require';

/** The TLS flags of `tcp-rx serve`, parsed. */
export interface TlsFlags {
  readonly tlsCert: string[] | undefined;
  readonly tlsKey: string[] | undefined;
  readonly tlsCa: string[] | undefined;
  readonly tlsClientAuth: ClientAuth;
  readonly tlsMinVersion: SecureVersion;
  readonly tlsHandshakeTimeout: number;
}

/** `a.pem,b.pem`: one or more file names (a list, since a flag is given once, and so that it works from the environment too). */
export function parseFileList(text: string): string[] {
  const files = text.split(',').map((file) => file.trim()).filter((file) => file !== '');
  if (files.length === 0) throw new RangeError(`'${text}' names no file`);
  return files;
}

export function parseClientAuth(text: string): ClientAuth {
  if (text === 'none' || text === 'request' || text === 'require') return text;
  throw new RangeError(`'${text}' is not none, request or require`);
}

export function parseTlsVersion(text: string): SecureVersion {
  if (text === 'TLSv1.2' || text === 'TLSv1.3') return text;
  throw new RangeError(`'${text}' is not TLSv1.2 or TLSv1.3`);
}

/** A duration that must not be 0: a handshake that may take forever is a door left open. */
export function positive(parse: (text: string) => number): (text: string) => number {
  return (text) => {
    const value = parse(text);
    if (!(value > 0)) throw new RangeError(`'${text}' must be more than 0`);
    return value;
  };
}

/**
 * The certificate files the TLS flags name, or `undefined` without
 * `--tls-cert`. Throws a {@link UsageError} for flags that do not go
 * together: keys not paired with certificates, client authentication
 * without the CA to verify clients against, TLS flags without a certificate.
 */
export function certificateFiles(flags: TlsFlags): CertificateFiles | undefined {
  const { tlsCert, tlsKey, tlsCa, tlsClientAuth } = flags;
  if (tlsCert === undefined) {
    const stray = tlsKey !== undefined ? '--tls-key' : tlsCa !== undefined ? '--tls-ca' : tlsClientAuth !== 'none' ? '--tls-client-auth' : undefined;
    if (stray !== undefined) throw new UsageError(`${stray} needs --tls-cert`);
    return undefined;
  }
  if (tlsKey === undefined || tlsKey.length !== tlsCert.length) {
    throw new UsageError(`--tls-key: give one key file per --tls-cert file (${tlsCert.length} certificate(s), ${tlsKey?.length ?? 0} key(s))`);
  }
  if (tlsClientAuth !== 'none' && tlsCa === undefined) throw new UsageError(`--tls-client-auth ${tlsClientAuth} needs --tls-ca, the CA that client certificates are verified against`);
  return { certs: tlsCert, keys: tlsKey, ca: tlsCa };
}

/**
 * The `tls` option of `serve()` that the flags ask for, the certificates read
 * from `files`. Loads what reads them (node:crypto) only now: a server
 * without TLS does without it.
 */
export async function tlsOptions(flags: TlsFlags, files: CertificateFiles): Promise<ServeTlsOptions> {
  const { readCertificates } = await import('../transport/certificates.js');
  return {
    ...readCertificates(files),
    minVersion: flags.tlsMinVersion,
    handshakeTimeout: flags.tlsHandshakeTimeout,
    requestCert: flags.tlsClientAuth !== 'none',
    rejectUnauthorized: flags.tlsClientAuth === 'require',
  };
}
