/**
 * The chart's values: each with its default (read from what kustomize renders, or the operator's
 * flag defaults) and the comment a user reads in values.yaml. One list, so values.yaml, the templates
 * and docs/observability.md's table (checked by test/unit/helm-chart.test.ts) cannot disagree.
 */
import { stringify } from 'yaml';

export interface Leaf {
  value: unknown;
  help: string;
}
export type ValuesTree = { [key: string]: Leaf | ValuesTree };

const isLeaf = (node: Leaf | ValuesTree): node is Leaf => 'help' in node && 'value' in node;

export interface Defaults {
  image: { repository: string; tag: string };
  replicas: number;
  leaderElection: boolean;
  resources: unknown;
  metricsPort: number;
  metricsSecure: boolean;
  maxConcurrentReconciles: number;
  logLevel: string;
  logFormat: string;
  runbookBaseURL: string;
}

export function valuesTree(d: Defaults): ValuesTree {
  return {
    manager: {
      image: {
        repository: {
          value: d.image.repository,
          help: 'The operator image (make docker-build docker-push IMG=...).',
        },
        tag: { value: d.image.tag, help: "The image tag; empty means the chart's appVersion." },
        pullPolicy: { value: 'IfNotPresent', help: 'imagePullPolicy of the manager container.' },
      },
      replicas: {
        value: d.replicas,
        help: 'Manager pods. One with leader election, as kubebuilder scaffolds it; 2 keeps a warm standby.',
      },
      leaderElection: {
        enabled: {
          value: d.leaderElection,
          help: 'Only the holder of a Lease reconciles (--leader-elect). Keep it on with more than one replica.',
        },
      },
      maxConcurrentReconciles: {
        value: d.maxConcurrentReconciles,
        help: 'ElasticWebs reconciled at once (--max-concurrent-reconciles, 1-1000).',
      },
      watchNamespace: { value: '', help: 'Watch one namespace only (--namespace); empty: every namespace.' },
      logLevel: {
        value: d.logLevel,
        help: 'trace, debug, info, warn, error, fatal or silent (--log-level).',
      },
      logFormat: { value: d.logFormat, help: 'json lines, or text for people (--log-format).' },
      resources: { value: d.resources, help: 'Requests and limits of the manager container.' },
    },
    autopilot: {
      prometheusURL: {
        value: '',
        help: 'The Prometheus that measures traffic for ElasticWebs in Observed mode (--prometheus-url), e.g. http://prometheus-operated.monitoring:9090; empty: they hold their replicas and report MetricUnavailable.',
      },
    },
    metrics: {
      enabled: { value: true, help: 'Serve /metrics (--metrics-bind-address) and create its Service.' },
      port: { value: d.metricsPort, help: 'Port of /metrics, in the pod and on the Service.' },
      secure: {
        value: d.metricsSecure,
        help: 'HTTPS, each scrape authenticated (TokenReview) and authorized (SubjectAccessReview for get on /metrics): bind ClusterRole elasticweb-metrics-reader to the scraper. false: plain HTTP to anyone who reaches the port.',
      },
      certSecret: {
        value: '',
        help: 'A Secret with tls.crt and tls.key for /metrics (a cert-manager Certificate makes one), re-read when it changes; empty: a self-signed certificate.',
      },
    },
    prometheus: {
      serviceMonitor: {
        enabled: {
          value: false,
          help: 'A ServiceMonitor scraping /metrics (needs the Prometheus Operator CRDs).',
        },
      },
      rules: {
        enabled: {
          value: false,
          help: 'The alerting rules, a PrometheusRule (needs the Prometheus Operator CRDs).',
        },
        runbookBaseURL: {
          value: d.runbookBaseURL,
          help: "Where docs/runbooks/ is served: each alert's runbook_url is this followed by <AlertName>.md.",
        },
      },
    },
    extraLabels: { value: {}, help: 'Labels added to every object of the chart and to the manager pods.' },
  };
}

/** Every leaf with its dotted path, in order. */
export function leaves(tree: ValuesTree, prefix = ''): [string, Leaf][] {
  return Object.entries(tree).flatMap(([key, node]) =>
    isLeaf(node) ? [[`${prefix}${key}`, node] as [string, Leaf]] : leaves(node, `${prefix}${key}.`),
  );
}

/** values.yaml: each leaf under its comment. */
export function valuesYaml(tree: ValuesTree, header: string): string {
  const lines: string[] = header.split('\n').map((l) => (l ? `# ${l}` : '#'));
  const walk = (node: ValuesTree, indent: string) => {
    for (const [key, child] of Object.entries(node)) {
      if (isLeaf(child)) {
        if (indent === '') lines.push('');
        lines.push(`${indent}# ${child.help}`);
        const value = child.value;
        if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
          lines.push(`${indent}${key}:`);
          for (const l of stringify(value).trimEnd().split('\n')) lines.push(`${indent}  ${l}`);
        } else {
          lines.push(`${indent}${key}: ${stringify(value).trim()}`);
        }
      } else {
        if (indent === '') lines.push('');
        lines.push(`${indent}${key}:`);
        walk(child, `${indent}  `);
      }
    }
  };
  walk(tree, '');
  return `${lines.join('\n')}\n`;
}
