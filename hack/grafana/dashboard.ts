/**
 * The Grafana dashboard for the operator (config/grafana/elasticweb-operator.json, written by
 * `npm run manifests`): controller-runtime's standard panels (reconciles, errors, durations, work
 * queue, workers), the API client's requests by code, the Node.js process (memory, CPU, event-loop
 * lag, GC), and per-ElasticWeb QPS and conditions with `namespace` and `name` variables.
 *
 * Written as data here rather than by hand in JSON, so panel ids and the grid layout are computed
 * and cannot collide; test/unit/grafana-dashboard.test.ts checks the result, and
 * test/e2e/dashboard.test.ts runs every query against a Prometheus that scraped the operator.
 */

// Grafana's own variable syntax, not a JavaScript template.
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana substitutes it
const datasource = { type: 'prometheus', uid: '${datasource}' } as const;
/** Every series of this operator: the ServiceMonitor sets job from the Service's app.kubernetes.io/name. */
const op = 'job=~"$job"';
const ctrl = `${op}, controller="elasticweb"`;
const queue = `${op}, name="elasticweb"`;
const ew = `${op}, namespace=~"$namespace", name=~"$name"`;

interface Target {
  expr: string;
  legend: string;
  /** Instant query (tables and stats) instead of a range. */
  instant?: boolean;
}

interface PanelSpec {
  title: string;
  description: string;
  type?: 'timeseries' | 'stat' | 'table';
  unit: string;
  /** Width in grid columns (24 per row); height is fixed per row. */
  width: 6 | 8 | 12 | 24;
  targets: Target[];
}

interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

