/**
 * The manager's flags, kubebuilder's set. Each flag can also be given as an environment variable
 * (the flag wins); --help lists both.
 */
import { parseArgs } from 'node:util';
import type { LogFormat, LogLevel } from '../runtime/index.ts';

export interface Flags {
  metricsBindAddress: string;
  metricsSecure: boolean;
  metricsCertDir: string | undefined;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string | undefined;
  leaderElectionId: string;
  maxConcurrentReconciles: number;
  namespace: string | undefined;
  kubeconfig: string | undefined;
  watchTimeoutSeconds: number | undefined;
  prometheusUrl: string | undefined;
  autoscalingIntervalSeconds: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  help: boolean;
}

interface FlagSpec {
  name: string;
  env: string;
  type: 'string' | 'boolean';
  default: string;
  help: string;
}

export const flagSpecs: FlagSpec[] = [
  {
    name: 'metrics-bind-address',
    env: 'METRICS_BIND_ADDRESS',
    type: 'string',
    // kubebuilder's default: off unless asked for. The manifests bind :8443 (HTTPS); a local run
    // that wants plain metrics passes --metrics-bind-address=:8080 --metrics-secure=false.
    default: '0',
    help: 'Address the /metrics endpoint binds to: ":8443" for HTTPS, ":8080" for HTTP; "0" turns it off.',
  },
  {
    name: 'metrics-secure',
    env: 'METRICS_SECURE',
    type: 'boolean',
    default: 'true',
    help: 'Serve /metrics over HTTPS, each request authenticated (TokenReview) and authorized (SubjectAccessReview: get on /metrics); --metrics-secure=false serves plain HTTP to anyone.',
  },
  {
    name: 'metrics-cert-dir',
    env: 'METRICS_CERT_DIR',
    type: 'string',
    default: '',
    help: 'Directory holding tls.crt and tls.key for the metrics server, re-read when they change (default: a self-signed certificate).',
  },
  {
    name: 'health-probe-bind-address',
    env: 'HEALTH_PROBE_BIND_ADDRESS',
    type: 'string',
    default: ':8081',
    help: 'Address the /healthz and /readyz endpoints bind to; "0" turns them off.',
  },
  {
    name: 'leader-elect',
    env: 'LEADER_ELECT',
    type: 'boolean',
    default: 'false',
    help: 'Elect a leader on a Lease so only one replica reconciles at a time.',
  },
  {
    name: 'leader-election-namespace',
    env: 'LEADER_ELECTION_NAMESPACE',
    type: 'string',
    default: '',
    help: "Namespace of the leader election Lease (default: the pod's own namespace in a cluster).",
  },
  {
    name: 'leader-election-id',
    env: 'LEADER_ELECTION_ID',
    type: 'string',
    default: 'elasticweb-operator.elasticweb.example.com',
    help: 'Name of the leader election Lease.',
  },
  {
    name: 'max-concurrent-reconciles',
    env: 'MAX_CONCURRENT_RECONCILES',
    type: 'string',
    default: '5',
    help: 'ElasticWebs reconciled at once (one ElasticWeb is never reconciled twice at once).',
  },
  {
    name: 'namespace',
    env: 'WATCH_NAMESPACE',
    type: 'string',
    default: '',
    help: 'Watch only this namespace (default: all namespaces).',
  },
  {
    name: 'kubeconfig',
    env: 'KUBECONFIG',
    type: 'string',
    default: '',
    help: 'Path to a kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster ServiceAccount).',
  },
  {
    name: 'watch-timeout',
    env: 'WATCH_TIMEOUT',
    type: 'string',
    default: '',
    help: 'Seconds each watch stays open before it is renewed from where it left off (default: random 300-600, as client-go). Lower it behind proxies that cut long requests.',
  },
  {
    name: 'prometheus-url',
    env: 'PROMETHEUS_URL',
    type: 'string',
    default: '',
    help: 'Prometheus server whose HTTP API measures the traffic of ElasticWebs in Observed mode (e.g. http://prometheus.monitoring:9090). Without it they hold their replicas and report MetricUnavailable.',
  },
  {
    name: 'autoscaling-interval',
    env: 'AUTOSCALING_INTERVAL',
    type: 'string',
    default: '10',
    help: 'Seconds between two measurements of an ElasticWeb in Observed mode.',
  },
  {
    name: 'log-level',
    env: 'LOG_LEVEL',
    type: 'string',
    default: 'info',
    help: 'trace, debug, info, warn, error, fatal or silent.',
  },
  {
    name: 'log-format',
    env: 'LOG_FORMAT',
    type: 'string',
    default: 'json',
    help: 'json (one JSON object per line) or text (readable lines).',
  },
];

