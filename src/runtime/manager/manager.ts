/**
 * The manager owns what controllers share and the process lifecycle, as controller-runtime's does:
 * one API client, the informers (caches), the event recorder, the metrics and health endpoints, leader
 * election, and an orderly stop.
 *
 * Start: serve the endpoints, start every informer (standbys keep warm caches too, so a takeover is
 * fast), then, once leading (or at once without leader election) and once the caches have synced,
 * start the controllers' workers.
 *
 * Stop (SIGTERM): stop taking new work, let running reconciles finish within the graceful timeout,
 * release the lease, stop the informers, send pending events, close the endpoints.
 */
import { hostname } from 'node:os';
import { Informer, type KubeObject } from '../cache/informer.ts';
import { KubeClient, type RequestRecord } from '../client/kube-client.ts';
import type { ResourceType } from '../client/resource-type.ts';
import type { RestConfig } from '../client/rest-config.ts';
import type { Controller } from '../controller/controller.ts';
import { EventRecorder } from '../events/recorder.ts';
import { LeaderElector } from '../leaderelection/leader-elector.ts';
import type { Logger } from '../log/logger.ts';
import { Metrics } from '../metrics/metrics.ts';
import { close, serve } from './http-endpoints.ts';

export interface ManagerOptions {
  restConfig: RestConfig;
  log: Logger;
  /** Name used as field manager, event source and user agent. */
  component: string;
  /** Watch only this namespace; all namespaces when undefined. */
  namespace?: string;
  metricsBindAddress?: string;
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
  /**
   * /readyz fails once the API server has been unreachable this long (default 15 s): an informer
   * cannot list or watch, or every request since the first failure has failed (no answer or 5xx).
   */
  unreachableAfterMs?: number;
  /** Server-side timeout of each watch in seconds (default: random 300-600, as client-go). */
  watchTimeoutSeconds?: number;
  metrics?: Metrics;
  /** Also told about every API request (tests count writes with it). */
  onRequest?: (record: RequestRecord) => void;
  /** Client-side request limit (default none, as controller-runtime). */
  qps?: number;
  burst?: number;
}

export class Manager {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly namespace: string | undefined;
  readonly #options: ManagerOptions;
  readonly #informers: Informer<KubeObject>[] = [];
  readonly #controllers: Controller[] = [];
  readonly #stopInformers = new AbortController();
  readonly #stopControllers = new AbortController();
  #elector: LeaderElector | undefined;
  #servers: { metrics?: Awaited<ReturnType<typeof serve>>; health?: Awaited<ReturnType<typeof serve>> } = {};
  #informerRuns: Promise<void>[] = [];
  #leaderLost: Promise<boolean> = new Promise(() => {});
  #controllersStarted = false;
  #stopping: Promise<void> | undefined;
  /** Since when every API request has failed (undefined while they succeed). */
  #requestsFailingSince: number | undefined;
  #apiCheckedAt = 0;

