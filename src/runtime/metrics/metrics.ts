/**
 * Prometheus metrics with controller-runtime's names, labels and buckets, so dashboards and alerts
 * made for Go operators work unchanged; plus process and Node.js runtime metrics from prom-client.
 * One registry per manager (tests run several managers in one process).
 */

import type { RequestRecord } from '../client/kube-client.ts';
import type { QueueObserver, WorkQueue } from '../workqueue/work-queue.ts';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from './prom.ts';

/** controller_runtime_reconcile_time_seconds buckets, as controller-runtime v0.25 declares them. */
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** workqueue duration buckets: prometheus.ExponentialBuckets(10e-9, 10, 12). */
const queueBuckets = Array.from({ length: 12 }, (_, i) => 10e-9 * 10 ** i);

export type ReconcileResult = 'success' | 'error' | 'requeue' | 'requeue_after';

export class Metrics {
  readonly registry = new Registry();

  readonly reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly reconcilePanics = new Counter({
    name: 'controller_runtime_reconcile_panics_total',
    help: 'Total number of reconciliation panics per controller (unexpected exceptions, not API errors)',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'] as const,
    buckets: reconcileBuckets,
    registers: [this.registry],
  });
  readonly maxConcurrentReconciles = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  readonly workqueueDepth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue by workqueue and priority',
    labelNames: ['name', 'controller', 'priority'] as const,
    registers: [this.registry],
  });
  readonly workqueueAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  readonly workqueueQueueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name', 'controller'] as const,
    buckets: queueBuckets,
    registers: [this.registry],
  });
  readonly workqueueWorkDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name', 'controller'] as const,
    buckets: queueBuckets,
    registers: [this.registry],
  });
  readonly workqueueRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of items added to the workqueue with a non-zero delay (rate-limited requeues, explicit RequeueAfter or AddAfter calls)',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  readonly #queues = new Map<string, WorkQueue>();

  readonly leaderElectionMasterStatus = new Gauge({
    name: 'leader_election_master_status',
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ['name'] as const,
    registers: [this.registry],
  });

  readonly restClientRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'] as const,
    registers: [this.registry],
  });
  readonly restClientRetries = new Counter({
    name: 'rest_client_request_retries_total',
    help: 'Number of request retries the server asked for (429 or 5xx with Retry-After), partitioned by status code, verb, and host.',
    labelNames: ['code', 'verb', 'host'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics(this.registry);
    const queues = this.#queues;
    // In-flight figures are computed when scraped, so no timer runs for them.
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
      labelNames: ['name', 'controller'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, queue] of queues)
          this.set({ name, controller: name }, queue.inFlight().unfinishedSeconds);
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name', 'controller'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, queue] of queues)
          this.set({ name, controller: name }, queue.inFlight().longestSeconds);
      },
    });
  }

  /** The observer a controller's work queue reports to. */
  queueObserver(controller: string): QueueObserver {
    const labels = { name: controller, controller };
    this.workqueueDepth.set({ ...labels, priority: '' }, 0);
    this.workqueueAdds.inc(labels, 0);
    this.workqueueRetries.inc(labels, 0);
    return {
      depth: (n) => this.workqueueDepth.set({ ...labels, priority: '' }, n),
      add: () => this.workqueueAdds.inc(labels),
      queueLatency: (s) => this.workqueueQueueDuration.observe(labels, s),
      workDuration: (s) => this.workqueueWorkDuration.observe(labels, s),
      retry: () => this.workqueueRetries.inc(labels),
    };
  }

  /** Lets the in-flight gauges read `queue` at scrape time. */
  trackQueue(controller: string, queue: WorkQueue): void {
    this.#queues.set(controller, queue);
  }

  /** Counts a finished API request (client hook). */
  observeRequest(host: string, record: RequestRecord): void {
    this.restClientRequests.inc({
      code: record.status === 0 ? '<error>' : String(record.status),
      method: record.method,
      host,
    });
  }

  observeRetry(host: string, record: RequestRecord): void {
    this.restClientRetries.inc({ code: String(record.status), verb: record.verb, host });
  }

  readonly informerTransformErrors = new Counter({
    name: 'informer_transform_errors_total',
    help: 'Objects left out of a cache because its transform threw, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  // Beside the nodejs_* process series, as Go's go_gc_cycles_forced_gc_cycles_total is beside go_*.
  readonly idleCollections = new Counter({
    name: 'nodejs_gc_idle_collections_total',
    help: 'Memory-reducing collections the runtime ran once the process went quiet after its heap grew (also counted in nodejs_gc_duration_seconds{kind="major"}).',
    registers: [this.registry],
  });

  readonly idleReclaimedBytes = new Counter({
    name: 'nodejs_gc_idle_reclaimed_bytes_total',
    help: "Bytes of V8's committed heap those collections gave back.",
    registers: [this.registry],
  });

  readonly idleNativeTrims = new Counter({
    name: 'nodejs_gc_idle_native_trims_total',
    help: "Of those collections, the ones after which the C allocator gave free pages back to the system (glibc's malloc_trim).",
    registers: [this.registry],
  });

  readonly #textSources: { render: () => string; leaderOnly: boolean }[] = [];
  #leading: () => boolean = () => true;

  /**
   * Adds series rendered straight to exposition text at scrape time: for per-object gauges over a
   * cache of thousands, where going through prom-client's label maps costs tens of milliseconds.
   * `leaderOnly` series are exported only by the replica that leads, so sums over replicas are right.
   */
  addTextSource(render: () => string, options: { leaderOnly?: boolean } = {}): void {
    this.#textSources.push({ render, leaderOnly: options.leaderOnly ?? false });
  }

  /** A gauge of the caller's own, in this registry (e.g. a controller's domain figures). */
  gauge(name: string, help: string): { set(value: number): void } {
    const gauge = new Gauge({ name, help, registers: [this.registry] });
    return { set: (value) => gauge.set(value) };
  }

  /** Tells the metrics whether this replica leads (the manager sets it). */
  setLeading(leading: () => boolean): void {
    this.#leading = leading;
  }

  /** The exposition text for /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    const leading = this.#leading();
    const text = this.#textSources
      .filter((s) => leading || !s.leaderOnly)
      .map((s) => s.render())
      .join('');
    return { contentType: this.registry.contentType, body: (await this.registry.metrics()) + text };
  }
}
