/**
 * The manager owns what controllers share and the process lifecycle, as controller-runtime's does:
 * the API clients, the informers (caches) and the cached client over them, the event recorder, the
 * metrics and health endpoints, leader election, and an orderly stop.
 *
 * Start: serve the endpoints, start every informer (standbys keep warm caches too, so a takeover is
 * fast); with leader election, take the lease and keep renewing it from that moment, then, once the
 * caches have synced, start the controllers' workers.
 *
 * Stop (SIGTERM): stop taking new work and let running reconciles finish within the graceful timeout
 * (the lease is still renewed meanwhile, so nobody else starts while they write), send pending
 * events, then release the lease, stop the informers, and close the endpoints and connections.
 *
 * With leader election every write of the main client passes a fence: none is sent once the lease
 * may have lapsed (see LeaderElector.mayWrite).
 */
import { hostname } from 'node:os';
import { CachedClient, typeKey } from '../cache/cached-client.ts';
import { Informer, type KubeObject } from '../cache/informer.ts';
import { NotLeaderError } from '../client/errors.ts';
import { KubeClient, type RequestRecord } from '../client/kube-client.ts';
import type { ListSchema } from '../client/protobuf/builtin-messages.ts';
import type { ResourceType } from '../client/resource-type.ts';
import type { RestConfig } from '../client/rest-config.ts';
import { type Clock, realClock } from '../clock.ts';
import type { Controller } from '../controller/controller.ts';
import { EventRecorder } from '../events/recorder.ts';
import { LeaderElector } from '../leaderelection/leader-elector.ts';
import type { Logger } from '../log/logger.ts';
import { type IdleReleaseOptions, startIdleRelease } from '../memory/idle-release.ts';
import { Metrics } from '../metrics/metrics.ts';
import { type SecureMetrics, startSecureMetrics } from '../metrics/secure/secure-metrics.ts';
import { ApiHealth } from './api-health.ts';
import { close, type Handler, type Served, serve } from './http-endpoints.ts';

export interface ManagerOptions {
  restConfig: RestConfig;
  log: Logger;
  /** The program's name: field manager of every write, event source, user agent, lease field manager. */
  name: string;
  /** The program's version, for the user agent (default 0.0.0). */
  version?: string;
  /** Watch only this namespace; all namespaces when undefined. */
  namespace?: string;
  metricsBindAddress?: string;
  /**
   * Serve /metrics over HTTPS, each scrape authenticated (TokenReview) and authorized
   * (SubjectAccessReview for get /metrics) by the API server, as kubebuilder scaffolds (default false
   * here; the operator's flag defaults to true).
   */
  metricsSecure?: boolean;
  /** tls.crt and tls.key for the secure endpoint, re-read when they change (default: self-signed). */
  metricsCertDir?: string;
  healthProbeBindAddress?: string;
  leaderElection?: {
    namespace: string;
    id: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** How long running reconciles may take to finish on stop (default 30 s, as controller-runtime). */
  gracefulShutdownTimeoutMs?: number;
  /** /readyz fails once the API server or an informer has been failing this long (default 15 s). */
  unreachableAfterMs?: number;
  /** Server-side timeout of each watch in seconds (default: random 300-600, as client-go). */
  watchTimeoutSeconds?: number;
  /** A watch silent (not even a bookmark) for this long is reopened (default 90 s). */
  watchIdleTimeoutMs?: number;
  metrics?: Metrics;
  /** Also told about every API request (tests count writes with it). */
  onRequest?: (record: RequestRecord) => void;
  /** Client-side request limit (default none, as controller-runtime). */
  qps?: number;
  burst?: number;
  clock?: Clock;
  /**
   * Run a memory-reducing collection when the process goes quiet after its heap grew (see
   * memory/idle-release.ts). Default on; it needs `node --expose-gc` and is off without it. An
   * application may add a native trim (`trimNative`: the operator passes glibc's malloc_trim); tests
   * may pass the collector and the readers it uses.
   */
  idleMemoryRelease?:
    | boolean
    | Pick<IdleReleaseOptions, 'gc' | 'heapCommitted' | 'utilization' | 'trimNative'>;
}

export class Manager {
  /** Reads from the caches, writes to the API server, sees its own writes (what reconcilers use). */
  readonly client: CachedClient;
  /** The API server, uncached. */
  readonly api: KubeClient;
  readonly recorder: EventRecorder;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly clock: Clock;
  readonly #o: ManagerOptions;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  readonly #controllers: Controller[] = [];
  readonly #stopInformers = new AbortController();
  readonly #stopControllers = new AbortController();
  readonly #stopRenewing = new AbortController();
  readonly #stopIdleRelease = new AbortController();
  readonly #health: ApiHealth;
  readonly #leaseClient: KubeClient | undefined;
  readonly #elector: LeaderElector | undefined;
  #servers: { metrics?: Served; health?: Served } = {};
  #secureMetrics: SecureMetrics | undefined;
  #informerRuns: Promise<void>[] = [];
  #leaderLost: Promise<boolean> = new Promise(() => {});
  #started = false;
  #stopping: Promise<void> | undefined;

