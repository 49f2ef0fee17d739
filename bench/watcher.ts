/**
 * The external yardstick: the bench itself list+watches every Deployment, Service and ElasticWeb (as
 * admin, not through any peer) and stamps, per ElasticWeb, three moments:
 *  - children: its Deployment has the expected spec.replicas and its Service exists;
 *  - status: its status shows that, as the peer's `statusDone` defines it (peers.ts: for ours and the
 *    best-practice peer, observedGeneration = generation, the three conditions set for it, the
 *    replicas and the NodePort);
 *  - pods: its Deployment reports that many Ready replicas (full-mode clusters only).
 * Every peer names its children after the ElasticWeb, so `<namespace>/<name>` keys all of them.
 * Stamps come from performance.now() (sub-millisecond), as milliseconds since the epoch.
 *
 * Only namespaces starting with `prefix` are tracked: the unrelated objects of the memory scenario
 * pass through the watch but cost no memory here.
 */
import { type Kube, sleep } from './kube.ts';

interface Meta {
  metadata: { name: string; namespace: string; resourceVersion: string; generation?: number };
}
interface Deployment extends Meta {
  spec?: { replicas?: number };
  status?: { readyReplicas?: number };
}
/** What a status predicate sees of an ElasticWeb. */
export interface WatchedElasticWeb extends Meta {
  spec: { singlePodsQPS: number; totalQPS?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    realQPS?: number;
    nodePort?: number;
    conditions?: { type: string; observedGeneration?: number }[];
  };
}
interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Meta & { code?: number };
}

/** Whether an ElasticWeb's status shows `replicas` as the peer reports it. */
export type StatusDone = (ew: WatchedElasticWeb, replicas: number) => boolean;

export type Clock = 'children' | 'status' | 'pods';
const clocks: Clock[] = ['children', 'status', 'pods'];

/** Milliseconds since the epoch, with performance.now()'s sub-millisecond resolution. */
export const now = () => performance.timeOrigin + performance.now();

export class ConvergenceWatcher {
  readonly #kube: Kube;
  readonly #prefix: string;
  readonly #statusDone: StatusDone;
  readonly #abort = new AbortController();
  readonly #replicas = new Map<string, number>();
  readonly #ready = new Map<string, number>();
  readonly #services = new Set<string>();
  readonly #ews = new Map<string, WatchedElasticWeb>();
  /** Expected replicas per key; a key reaches each clock once per expectation. */
  readonly #expected = new Map<string, number>();
  readonly #at: Record<Clock, Map<string, number>> = {
    children: new Map(),
    status: new Map(),
    pods: new Map(),
  };
  #waiters: { done: () => boolean; resolve: () => void }[] = [];
  #loops: Promise<void>[] = [];

  private constructor(kube: Kube, prefix: string, statusDone: StatusDone) {
    this.#kube = kube;
    this.#prefix = prefix;
    this.#statusDone = statusDone;
  }

  /** Lists the three kinds and starts watching; resolves once the initial lists are in. */
  static async start(kube: Kube, prefix: string, statusDone: StatusDone): Promise<ConvergenceWatcher> {
    const w = new ConvergenceWatcher(kube, prefix, statusDone);
    const ready = [
      w.#informer('/apis/apps/v1/deployments', (e) => w.#onDeployment(e)),
      w.#informer('/api/v1/services', (e) => w.#onService(e)),
      w.#informer('/apis/elasticweb.example.com/v1/elasticwebs', (e) => w.#onElasticWeb(e)),
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

  /** Expect `key` to reach `replicas`; a changed expectation restarts its clocks. */
  expect(key: string, replicas: number): void {
    if (this.#expected.get(key) === replicas) return;
    this.#expected.set(key, replicas);
    for (const c of clocks) this.#at[c].delete(key);
    this.#check(key);
  }

  get expectedCount(): number {
    return this.#expected.size;
  }

  count(clock: Clock): number {
    return this.#at[clock].size;
  }

  at(key: string, clock: Clock): number | undefined {
    return this.#at[clock].get(key);
  }

  /** Resolves when every expected key has reached `clock`; rejects after `timeoutMs`. */
  waitAll(clock: Clock, timeoutMs: number): Promise<void> {
    return this.#wait(
      () => this.#at[clock].size >= this.#expected.size,
      timeoutMs,
      () => `${this.#at[clock].size}/${this.#expected.size} reached ${clock}`,
    );
  }

  /** Resolves with the time `key` reached `clock`; rejects after `timeoutMs`. */
  async waitKey(key: string, clock: Clock, timeoutMs: number): Promise<number> {
    await this.#wait(
      () => this.#at[clock].has(key),
      timeoutMs,
      () => `${key} has not reached ${clock}`,
    );
    return this.#at[clock].get(key) as number;
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

  #check(key: string): void {
    const want = this.#expected.get(key);
    if (want === undefined) return;
    const t = now();
    let changed = false;
    const stamp = (clock: Clock, reached: boolean) => {
      if (reached && !this.#at[clock].has(key)) {
        this.#at[clock].set(key, t);
        changed = true;
      }
    };
    stamp('children', this.#replicas.get(key) === want && this.#services.has(key));
    const ew = this.#ews.get(key);
    stamp('status', ew !== undefined && this.#statusDone(ew, want));
    stamp('pods', this.#replicas.get(key) === want && (this.#ready.get(key) ?? 0) >= want);
    if (!changed) return;
    // Waiters are few (one at a time in practice), so checking them all per change is cheap.
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
    const d = e.object as Deployment;
    if (e.type === 'DELETED') {
      this.#replicas.delete(key);
      this.#ready.delete(key);
    } else {
      this.#replicas.set(key, d.spec?.replicas ?? 1);
      this.#ready.set(key, d.status?.readyReplicas ?? 0);
    }
    this.#check(key);
  }

  #onService(e: WatchEvent): void {
    const key = this.#keyOf(e.object);
    if (!key) return;
    if (e.type === 'DELETED') this.#services.delete(key);
    else this.#services.add(key);
    this.#check(key);
  }

  #onElasticWeb(e: WatchEvent): void {
    const key = this.#keyOf(e.object);
    if (!key) return;
    if (e.type === 'DELETED') this.#ews.delete(key);
    else {
      // Only what the predicates read, so 10,000 of them cost little here.
      const ew = e.object as WatchedElasticWeb;
      this.#ews.set(key, {
        metadata: ew.metadata,
        spec: { singlePodsQPS: ew.spec.singlePodsQPS, totalQPS: ew.spec.totalQPS },
        status: ew.status,
      });
    }
    this.#check(key);
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
