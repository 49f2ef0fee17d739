/**
 * The Helm chart (dist/chart), made from what kustomize renders of config/default and
 * config/prometheus, so `make deploy` and `helm install` install the same objects: the CRD goes to
 * crds/ (Helm installs it once and never deletes it), every other object becomes a template whose
 * namespace, labels and the manager's settings come from values. The Namespace itself is left out,
 * as Helm charts do: `helm install --namespace X --create-namespace`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { flagSpecs } from '../../src/cmd/flags.ts';
import { block, helm, raw, toTemplate } from './template-yaml.ts';
import { type Defaults, valuesTree, valuesYaml } from './values.ts';

const root = join(import.meta.dirname, '../..');
const chartName = 'elasticweb-operator';
const namePrefix = 'elasticweb-';
const certMountPath = '/var/run/secrets/metrics-certs';

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};
type Container = {
  name: string;
  image: string;
  args?: string[];
  ports?: { name: string; containerPort: number; protocol?: string }[];
  [key: string]: unknown;
};

/** `kubectl kustomize <dir>`: the objects `kubectl apply -k` would create. */
export function kustomize(dir: string): Obj[] {
  const text = execFileSync('kubectl', ['kustomize', join(root, dir)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

/** When each optional object is rendered, by its name without the kustomize prefix. */
const conditions: Record<string, string> = {
  'metrics-auth-role': 'and .Values.metrics.enabled .Values.metrics.secure',
  'metrics-auth-rolebinding': 'and .Values.metrics.enabled .Values.metrics.secure',
  'metrics-reader': 'and .Values.metrics.enabled .Values.metrics.secure',
  'leader-election-role': '.Values.manager.leaderElection.enabled',
  'leader-election-rolebinding': '.Values.manager.leaderElection.enabled',
  'controller-manager-metrics-service': '.Values.metrics.enabled',
  'controller-manager-metrics-monitor':
    'and .Values.metrics.enabled .Values.prometheus.serviceMonitor.enabled',
  'controller-manager-alerts': '.Values.prometheus.rules.enabled',
};

const flagDefault = (name: string) => flagSpecs.find((f) => f.name === name)?.default ?? '';
const shortName = (o: Obj) => o.metadata.name.replace(new RegExp(`^${namePrefix}`), '');

/** The object's own labels (kustomize's "managed-by: kustomize" gives way to Helm's), then the chart's. */
function labelLines(labels: Record<string, string> | undefined, nindent: number): string[] {
  const own = Object.entries(labels ?? {}).filter(([k]) => k !== 'app.kubernetes.io/managed-by');
  return [
    'labels:',
    ...own.map(([k, v]) => `  ${k}: ${stringify(v).trim()}`),
    `  {{- include "${chartName}.labels" . | nindent ${nindent} }}`,
  ];
}

function withMetadata(o: Obj): Obj {
  const { labels, namespace, ...rest } = o.metadata;
  return {
    ...o,
    metadata: {
      ...rest,
      ...(namespace !== undefined ? { namespace: helm('.Release.Namespace') } : {}),
      ...raw(labelLines(labels, 4)),
    },
  };
}

/** Subjects of the chart's own ServiceAccount live in the release namespace. */
function withSubjects(o: Obj): Obj {
  const subjects = o.subjects as { kind: string; namespace?: string }[] | undefined;
  if (!subjects) return o;
  return {
    ...o,
    subjects: subjects.map((s) => (s.namespace ? { ...s, namespace: helm('.Release.Namespace') } : s)),
  };
}

/** The manager's flags: those a value sets are templated, the rest kept as kustomize has them. */
function argLines(kustomizeArgs: string[]): string[] {
  const templated: Record<string, string[]> = {
    'metrics-bind-address': [
      '- --metrics-bind-address={{ if .Values.metrics.enabled }}:{{ .Values.metrics.port }}{{ else }}0{{ end }}',
    ],
    'metrics-secure': [
      '- --metrics-secure={{ .Values.metrics.secure }}',
      '{{- if .Values.metrics.certSecret }}',
      `- --metrics-cert-dir=${certMountPath}`,
      '{{- end }}',
    ],
    'leader-elect': ['- --leader-elect={{ .Values.manager.leaderElection.enabled }}'],
    'max-concurrent-reconciles': [
      '- --max-concurrent-reconciles={{ .Values.manager.maxConcurrentReconciles }}',
    ],
    namespace: ['{{- with .Values.manager.watchNamespace }}', '- --namespace={{ . }}', '{{- end }}'],
    'log-level': ['- --log-level={{ .Values.manager.logLevel }}'],
    'log-format': ['- --log-format={{ .Values.manager.logFormat }}'],
    'prometheus-url': [
      '{{- with .Values.autopilot.prometheusURL }}',
      '- --prometheus-url={{ . }}',
      '{{- end }}',
    ],
  };
  const flagOf = (arg: string) => /^--([a-z-]+)/.exec(arg)?.[1] ?? arg;
  const kept = kustomizeArgs.filter((a) => !(flagOf(a) in templated)).map((a) => `- ${a}`);
  return ['args:', ...[...Object.values(templated).flat(), ...kept].map((l) => `  ${l}`)];
}

function managerDeployment(o: Obj): Obj {
  const spec = o.spec as {
    replicas: number;
    template: { metadata: { labels: Record<string, string> }; spec: Obj };
  };
  const podSpec = spec.template.spec as unknown as { containers: Container[]; [k: string]: unknown };
  const containers = podSpec.containers.map((c) => {
    if (c.name !== 'manager') return c;
    const other = (c.ports ?? []).filter((p) => p.name !== 'metrics');
    // The container's name first, as people write it (kustomize sorts keys).
    const out: Record<string, unknown> = { name: c.name };
    for (const [key, value] of Object.entries(c)) {
      if (key === 'name') continue;
      else if (key === 'image') {
        out.image = `${helm('.Values.manager.image.repository')}:${helm('.Values.manager.image.tag | default .Chart.AppVersion')}`;
        out.imagePullPolicy = helm('.Values.manager.image.pullPolicy');
      } else if (key === 'args') Object.assign(out, raw(argLines(value as string[])));
      else if (key === 'ports')
        Object.assign(
          out,
          raw([
            'ports:',
            '  {{- if .Values.metrics.enabled }}',
            '  - name: metrics',
            '    containerPort: {{ .Values.metrics.port }}',
            '    protocol: TCP',
            '  {{- end }}',
            ...stringify(other)
              .trimEnd()
              .split('\n')
              .map((l) => `  ${l}`),
          ]),
        );
      else if (key === 'resources') out.resources = block('toYaml .Values.manager.resources');
      else out[key] = value;
    }
    Object.assign(
      out,
      raw([
        '{{- if .Values.metrics.certSecret }}',
        'volumeMounts:',
        '  - name: metrics-certs',
        `    mountPath: ${certMountPath}`,
        '    readOnly: true',
        '{{- end }}',
      ]),
    );
    return out;
  });
  const { labels: podLabels, ...podMeta } = spec.template.metadata;
  return {
    ...withMetadata(o),
    spec: {
      ...spec,
      replicas: helm('.Values.manager.replicas'),
      template: {
        metadata: {
          ...podMeta,
          ...raw([
            'labels:',
            ...Object.entries(podLabels).map(([k, v]) => `  ${k}: ${stringify(v).trim()}`),
            '  {{- with .Values.extraLabels }}',
            '  {{- toYaml . | nindent 8 }}',
            '  {{- end }}',
          ]),
        },
        spec: {
          ...podSpec,
          containers,
          ...raw([
            '{{- with .Values.metrics.certSecret }}',
            'volumes:',
            '  - name: metrics-certs',
            '    secret:',
            '      secretName: {{ . }}',
            '{{- end }}',
          ]),
        },
      },
    },
  };
}

function metricsService(o: Obj): Obj {
  const spec = o.spec as { ports: { name: string }[] };
  return {
    ...withMetadata(o),
    spec: {
      ...spec,
      ports: spec.ports.map((p) => ({
        ...p,
        name: helm('ternary "https" "http" .Values.metrics.secure'),
        port: helm('.Values.metrics.port'),
      })),
    },
  };
}

function serviceMonitor(o: Obj): Obj {
  const spec = o.spec as { endpoints: Record<string, unknown>[] };
  return {
    ...withMetadata(o),
    spec: {
      ...spec,
      endpoints: spec.endpoints.map(({ scheme: _s, port: _p, bearerTokenFile, tlsConfig, ...rest }) => ({
        ...rest,
        port: helm('ternary "https" "http" .Values.metrics.secure'),
        scheme: helm('ternary "https" "http" .Values.metrics.secure'),
        ...raw([
          '{{- if .Values.metrics.secure }}',
          ...stringify({ bearerTokenFile, tlsConfig }).trimEnd().split('\n'),
          '{{- end }}',
        ]),
      })),
    },
  };
}

/** Alert annotations keep Prometheus's own {{ }} templates (Helm must not read them) and take the runbook base from values. */
function prometheusRule(o: Obj, runbookBaseURL: string): Obj {
  const spec = o.spec as { groups: { rules: { annotations?: Record<string, string> }[] }[] };
  const groups = spec.groups.map((g) => ({
    ...g,
    rules: g.rules.map((r) => ({
      ...r,
      annotations: Object.fromEntries(
        Object.entries(r.annotations ?? {}).map(([k, v]) => {
          if (k === 'runbook_url') {
            if (!v.startsWith(runbookBaseURL)) throw new Error(`${v} does not start with ${runbookBaseURL}`);
            return [k, `${helm('.Values.prometheus.rules.runbookBaseURL')}${v.slice(runbookBaseURL.length)}`];
          }
          return [k, v.replace(/\{\{(.*?)\}\}/g, '{{`{{$1}}`}}')];
        }),
      ),
    })),
  }));
  return { ...withMetadata(o), spec: { ...spec, groups } };
}

const helpers = `{{/* Labels every object of the release carries on top of its own: Helm's, then .Values.extraLabels. */}}
{{- define "${chartName}.labels" -}}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
`;

const generatedNote = 'Generated by `make helm` (hack/helm/generate.ts) from config/; do not edit.';

/** Every file of the chart, by path inside it. */
export function chartFiles(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string;
    description: string;
  };
  const objects = [...kustomize('config/default'), ...kustomize('config/prometheus')];
  const deployment = objects.find((o) => o.kind === 'Deployment');
  if (!deployment) throw new Error('config/default renders no Deployment');
  const podSpec = (deployment.spec as { template: { spec: { containers: Container[] } } }).template.spec;
  const manager = podSpec.containers.find((c) => c.name === 'manager');
  if (!manager) throw new Error('the Deployment has no manager container');
  const args = manager.args ?? [];
  const metricsAddress = args.find((a) => a.startsWith('--metrics-bind-address='));
  const metricsPort = Number(/:(\d+)$/.exec(metricsAddress ?? '')?.[1]);
  if (!metricsPort) throw new Error(`the manager serves no metrics port (${metricsAddress})`);
  const [repository, tag = 'latest'] = manager.image.split(/:(?=[^/:]+$)/) as [string, string?];
  const rules = objects.find((o) => o.kind === 'PrometheusRule');
  const firstRunbook = (rules?.spec as { groups: { rules: { annotations: { runbook_url: string } }[] }[] })
    ?.groups[0]?.rules[0]?.annotations.runbook_url;
  const runbookBaseURL = (firstRunbook ?? '').replace(/[^/]+$/, '');
  const defaults: Defaults = {
    image: { repository, tag },
    replicas: (deployment.spec as { replicas: number }).replicas,
    leaderElection: args.includes('--leader-elect'),
    resources: manager.resources,
    metricsPort,
    metricsSecure: flagDefault('metrics-secure') === 'true',
    maxConcurrentReconciles: Number(flagDefault('max-concurrent-reconciles')),
    logLevel: flagDefault('log-level'),
    logFormat: flagDefault('log-format'),
    runbookBaseURL,
  };

  const files: Record<string, string> = {
    'Chart.yaml': `# ${generatedNote}\n${stringify({
      apiVersion: 'v2',
      name: chartName,
      description: pkg.description,
      type: 'application',
      version: pkg.version,
      appVersion: pkg.version,
      keywords: ['operator', 'kubernetes', 'autoscaling'],
    })}`,
    'values.yaml': valuesYaml(
      valuesTree(defaults),
      `Values of the ${chartName} chart. ${generatedNote}\nThe defaults install what \`make deploy\` installs.`,
    ),
    'templates/_helpers.tpl': helpers,
    '.helmignore': '# Nothing but the chart is packaged.\n*.orig\n*.swp\n',
  };
  for (const o of objects) {
    if (o.kind === 'Namespace') continue;
    if (o.kind === 'CustomResourceDefinition') {
      const { labels, ...meta } = o.metadata;
      const kept = Object.fromEntries(
        Object.entries(labels ?? {}).filter(([k]) => k !== 'app.kubernetes.io/managed-by'),
      );
      files[`crds/${o.metadata.name}.yaml`] =
        `# ${generatedNote}\n${stringify({ ...o, metadata: { ...meta, labels: kept } }, { lineWidth: 0 })}`;
      continue;
    }
    let templated: Obj;
    if (o.kind === 'Deployment') templated = managerDeployment(o);
    else if (o.kind === 'Service') templated = metricsService(o);
    else if (o.kind === 'ServiceMonitor') templated = serviceMonitor(o);
    else if (o.kind === 'PrometheusRule') templated = prometheusRule(o, runbookBaseURL);
    else templated = withSubjects(withMetadata(o));
    const condition = conditions[shortName(o)];
    const body = toTemplate(templated).trimEnd();
    const file = `templates/${o.kind.toLowerCase()}-${shortName(o)}.yaml`;
    files[file] = `# ${generatedNote}\n${condition ? `{{- if ${condition} }}\n${body}\n{{- end }}` : body}\n`;
  }
  return files;
}
