import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';

/**
 * Certificates by server name (SNI): each name, exact (`api.example.com`)
 * or a wildcard for one label (`*.example.com`), maps to a secure context
 * built up front, so that a bad certificate or a key that does not match it
 * is an error when the names are given, not at some client's handshake.
 */
export class ServerNames {
  readonly #contexts: ReadonlyMap<string, SecureContext>;

  /**
   * @param names each name's own options (`cert`, `key`…), over `shared`
   *   (the server's: CA list, protocol versions, ciphers).
   */
  constructor(names: Readonly<Record<string, SecureContextOptions>>, shared: SecureContextOptions) {
    const contexts = new Map<string, SecureContext>();
    const built = new Map<SecureContextOptions, SecureContext>(); // one context per certificate, however many names it serves
    for (const [name, options] of Object.entries(names)) {
      let context = built.get(options);
      if (context === undefined) built.set(options, (context = createSecureContext({ ...shared, ...options })));
      contexts.set(name.toLowerCase(), context);
    }
    this.#contexts = contexts;
  }

  /** The context for `servername`: an exact name first, then a wildcard; `undefined` for the server's default. */
  lookup(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    const exact = this.#contexts.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.#contexts.get(`*${name.slice(dot)}`) : undefined;
  }
}