const quantiles = (metric: string, selector: string, legendPrefix = ''): Target[] =>
  [0.5, 0.9, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le) (rate(${metric}{${selector}}[$__rate_interval])))`,
    legend: `${legendPrefix}p${q * 100}`,
  }));

export const rows: RowSpec[] = [
  {
    title: 'ElasticWebs',
    panels: [
      {
        title: 'ElasticWebs',
        description: 'ElasticWebs the leading replica knows, in the selected namespaces.',
        type: 'stat',
        unit: 'none',
        width: 6,
        targets: [{ expr: `count(elasticweb_desired_qps{${ew}})`, legend: 'ElasticWebs', instant: true }],
      },
      {
        title: 'Degraded ElasticWebs',
        description:
          'ElasticWebs whose Degraded condition is True (the ElasticWebDegraded and ElasticWebSaturated alerts).',
        type: 'stat',
        unit: 'none',
        width: 6,
        targets: [
          {
            expr: `count(elasticweb_status_condition{${ew}, type="Degraded", status="True"}) or vector(0)`,
            legend: 'Degraded',
            instant: true,
          },
        ],
      },
      {
        title: 'Capacity missing',
        description:
          'QPS asked for but not served: spec.totalQPS - status.realQPS, summed over the selection.',
        type: 'stat',
        unit: 'reqps',
        width: 12,
        targets: [
          {
            expr: `sum(clamp_min(elasticweb_desired_qps{${ew}} - elasticweb_real_qps{${ew}}, 0))`,
            legend: 'missing QPS',
            instant: true,
          },
        ],
      },
      {
        title: 'Desired, real and observed QPS',
        description:
          'spec.totalQPS (desired), what Ready pods serve (real: Ready pods x singlePodsQPS) and the traffic autopilot measures (observed), per ElasticWeb.',
        unit: 'reqps',
        width: 24,
        targets: [
          { expr: `elasticweb_desired_qps{${ew}}`, legend: '{{namespace}}/{{name}} desired' },
          { expr: `elasticweb_real_qps{${ew}}`, legend: '{{namespace}}/{{name}} real' },
          { expr: `elasticweb_observed_qps{${ew}}`, legend: '{{namespace}}/{{name}} observed' },
        ],
      },
      {
        title: 'Conditions',
        description: 'Current conditions of each ElasticWeb (Available, Progressing, Degraded, Autoscaling).',
        type: 'table',
        unit: 'none',
        width: 24,
        targets: [
          {
            expr: `max by (namespace, name, type, status, reason) (elasticweb_status_condition{${ew}}) == 1`,
            legend: '',
            instant: true,
          },
        ],
      },
    ],
  },
  {
    title: 'Reconciles',
    panels: [
      {
        title: 'Reconcile rate by result',
        description: 'controller_runtime_reconcile_total: success, error, requeue, requeue_after.',
        unit: 'ops',
        width: 8,
        targets: [
          {
            expr: `sum by (result) (rate(controller_runtime_reconcile_total{${ctrl}}[$__rate_interval]))`,
            legend: '{{result}}',
          },
        ],
      },
      {
        title: 'Reconcile errors',
        description: 'Failed reconciles (retried with backoff) and panics (unexpected exceptions).',
        unit: 'ops',
        width: 8,
        targets: [
          {
            expr: `sum(rate(controller_runtime_reconcile_errors_total{${ctrl}}[$__rate_interval]))`,
            legend: 'errors',
          },
          {
            expr: `sum(rate(controller_runtime_reconcile_panics_total{${ctrl}}[$__rate_interval]))`,
            legend: 'panics',
          },
        ],
      },
      {
        title: 'Reconcile duration',
        description: 'controller_runtime_reconcile_time_seconds quantiles.',
        unit: 's',
        width: 8,
        targets: quantiles('controller_runtime_reconcile_time_seconds_bucket', ctrl),
      },
      {
        title: 'Workers',
        description: 'Workers busy now against --max-concurrent-reconciles.',
        unit: 'none',
        width: 12,
        targets: [
          { expr: `sum(controller_runtime_active_workers{${ctrl}})`, legend: 'active' },
          { expr: `max(controller_runtime_max_concurrent_reconciles{${ctrl}})`, legend: 'max' },
        ],
      },
      {
        title: 'Leader',
        description: 'leader_election_master_status: 1 on the replica that holds the Lease and reconciles.',
        unit: 'none',
        width: 12,
        targets: [{ expr: `leader_election_master_status{${op}}`, legend: '{{instance}} {{pod}}' }],
      },
    ],
  },
  {
    title: 'Work queue',
    panels: [
      {
        title: 'Queue depth',
        description: 'Keys ready to reconcile now (keys waiting out a backoff are not counted).',
        unit: 'none',
        width: 8,
        targets: [{ expr: `sum(workqueue_depth{${queue}})`, legend: 'depth' }],
      },
      {
        title: 'Adds and retries',
        description: 'Keys added, and keys added back with a delay (backoff or requeue-after).',
        unit: 'ops',
        width: 8,
        targets: [
          { expr: `sum(rate(workqueue_adds_total{${queue}}[$__rate_interval]))`, legend: 'adds' },
          { expr: `sum(rate(workqueue_retries_total{${queue}}[$__rate_interval]))`, legend: 'retries' },
        ],
      },
      {
        title: 'Queue latency',
        description: 'How long a key waits in the queue before a worker takes it.',
        unit: 's',
        width: 8,
        targets: quantiles('workqueue_queue_duration_seconds_bucket', queue),
      },
      {
        title: 'Work duration',
        description: 'How long a worker takes on a key.',
        unit: 's',
        width: 12,
        targets: quantiles('workqueue_work_duration_seconds_bucket', queue),
      },
      {
        title: 'Work in progress',
        description:
          'Seconds of unfinished work and the longest-running reconcile: a value that keeps growing is a stuck reconcile.',
        unit: 's',
        width: 12,
        targets: [
          { expr: `max(workqueue_unfinished_work_seconds{${queue}})`, legend: 'unfinished work' },
          { expr: `max(workqueue_longest_running_processor_seconds{${queue}})`, legend: 'longest running' },
        ],
      },
    ],
  },
  {
    title: 'API server',
    panels: [
      {
        title: 'API requests by code',
        description: 'rest_client_requests_total by status code: 429 means throttled, <error> no answer.',
        unit: 'reqps',
        width: 12,
        targets: [
          {
            expr: `sum by (code) (rate(rest_client_requests_total{${op}}[$__rate_interval]))`,
            legend: '{{code}}',
          },
        ],
      },
      {
        title: 'API requests by method',
        description: 'rest_client_requests_total by HTTP method: PATCH and POST are writes.',
        unit: 'reqps',
        width: 12,
        targets: [
          {
            expr: `sum by (method) (rate(rest_client_requests_total{${op}}[$__rate_interval]))`,
            legend: '{{method}}',
          },
        ],
      },
    ],
  },
  {
    title: 'Process',
    panels: [
      {
        title: 'Memory',
        description: 'Resident memory of each replica, and the V8 heap in use.',
        unit: 'bytes',
        width: 6,
        targets: [
          { expr: `process_resident_memory_bytes{${op}}`, legend: '{{instance}} resident' },
          { expr: `nodejs_heap_size_used_bytes{${op}}`, legend: '{{instance}} heap used' },
        ],
      },
      {
        title: 'CPU',
        description: 'CPU cores used by each replica.',
        unit: 'none',
        width: 6,
        targets: [
          { expr: `rate(process_cpu_seconds_total{${op}}[$__rate_interval])`, legend: '{{instance}}' },
        ],
      },
      {
        title: 'Event-loop lag',
        description: 'How late timers and I/O callbacks run: high values delay every reconcile and scrape.',
        unit: 's',
        width: 6,
        targets: [
          { expr: `nodejs_eventloop_lag_p99_seconds{${op}}`, legend: '{{instance}} p99' },
          { expr: `nodejs_eventloop_lag_p50_seconds{${op}}`, legend: '{{instance}} p50' },
        ],
      },
      {
        title: 'Garbage collection',
        description: 'Seconds per second spent collecting garbage, by kind (minor, major, incremental).',
        unit: 's',
        width: 6,
        targets: [
          {
            expr: `sum by (kind) (rate(nodejs_gc_duration_seconds_sum{${op}}[$__rate_interval]))`,
            legend: '{{kind}}',
          },
        ],
      },
    ],
  },
];

/** Grafana variables: the data source, the job, and the ElasticWebs to show. */
function variables() {
  const query = (name: string, label: string, query: string, multi: boolean) => ({
    name,
    label,
    type: 'query',
    datasource,
    query: { query, refId: `${name}-variable` },
    definition: query,
    refresh: 2,
    sort: 1,
    multi,
    includeAll: multi,
    ...(multi ? { allValue: '.*', current: { text: 'All', value: '$__all' } } : {}),
  });
  return [
    { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', refresh: 1 },
    query(
      'job',
      'Job',
      'label_values(controller_runtime_reconcile_total{controller="elasticweb"}, job)',
      false,
    ),
    query('namespace', 'Namespace', `label_values(elasticweb_desired_qps{${op}}, namespace)`, true),
    query(
      'name',
      'ElasticWeb',
      `label_values(elasticweb_desired_qps{${op}, namespace=~"$namespace"}, name)`,
      true,
    ),
  ];
}

/** The dashboard model, ids and positions assigned in order. */
export function dashboard(): Record<string, unknown> {
  let id = 0;
  let y = 0;
  const panels: Record<string, unknown>[] = [];
  for (const row of rows) {
    panels.push({
      id: ++id,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const h = p.type === 'stat' ? 4 : 8;
      if (x + p.width > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push({
        id: ++id,
        type: p.type ?? 'timeseries',
        title: p.title,
        description: p.description,
        datasource,
        gridPos: { h, w: p.width, x, y },
        // A stat over no series (no ElasticWeb Degraded) shows 0 rather than "No data".
        fieldConfig: {
          defaults: { unit: p.unit, ...(p.type === 'stat' ? { noValue: '0' } : {}) },
          overrides: [],
        },
        options:
          p.type === 'stat' || p.type === 'table'
            ? {}
            : {
                legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
                tooltip: { mode: 'multi', sort: 'desc' },
              },
        targets: p.targets.map((t, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource,
          expr: t.expr,
          legendFormat: t.legend,
          ...(t.instant
            ? { instant: true, range: false, format: p.type === 'table' ? 'table' : 'time_series' }
            : { range: true }),
        })),
      });
      x += p.width;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    title: 'ElasticWeb operator',
    uid: 'elasticweb-operator',
    description:
      'The ElasticWeb operator: reconciles, work queue, API requests, process, and each ElasticWeb.',
    tags: ['elasticweb', 'controller-runtime', 'kubernetes'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    annotations: { list: [] },
    templating: { list: variables() },
    panels,
  };
}

/** The file's content: stable key order, two-space indent, trailing newline. */
export function dashboardJson(): string {
  return `${JSON.stringify(dashboard(), null, 2)}\n`;
}
