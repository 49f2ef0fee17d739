/**
 * Where the metrics server's certificate comes from, and how a new one reaches it without a restart
 * (cert rotation): the server asks `current()` once, then applies each key pair `onChange` hands over
 * to new connections (tls.Server.setSecureContext). Two sources: a self-signed pair renewed before it
 * expires, and tls.crt/tls.key from a directory, re-read when the files change (cert-dir-source.ts).
 */
import { type KeyPair, type SelfSignedOptions, selfSignedCertificate } from './self-signed.ts';

export interface TlsSource {
  /** The key pair to serve now. */
  current(): Pick<KeyPair, 'cert' | 'key'>;
  /** Called with each new key pair, after it has been checked to load. */
  onChange(listener: (pair: Pick<KeyPair, 'cert' | 'key'>) => void): void;
  /** Stops watching or renewing. */
  close(): void;
}

/**
 * A self-signed key pair, replaced by a fresh one once 80% of its validity has passed, so a
 * process that runs for longer than the validity never serves an expired certificate.
 */
export class SelfSignedSource implements TlsSource {
  #pair: KeyPair;
  readonly #options: SelfSignedOptions;
  readonly #listeners: ((pair: KeyPair) => void)[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(options: SelfSignedOptions & { checkEveryMs?: number } = {}) {
    this.#options = options;
    this.#pair = selfSignedCertificate(options);
    const validFor = options.validForMs ?? 365 * 24 * 3600 * 1000;
    let renewAt = Date.now() + 0.8 * validFor;
    // Checked periodically rather than with one long timer: setTimeout cannot wait longer than 24.8 days.
    this.#timer = setInterval(() => {
      if (Date.now() < renewAt) return;
      this.#pair = selfSignedCertificate(this.#options);
      renewAt = Date.now() + 0.8 * validFor;
      for (const listener of this.#listeners) listener(this.#pair);
    }, options.checkEveryMs ?? 3600_000).unref();
  }

  current(): KeyPair {
    return this.#pair;
  }

  onChange(listener: (pair: KeyPair) => void): void {
    this.#listeners.push(listener);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
