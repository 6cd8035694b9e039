import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

/** A certificate and its key, as files and as PEM. */
export interface Issued {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A throw-away CA in a temp dir (removed when the test ends) that issues certificates with the real `openssl`. */
export interface TestCa extends Issued {
  readonly dir: string;
  /** Issues a certificate for `subject` (`/CN=alice/O=Example`), with DNS and IP names, signed by this CA. */
  issue(name: string, options?: { subject?: string; dns?: readonly string[]; ip?: readonly string[]; serial?: number }): Issued;
}

/** EC P-256 keys: generated in milliseconds. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Creates a CA named `name` in a temp dir (or in `dir`, shared with another CA). */
export function createCa(t: Test, name = 'tcp-rx test CA', dir?: string): TestCa {
  const home = dir ?? mkdtempSync(join(tmpdir(), 'tcp-rx-tls-'));
  if (dir === undefined) t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const file = (base: string): string => join(home, base);
  const prefix = name.replace(/\W+/g, '-');
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(['req', '-x509', ...NEW_KEY, '-keyout', file(`${prefix}.key`), '-out', file(`${prefix}.pem`), '-days', '2', '-subj', `/CN=${name}`]);
  let serial = 1000;
  const ca = read(file(`${prefix}.pem`), file(`${prefix}.key`));
  return {
    ...ca,
    dir: home,
    issue(leaf, { subject = `/CN=${leaf}`, dns = [], ip = [], serial: given } = {}) {
      const base = `${prefix}-${leaf}`;
      openssl(['req', ...NEW_KEY, '-keyout', file(`${base}.key`), '-out', file(`${base}.csr`), '-subj', subject]);
      const names = [...dns.map((name) => `DNS:${name}`), ...ip.map((address) => `IP:${address}`)];
      writeFileSync(file(`${base}.ext`), names.length > 0 ? `subjectAltName=${names.join(',')}\n` : 'basicConstraints=CA:FALSE\n');
      openssl([
        'x509', '-req', '-in', file(`${base}.csr`), '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(given ?? ++serial),
        '-days', '2', '-out', file(`${base}.pem`), '-extfile', file(`${base}.ext`),
      ]);
      return read(file(`${base}.pem`), file(`${base}.key`));
    },
  };
}

function read(certFile: string, keyFile: string): Issued {
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
