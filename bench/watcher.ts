/**
 * The external yardstick: the bench itself list+watches every Deployment and Service (as admin, not
 * through either operator) and stamps the moment each ElasticWeb converged, meaning its Deployment has
 * the expected spec.replicas and its Service exists. Both operators name their children after the
 * ElasticWeb, so the key `<namespace>/<name>` is shared by all three objects.
 *
 * Only namespaces starting with `prefix` are tracked: the unrelated objects of the memory scenario
 * pass through the watch but cost no memory here.
 */
import { type Kube, sleep } from './kube.ts';

interface Meta {
  metadata: { name: string; namespace: string; resourceVersion: string };
}
interface Deployment extends Meta {
  spec?: { replicas?: number };
}
interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Meta & { code?: number };
}

export class ConvergenceWatcher {
  readonly #kube: Kube;
  readonly #prefix: string;
  readonly #abort = new AbortController();
  readonly #replicas = new Map<string, number>();
  readonly #services = new Set<string>();
  /** Expected replicas per key; a key converges once per expectation. */
  readonly #expected = new Map<string, number>();
  readonly #convergedAt = new Map<string, number>();
  #waiters: { done: () => boolean; resolve: () => void }[] = [];
  #loops: Promise<void>[] = [];

  private constructor(kube: Kube, prefix: string) {
    this.#kube = kube;
    this.#prefix = prefix;
  }

  /** Lists both kinds and starts watching; resolves once the initial lists are in. */
  static async start(kube: Kube, prefix: string): Promise<ConvergenceWatcher> {
    const w = new ConvergenceWatcher(kube, prefix);
    const ready = [
      w.#informer('/apis/apps/v1/deployments', (e) => w.#onDeployment(e)),
      w.#informer('/api/v1/services', (e) => w.#onService(e)),
    ];
    w.#loops = ready.map((r) => r.loop);
    try {
      await Promise.all(ready.map((r) => r.listed));
    } catch (err) {
      await w.stop();
      throw err;
    }
    return w;
  }

  /** Expect `key` to reach `replicas`; a changed expectation makes the key unconverged again. */
  expect(key: string, replicas: number): void {
    if (this.#expected.get(key) === replicas) return;
    this.#expected.set(key, replicas);
    this.#convergedAt.delete(key);
    this.#check(key, Date.now());
  }

  get expectedCount(): number {
    return this.#expected.size;
  }

  get convergedCount(): number {
    return this.#convergedAt.size;
  }

  /** Convergence times (ms since epoch) of every expected key that converged. */
  convergedTimes(): number[] {
    return [...this.#convergedAt.values()];
  }

  convergedAt(key: string): number | undefined {
    return this.#convergedAt.get(key);
  }

  /** Resolves when every expected key has converged; rejects after `timeoutMs`. */
  waitAll(timeoutMs: number): Promise<void> {
    return this.#wait(
      () => this.#convergedAt.size >= this.#expected.size,
      timeoutMs,
      () => {
        return `${this.#convergedAt.size}/${this.#expected.size} converged`;
      },
    );
  }

  /** Resolves with the time `key` converged; rejects after `timeoutMs`. */
  async waitKey(key: string, timeoutMs: number): Promise<number> {
    await this.#wait(
      () => this.#convergedAt.has(key),
      timeoutMs,
      () => `${key} not converged`,
    );
    return this.#convergedAt.get(key) as number;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#loops);
  }

  #wait(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`watcher: timed out after ${timeoutMs} ms (${describe()})`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  #check(key: string, now: number): void {
    const want = this.#expected.get(key);
    if (want === undefined || this.#convergedAt.has(key)) return;
    if (this.#replicas.get(key) !== want || !this.#services.has(key)) return;
    this.#convergedAt.set(key, now);
    // Waiters are few (one at a time in practice), so checking them all per convergence is cheap.
    const ready = this.#waiters.filter((w) => w.done());
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  #keyOf(obj: Meta): string | undefined {
    const { namespace, name } = obj.metadata;
    return namespace.startsWith(this.#prefix) ? `${namespace}/${name}` : undefined;
  }

  #onDeployment(e: WatchEvent): void {
    const key = this.#keyOf(e.object);
    if (!key) return;
    if (e.type === 'DELETED') this.#replicas.delete(key);
    else this.#replicas.set(key, (e.object as Deployment).spec?.replicas ?? 1);
    this.#check(key, Date.now());
  }

  #onService(e: WatchEvent): void {
    const key = this.#keyOf(e.object);
    if (!key) return;
    if (e.type === 'DELETED') this.#services.delete(key);
    else this.#services.add(key);
    this.#check(key, Date.now());
  }

  /**
   * List (paged), then watch from the list's resourceVersion; a watch that ends resumes from the last
   * resourceVersion seen, and an expired one (410) lists again. Ends only when stop() aborts.
   */
  #informer(path: string, apply: (e: WatchEvent) => void): { listed: Promise<string>; loop: Promise<void> } {
    const signal = this.#abort.signal;
    const list = async (): Promise<string> => {
      let cont = '';
      for (;;) {
        const page = (
          await this.#kube.must(
            'GET',
            `${path}?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
          )
        ).json<{ items: Meta[]; metadata: { resourceVersion: string; continue?: string } }>();
        for (const object of page.items) apply({ type: 'ADDED', object });
        if (!page.metadata.continue) return page.metadata.resourceVersion;
        cont = page.metadata.continue;
      }
    };
    const listed = list();
    const loop = (async () => {
      let rv = await listed.catch(() => '');
      if (!rv) return; // start() reports the failure
      while (!signal.aborted) {
        let expired = false;
        try {
          await this.#kube.watch(
            `${path}?watch=1&allowWatchBookmarks=true&timeoutSeconds=1800&resourceVersion=${rv}`,
            (raw) => {
              const e = raw as WatchEvent;
              if (e.type === 'ERROR') {
                expired = e.object.code === 410;
                return;
              }
              rv = e.object.metadata.resourceVersion;
              if (e.type !== 'BOOKMARK') apply(e);
            },
            signal,
          );
        } catch (err) {
          if (signal.aborted) return;
          console.error(`watcher: ${String(err)}; retrying`);
          await sleep(500);
        }
        if (expired && !signal.aborted) rv = await list();
      }
    })();
    return { listed, loop };
  }
}