export function usage(): string {
  const lines = [
    'Usage: elasticweb-operator [flags]',
    '',
    'Flags (each also read from the environment variable shown):',
  ];
  for (const f of flagSpecs) {
    const arg = f.type === 'boolean' ? `--${f.name}[=true|false]` : `--${f.name}=<value>`;
    const def = f.default === '' ? '' : ` (default ${f.default})`;
    lines.push(`  ${arg.padEnd(38)} ${f.help}${def}`, `  ${''.padEnd(38)} env: ${f.env}`);
  }
  lines.push(`  ${'--help'.padEnd(38)} Show this help.`);
  return lines.join('\n');
}

const levels: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Parses argv (without node and the script) and the environment; throws with a clear message on bad input. */
export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): Flags {
  const options = Object.fromEntries(
    flagSpecs.map((f) => [f.name, { type: f.type }]).concat([['help', { type: 'boolean' }]]),
  ) as Record<string, { type: 'string' | 'boolean' }>;
  // A boolean flag may carry a value, as Go's flag package allows (--leader-elect=false), so that the
  // command line can override the environment; parseArgs does not take one, so those are read here.
  const explicit = new Map<string, string>();
  const rest = argv.filter((arg) => {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    const spec = m && flagSpecs.find((f) => f.name === m[1] && f.type === 'boolean');
    if (!spec || !m) return true;
    explicit.set(spec.name, m[2] as string);
    return false;
  });
  const { values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false });
  const get = (name: string): string => {
    const spec = flagSpecs.find((f) => f.name === name) as FlagSpec;
    const flag = explicit.get(name) ?? values[name];
    if (flag !== undefined) return String(flag);
    return env[spec.env] ?? spec.default;
  };
  const bool = (name: string): boolean => {
    const v = get(name).toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no', ''].includes(v)) return false;
    throw new Error(`--${name} must be true or false, not "${v}"`);
  };
  const max = Number(get('max-concurrent-reconciles'));
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw new Error(
      `--max-concurrent-reconciles must be an integer from 1 to 1000, not "${get('max-concurrent-reconciles')}"`,
    );
  }
  const watchTimeout = get('watch-timeout');
  const watchTimeoutSeconds = watchTimeout === '' ? undefined : Number(watchTimeout);
  if (
    watchTimeoutSeconds !== undefined &&
    (!Number.isInteger(watchTimeoutSeconds) || watchTimeoutSeconds < 1)
  ) {
    throw new Error(`--watch-timeout must be a whole number of seconds, at least 1, not "${watchTimeout}"`);
  }
  const prometheusUrl = get('prometheus-url') || undefined;
  if (prometheusUrl !== undefined && !/^https?:\/\/[^/\s]+/.test(prometheusUrl)) {
    throw new Error(`--prometheus-url must be an http:// or https:// URL, not "${prometheusUrl}"`);
  }
  const interval = Number(get('autoscaling-interval'));
  if (!Number.isFinite(interval) || interval < 1 || interval > 3600) {
    throw new Error(
      `--autoscaling-interval must be a number of seconds from 1 to 3600, not "${get('autoscaling-interval')}"`,
    );
  }
  const logLevel = get('log-level') as LogLevel;
  if (!levels.includes(logLevel)) throw new Error(`--log-level must be one of ${levels.join(', ')}`);
  const logFormat = get('log-format') as LogFormat;
  if (logFormat !== 'json' && logFormat !== 'text') throw new Error('--log-format must be json or text');
  return {
    metricsBindAddress: get('metrics-bind-address'),
    metricsSecure: bool('metrics-secure'),
    metricsCertDir: get('metrics-cert-dir') || undefined,
    healthProbeBindAddress: get('health-probe-bind-address'),
    leaderElect: bool('leader-elect'),
    leaderElectionNamespace: get('leader-election-namespace') || undefined,
    leaderElectionId: get('leader-election-id'),
    maxConcurrentReconciles: max,
    namespace: get('namespace') || undefined,
    kubeconfig: get('kubeconfig') || undefined,
    watchTimeoutSeconds,
    prometheusUrl,
    autoscalingIntervalSeconds: interval,
    logLevel,
    logFormat,
    help: values.help === true,
  };
}
