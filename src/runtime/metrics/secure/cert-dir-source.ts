/**
 * tls.crt and tls.key from a directory (--metrics-cert-dir), as controller-runtime's certwatcher
 * reads them: loaded at start (a missing or broken pair fails the start), then re-read when the
 * directory changes, so a certificate rotated by cert-manager is served without a restart.
 *
 * A Secret volume is updated by swapping a symlink, which fs.watch reports on the directory; a poll
 * every few seconds catches what a watch misses (some filesystems report nothing). A half-written
 * pair (new certificate, old key) fails to load and is retried on the next change or poll, while
 * the previous pair keeps being served.
 */
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../../log/logger.ts';
import type { TlsSource } from './tls-source.ts';

export interface CertDirOptions {
  certName?: string;
  keyName?: string;
  /** How often to re-read the files even without a change event (default 10 s, as certwatcher). */
  pollMs?: number;
  /** Also watch the directory for changes (default true; the poll alone is slower but enough). */
  watch?: boolean;
  log?: Logger;
}

type Pair = { cert: string; key: string };

export class CertDirSource implements TlsSource {
  readonly dir: string;
  #pair: Pair;
  readonly #paths: { cert: string; key: string };
  readonly #listeners: ((pair: Pair) => void)[] = [];
  readonly #log: Logger | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #lastError = '';

  /** Loads the pair now; throws (naming the files) when it cannot. */
  constructor(dir: string, options: CertDirOptions = {}) {
    this.dir = dir;
    this.#log = options.log;
    this.#paths = {
      cert: join(dir, options.certName ?? 'tls.crt'),
      key: join(dir, options.keyName ?? 'tls.key'),
    };
    this.#pair = this.#read();
    this.#timer = setInterval(() => this.reload(), options.pollMs ?? 10_000).unref();
    try {
      if (options.watch === false) throw new Error('not watching');
      this.#watcher = watch(dir, { persistent: false }, () => {
        // A rotation changes several entries at once: read once they have all landed.
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => this.reload(), 100).unref();
      });
      this.#watcher.on('error', () => {}); // the poll still runs
    } catch {
      this.#watcher = undefined;
    }
  }

  #read(): Pair {
    const pair = { cert: readFileSync(this.#paths.cert, 'utf8'), key: readFileSync(this.#paths.key, 'utf8') };
    try {
      createSecureContext(pair); // throws on a bad PEM or a key that does not match the certificate
    } catch (err) {
      throw new Error(`${this.#paths.cert} and ${this.#paths.key} do not load: ${(err as Error).message}`);
    }
    return pair;
  }

  /** Re-reads the files; hands a changed, loadable pair to the listeners. Returns whether it changed. */
  reload(): boolean {
    let next: Pair;
    try {
      next = this.#read();
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.#lastError) {
        this.#lastError = message;
        this.#log?.warn(
          { dir: this.dir, error: message },
          'metrics certificate not reloaded; serving the previous one',
        );
      }
      return false;
    }
    this.#lastError = '';
    if (next.cert === this.#pair.cert && next.key === this.#pair.key) return false;
    this.#pair = next;
    this.#log?.info({ dir: this.dir }, 'metrics certificate reloaded');
    for (const listener of this.#listeners) listener(next);
    return true;
  }

  current(): Pair {
    return this.#pair;
  }

  onChange(listener: (pair: Pair) => void): void {
    this.#listeners.push(listener);
  }

  close(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    this.#watcher?.close();
  }
}