  constructor(options: ManagerOptions) {
    this.#o = options;
    this.log = options.log;
    this.name = options.name;
    this.namespace = options.namespace;
    this.clock = options.clock ?? realClock;
    this.metrics = options.metrics ?? new Metrics();
    const userAgent = `${options.name}/${options.version ?? '0.0.0'} (node ${process.version})`;
    const lease = options.leaderElection;
    if (lease) {
      // Renewals get their own connections and give up by the renew deadline, so they never wait
      // behind a burst of reconciles or a server's Retry-After.
      this.#leaseClient = new KubeClient(options.restConfig, {
        userAgent,
        maxSockets: 2,
        maxServerRetries: 0,
        clock: this.clock,
        onResponse: (record) => this.metrics.observeRequest(this.#leaseClient?.host ?? '', record),
      });
      this.#elector = new LeaderElector({
        client: this.#leaseClient,
        namespace: lease.namespace,
        name: lease.id,
        identity: `${hostname()}_${crypto.randomUUID()}`,
        fieldManager: options.name,
        leaseDurationMs: lease.leaseDurationMs,
        renewDeadlineMs: lease.renewDeadlineMs,
        retryPeriodMs: lease.retryPeriodMs,
        log: this.log,
        clock: this.clock,
        onLeadingChange: (leading) =>
          this.metrics.leaderElectionMasterStatus.set({ name: lease.id }, leading ? 1 : 0),
      });
      this.metrics.leaderElectionMasterStatus.set({ name: lease.id }, 0);
    }
    const elector = this.#elector;
    this.api = new KubeClient(options.restConfig, {
      userAgent,
      qps: options.qps,
      burst: options.burst,
      clock: this.clock,
      ...(elector
        ? {
            fence: (what: string) => {
              if (!elector.mayWrite()) throw new NotLeaderError(what);
            },
          }
        : {}),
      onResponse: (record) => {
        this.metrics.observeRequest(this.api.host, record);
        this.#health.observe(record);
        options.onRequest?.(record);
      },
      onRetry: (record, wait) => {
        this.metrics.observeRetry(this.api.host, record);
        this.log.info(
          { verb: record.verb, path: record.path, status: record.status, waitSeconds: wait },
          'server asked to retry later',
        );
      },
    });
    this.#health = new ApiHealth({
      client: this.api,
      log: this.log,
      clock: this.clock,
      onRecovered: () => {
        for (const controller of this.#controllers) controller.retryAfterOutage();
      },
    });
    this.metrics.setLeading(() => this.leading);
    this.recorder = new EventRecorder({
      client: this.api,
      component: options.name,
      instance: `${options.name}-${hostname()}`,
      fieldManager: options.name,
      log: options.log,
      clock: this.clock,
    });
    this.client = new CachedClient({
      api: this.api,
      fieldManager: options.name,
      informerOf: (type) => this.#informers.get(typeKey(type)),
      clock: this.clock,
    });
  }

  /**
   * The cache of `type` (in the manager's namespace, if any), created on first use and shared after.
   * One cache per kind: asking again with another label selector or transform is an error.
   */
  informer<T extends KubeObject>(
    type: ResourceType,
    options: { labelSelector?: string; transform?: (obj: T) => T; protobuf?: ListSchema } = {},
  ): Informer<T> {
    if (this.#started) throw new Error(`informer for ${type.kind} requested after start`);
    const existing = this.#informers.get(typeKey(type));
    if (existing) {
      if (existing.labelSelector !== options.labelSelector)
        throw new Error(
          `${type.kind} is already cached with label selector "${existing.labelSelector ?? ''}"`,
        );
      return existing as unknown as Informer<T>;
    }
    const informer = new Informer<T>({
      client: this.api,
      type,
      namespace: this.namespace,
      labelSelector: options.labelSelector,
      transform: options.transform,
      protobuf: options.protobuf,
      log: this.log,
      clock: this.clock,
      idleTimeoutMs: this.#o.watchIdleTimeoutMs,
      onTransformError: (t) => this.metrics.informerTransformErrors.inc({ kind: t.kind }),
      ...(this.#o.watchTimeoutSeconds
        ? { watchTimeoutSeconds: () => this.#o.watchTimeoutSeconds as number }
        : {}),
    });
    this.#informers.set(typeKey(type), informer as unknown as Informer<KubeObject>);
    return informer;
  }

  /** Adds a controller; its workers start once the caches synced (and this replica leads). */
  add(controller: Controller): void {
    if (this.#started) throw new Error(`controller ${controller.name} added after start`);
    this.#controllers.push(controller);
  }

  /** True once every informer has synced, and neither the API server nor an informer has been failing for long. */
  get ready(): boolean {
    const limit = this.#o.unreachableAfterMs ?? 15_000;
    return (
      this.#health.downForMs < limit &&
      [...this.#informers.values()].every((i) => i.hasSynced && i.failingForMs < limit)
    );
  }

  get leading(): boolean {
    return this.#elector ? this.#elector.leading : true;
  }

  get metricsAddress(): string | undefined {
    return this.#secureMetrics?.address ?? this.#servers.metrics?.address;
  }

  get healthAddress(): string | undefined {
    return this.#servers.health?.address;
  }

  get informers(): readonly Informer<KubeObject>[] {
    return [...this.#informers.values()];
  }

  /** Resolves true if this manager lost the leader lease (the caller must then exit at once). */
  get whenLeaderLost(): Promise<boolean> {
    return this.#leaderLost;
  }

  /** Starts everything; resolves once the endpoints are serving and the informers are running. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('manager already started');
    this.#started = true;
    const o = this.#o;
    const renderMetrics: Handler = async () => {
      const { contentType, body } = await this.metrics.render();
      return { status: 200, contentType, body };
    };
    if (o.metricsSecure) {
      this.#secureMetrics = await startSecureMetrics({
        address: o.metricsBindAddress ?? ':8443',
        certDir: o.metricsCertDir,
        client: this.api,
        fieldManager: this.name,
        render: async () => this.metrics.render(),
        log: this.log,
      });
    } else {
      this.#servers.metrics = await serve(o.metricsBindAddress ?? ':8080', { '/metrics': renderMetrics });
    }
    this.#servers.health = await serve(o.healthProbeBindAddress ?? ':8081', {
      '/healthz': async () => ({ status: 200, contentType: 'text/plain', body: 'ok' }),
      '/readyz': async () => this.#readyz(),
    });
    if (this.#servers.metrics) this.log.info({ address: this.#servers.metrics.address }, 'serving metrics');
    if (this.#servers.health)
      this.log.info({ address: this.#servers.health.address }, 'serving health probes');

    this.#informerRuns = [...this.#informers.values()].map((i) => i.run(this.#stopInformers.signal));
    const release = o.idleMemoryRelease ?? true;
    if (release !== false) {
      startIdleRelease(
        {
          log: this.log,
          gc: globalThis.gc,
          clock: this.clock,
          ...(release === true ? {} : release),
          onRelease: (r) => {
            this.metrics.idleCollections.inc();
            this.metrics.idleReclaimedBytes.inc(Math.max(0, r.beforeBytes - r.afterBytes));
            if (r.nativeTrimmed) this.metrics.idleNativeTrims.inc();
          },
        },
        this.#stopIdleRelease.signal,
      );
    }

    const elector = this.#elector;
    if (elector) {
      this.#leaderLost = (async () => {
        if (!(await elector.acquire(this.#stopControllers.signal))) return false;
        // Renew from now on, while the caches sync and until the workers have drained.
        const lost = elector.holdUntilLost(this.#stopRenewing.signal);
        void this.#startControllers();
        return lost;
      })();
    } else {
      void this.#startControllers();
    }
  }

  async #startControllers(): Promise<void> {
    const signal = this.#stopControllers.signal;
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(signal)));
    if (signal.aborted || (this.#elector && !this.#elector.leading)) return;
    for (const controller of this.#controllers) controller.start(signal);
  }

  async #readyz() {
    await this.#health.probe();
    if (this.ready) return { status: 200, contentType: 'text/plain', body: 'ok' };
    const details = [...this.#informers.values()]
      .map((i) => `${i.type.kind}: synced=${i.hasSynced} unreachableForMs=${Math.round(i.failingForMs)}`)
      .concat(`API server down for ${Math.round(this.#health.downForMs)} ms`)
      .join('\n');
    return { status: 500, contentType: 'text/plain', body: `not ready\n${details}\n` };
  }

  /** Stops in order (see the file comment). Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const deadline = this.#o.gracefulShutdownTimeoutMs ?? 30_000;
      this.log.info(
        { gracefulShutdownTimeoutMs: deadline },
        'stopping: no new work; waiting for running reconciles',
      );
      this.#stopControllers.abort();
      this.#stopIdleRelease.abort();
      await Promise.all(this.#controllers.filter((c) => c.started).map((c) => c.stop(deadline)));
      await this.recorder.flush();
      this.#stopRenewing.abort();
      await this.#elector?.release();
      this.#stopInformers.abort();
      await Promise.all(this.#informerRuns);
      await Promise.all([
        close(this.#servers.metrics?.server),
        close(this.#servers.health?.server),
        this.#secureMetrics?.close(),
      ]);
      await this.api.close();
      await this.#leaseClient?.close();
      this.log.info('stopped');
    })();
    return this.#stopping;
  }
}