  constructor(options: ManagerOptions) {
    this.#options = options;
    this.log = options.log;
    this.namespace = options.namespace;
    this.metrics = options.metrics ?? new Metrics();
    const host = new URL(options.restConfig.server).host;
    this.client = new KubeClient(options.restConfig, {
      userAgent: `${options.component}/0.1.0 (node ${process.version})`,
      qps: options.qps,
      burst: options.burst,
      onResponse: (record) => {
        this.metrics.observeRequest(host, record);
        if (record.status === 0 || record.status >= 500) this.#requestsFailingSince ??= Date.now();
        else if (this.#requestsFailingSince !== undefined) {
          this.#requestsFailingSince = undefined;
          // Back after an outage: what failed meanwhile need not wait out its grown backoff.
          for (const controller of this.#controllers) controller.retryNow();
        }
        options.onRequest?.(record);
      },
      onRetry: (record, wait) => {
        this.metrics.observeRetry(host, record);
        this.log.info(
          { verb: record.verb, path: record.path, status: record.status, waitSeconds: wait },
          'server asked to retry later',
        );
      },
    });
    this.recorder = new EventRecorder({
      client: this.client,
      component: options.component,
      log: options.log,
      fieldManager: options.component,
    });
  }

  /** A cache of `type` (in the manager's namespace, if any). Create informers before start(). */
  informer<T extends KubeObject>(
    type: ResourceType,
    options: { labelSelector?: string; transform?: (obj: T) => T } = {},
  ): Informer<T> {
    const informer = new Informer<T>({
      client: this.client,
      type,
      namespace: this.namespace,
      labelSelector: options.labelSelector,
      transform: options.transform,
      log: this.log,
      ...(this.#options.watchTimeoutSeconds
        ? { watchTimeoutSeconds: () => this.#options.watchTimeoutSeconds as number }
        : {}),
    });
    this.#informers.push(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  add(controller: Controller): void {
    this.#controllers.push(controller);
  }

  /** True once every informer has synced and none has been cut off from the API server for long. */
  get ready(): boolean {
    const limit = this.#options.unreachableAfterMs ?? 15_000;
    const requestsFailingMs =
      this.#requestsFailingSince === undefined ? 0 : Date.now() - this.#requestsFailingSince;
    return requestsFailingMs < limit && this.#informers.every((i) => i.hasSynced && i.failingForMs < limit);
  }

  get leading(): boolean {
    return this.#elector ? this.#elector.leading : true;
  }

  get metricsAddress(): string | undefined {
    return this.#servers.metrics?.address;
  }

  get healthAddress(): string | undefined {
    return this.#servers.health?.address;
  }

  get informers(): readonly Informer<KubeObject>[] {
    return this.#informers;
  }

  /**
   * Starts everything and resolves once the endpoints are serving and the informers are running.
   * `whenLeaderLost` resolves if leadership is lost later; the caller must then exit.
   */
  async start(): Promise<void> {
    const o = this.#options;
    this.#servers.metrics = await serve(o.metricsBindAddress ?? ':8080', {
      '/metrics': async () => {
        const { contentType, body } = await this.metrics.render();
        return { status: 200, contentType, body };
      },
    });
    this.#servers.health = await serve(o.healthProbeBindAddress ?? ':8081', {
      '/healthz': async () => ({ status: 200, contentType: 'text/plain', body: 'ok' }),
      '/readyz': async () => this.#readyz(),
    });
    if (this.#servers.metrics) this.log.info({ address: this.#servers.metrics.address }, 'serving metrics');
    if (this.#servers.health)
      this.log.info({ address: this.#servers.health.address }, 'serving health probes');

    this.#informerRuns = this.#informers.map((i) => i.run(this.#stopInformers.signal));

    if (o.leaderElection) {
      const identity = `${hostname()}_${crypto.randomUUID()}`;
      const lease = o.leaderElection;
      this.metrics.leaderElectionMasterStatus.set({ name: lease.id }, 0);
      this.#elector = new LeaderElector({
        client: this.client,
        namespace: lease.namespace,
        name: lease.id,
        identity,
        leaseDurationMs: lease.leaseDurationMs,
        renewDeadlineMs: lease.renewDeadlineMs,
        retryPeriodMs: lease.retryPeriodMs,
        log: this.log,
        onLeadingChange: (leading) =>
          this.metrics.leaderElectionMasterStatus.set({ name: lease.id }, leading ? 1 : 0),
      });
      const elector = this.#elector;
      const signal = this.#stopControllers.signal;
      this.#leaderLost = (async () => {
        if (!(await elector.acquire(signal))) return false;
        await this.#startControllers();
        return elector.holdUntilLost(signal);
      })();
    } else {
      void this.#startControllers();
    }
  }

  /** Resolves true if this manager lost the leader lease (it must then exit at once). */
  get whenLeaderLost(): Promise<boolean> {
    return this.#leaderLost;
  }

  async #startControllers(): Promise<void> {
    const signal = this.#stopControllers.signal;
    await Promise.all(this.#informers.map((i) => i.waitForSync(signal)));
    if (signal.aborted) return;
    this.#controllersStarted = true;
    for (const controller of this.#controllers) controller.start(signal);
  }

  async #readyz() {
    await this.#checkApiServer();
    if (this.ready) return { status: 200, contentType: 'text/plain', body: 'ok' };
    const failing = this.#requestsFailingSince === undefined ? 0 : Date.now() - this.#requestsFailingSince;
    const details = this.#informers
      .map((i) => `${i.type.kind}: synced=${i.hasSynced} unreachableForMs=${i.failingForMs}`)
      .concat(`requests failing for ${failing} ms`)
      .join('\n');
    return { status: 500, contentType: 'text/plain', body: `not ready\n${details}\n` };
  }

  /**
   * Asks the API server's own /readyz, at most once a second: an idle operator makes no other
   * request, and an API server that is up but cannot reach etcd still keeps watches open. Its answer
   * counts like any request's (see `ready`), so an outage makes /readyz fail once it lasts.
   */
  async #checkApiServer(): Promise<void> {
    if (Date.now() - this.#apiCheckedAt < 1000) return;
    this.#apiCheckedAt = Date.now();
    await this.client.health('/readyz', 2000);
  }

  /** Stops in order (see the file comment). Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const deadline = this.#options.gracefulShutdownTimeoutMs ?? 30_000;
      this.log.info(
        { gracefulShutdownTimeoutMs: deadline },
        'stopping: no new work; waiting for running reconciles',
      );
      this.#stopControllers.abort();
      if (this.#controllersStarted) await Promise.all(this.#controllers.map((c) => c.stop(deadline)));
      await this.#elector?.release();
      this.#stopInformers.abort();
      await Promise.all(this.#informerRuns);
      await this.recorder.flush();
      await Promise.all([close(this.#servers.metrics?.server), close(this.#servers.health?.server)]);
      await this.client.close();
      this.log.info('stopped');
    })();
    return this.#stopping;
  }
}
