/**
 * What an ElasticWeb asks for, as pure functions: the replica count, and the Deployment and Service
 * the operator applies (server-side apply configurations: only the fields the operator owns).
 */
import { apiVersion, defaults, type ElasticWeb, kind } from '../../api/v1/elasticweb.ts';

/**
 * The operator's name: the field manager of every write it makes, its event source and user agent.
 * The manager is given it (src/cmd), so every write carries it.
 */
export const fieldManager = 'elasticweb-operator';

/**
 * Where only the operator's entries belong (see the runtime's drift.ts): the selectors, because an
 * extra key selects other pods, and the ports, because an extra one exposes or expects another port.
 * Everything else may carry what others add (labels, annotations, sidecars, default limits).
 */
export const deploymentExact: ReadonlySet<string> = new Set([
  'spec.selector.matchLabels',
  'spec.template.spec.containers[].ports',
]);
export const serviceExact: ReadonlySet<string> = new Set(['spec.selector', 'spec.ports']);
export const disruptionBudgetExact: ReadonlySet<string> = new Set(['spec.selector.matchLabels']);
/**
 * Where fields the operator set once and the spec no longer names are deleted: the resource lists,
 * the probe, the pre-stop hook and the security context. Not elsewhere: a create also owns the values
 * the server defaulted (imagePullPolicy, dnsPolicy...), which must stay.
 */
export const deploymentPrune: readonly string[] = [
  // Whole containers we added once (the exporter sidecar of Observed mode), and our scrape annotations.
  'spec.template.spec.containers[]',
  'spec.template.metadata.annotations',
  'spec.template.spec.containers[].resources',
  'spec.template.spec.containers[].readinessProbe',
  'spec.template.spec.containers[].lifecycle',
  'spec.template.spec.containers[].securityContext',
];

/** On every object the operator creates; the caches watch only objects carrying it. */
export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'elasticweb-operator';
/** The ElasticWeb an object belongs to; the pod selector, so two ElasticWebs never share pods. */
export const instanceLabel = 'elasticweb.example.com/instance';

export const containerName = 'web';
export const portName = 'http';

export interface ReplicaPlan {
  /** Replicas the Deployment gets. */
  replicas: number;
  /** ceil(totalQPS / singlePodsQPS): what totalQPS needs, before maxReplicas. */
  needed: number;
  maxReplicas: number;
  /** True when maxReplicas lowered the count. */
  capped: boolean;
}

/**
 * replicas = min(ceil(totalQPS / singlePodsQPS), maxReplicas); an absent totalQPS is 0.
 * The API server already refuses singlePodsQPS < 1 and totalQPS < 0; the guards here keep the
 * function total for any input (the seed article divided by singlePodsQPS unchecked).
 */
export function replicaPlan(spec: ElasticWeb['spec']): ReplicaPlan {
  const total = Math.max(0, spec.totalQPS ?? 0);
  const single = Math.max(1, spec.singlePodsQPS);
  const maxReplicas = spec.maxReplicas ?? defaults.maxReplicas;
  const needed = Math.ceil(total / single);
  return { replicas: Math.min(needed, maxReplicas), needed, maxReplicas, capped: needed > maxReplicas };
}

export function selectorLabels(ew: ElasticWeb): Record<string, string> {
  return { [instanceLabel]: ew.metadata.name };
}

export function objectLabels(ew: ElasticWeb): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'elasticweb',
    'app.kubernetes.io/instance': ew.metadata.name,
    [managedByLabel]: managedByValue,
    [instanceLabel]: ew.metadata.name,
  };
}

export function controllerReference(ew: ElasticWeb) {
  return {
    apiVersion,
    kind,
    name: ew.metadata.name,
    uid: ew.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function metadata(ew: ElasticWeb) {
  return {
    name: ew.metadata.name,
    namespace: ew.metadata.namespace,
    labels: objectLabels(ew),
    ownerReferences: [controllerReference(ew)],
  };
}

export function containerPort(ew: ElasticWeb): number {
  return ew.spec.containerPort ?? defaults.containerPort;
}

type Json = Record<string, unknown>;

export interface WebContainer {
  name: string;
  image: string;
  ports: { name: string; containerPort: number; protocol: 'TCP' }[];
  resources: { requests: Record<string, string | number>; limits: Record<string, string | number> };
  readinessProbe: Json;
  lifecycle?: { preStop: { sleep: { seconds: number } } };
  securityContext: Json;
}

export interface DesiredDeployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ReturnType<typeof metadata>;
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    strategy: { type: 'RollingUpdate'; rollingUpdate: { maxUnavailable: number; maxSurge: string } };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        /** The web container first; in Observed mode the exporter sidecar after it. */
        containers: [WebContainer, ...Json[]];
      };
    };
  };
}

/** What the API server fills into a probe left unsaid (so the desired probe already holds it: no drift, nothing to prune). */
const probeDefaults = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 };

/**
 * The readiness probe: the spec's, or GET / every 2 s; the port defaults to the container port, so a
 * pod counts as Ready (gets traffic, counts toward realQPS) only once the server really answers.
 * Every field the API server would default is spelled out.
 */
export function readinessProbe(ew: ElasticWeb): Json {
  const probe = (ew.spec.readinessProbe ?? defaults.readinessProbe) as Json & {
    httpGet?: { path?: string; port?: number; scheme?: string };
    tcpSocket?: { port?: number };
  };
  const port = containerPort(ew);
  const { httpGet, tcpSocket, ...timing } = probe;
  const handler = tcpSocket
    ? { tcpSocket: { port: tcpSocket.port ?? port } }
    : {
        httpGet: {
          path: httpGet?.path ?? '/',
          port: httpGet?.port ?? port,
          scheme: httpGet?.scheme ?? 'HTTP',
        },
      };
  // The API server drops a zero initialDelaySeconds (omitempty): leave it out too.
  const { initialDelaySeconds, ...rest } = timing as { initialDelaySeconds?: number };
  return { ...handler, ...probeDefaults, ...rest, ...(initialDelaySeconds ? { initialDelaySeconds } : {}) };
}

/**
 * replicas from the plan (Declared: from totalQPS; Observed: from the autoscaler). Rollouts keep
 * capacity: a new pod must be Ready before an old one goes (maxUnavailable 0). A stopping pod sleeps
 * preStopDelaySeconds first, still serving, while the endpoints drop it, then nginx gets its SIGTERM.
 */
export function desiredDeployment(
  ew: ElasticWeb,
  replicas = replicaPlan(ew.spec).replicas,
): DesiredDeployment {
  const resources = ew.spec.resources ?? defaults.resources;
  const preStop = ew.spec.preStopDelaySeconds ?? defaults.preStopDelaySeconds;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(ew),
    spec: {
      replicas,
      selector: { matchLabels: selectorLabels(ew) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: {
          labels: objectLabels(ew),
          ...(observed(ew) ? { annotations: scrapeAnnotations(ew) } : {}),
        },
        spec: {
          terminationGracePeriodSeconds:
            ew.spec.terminationGracePeriodSeconds ?? defaults.terminationGracePeriodSeconds,
          containers: [
            {
              name: containerName,
              image: ew.spec.image,
              // TCP: the seed article declared SCTP, which no web server speaks.
              ports: [{ name: portName, containerPort: containerPort(ew), protocol: 'TCP' }],
              // Both maps, even empty: leftovers of an earlier spec are found under them (see deploymentPrune).
              resources: { requests: { ...resources.requests }, limits: { ...resources.limits } },
              readinessProbe: readinessProbe(ew),
              // The sleep action needs nothing in the image (no shell, no sleep binary).
              ...(preStop > 0 ? { lifecycle: { preStop: { sleep: { seconds: preStop } } } } : {}),
              securityContext: structuredClone(ew.spec.securityContext ?? defaults.securityContext) as Json,
            },
            ...(observed(ew) && exporterEnabled(ew) ? [exporterContainer(ew)] : []),
          ],
        },
      },
    },
  };
}

/** In Observed mode, replicas follow traffic measured by Prometheus (see autoscaling/). */
export function observed(ew: ElasticWeb): boolean {
  return (ew.spec.autoscaling?.mode ?? defaults.autoscaling.mode) === 'Observed';
}

function exporterEnabled(ew: ElasticWeb): boolean {
  return ew.spec.autoscaling?.exporter?.enabled ?? true;
}

export const exporterContainerName = 'metrics-exporter';

/** The port Prometheus scrapes: the exporter's, or the web container's own when there is no exporter. */
export function metricsPort(ew: ElasticWeb): number {
  return (
    ew.spec.autoscaling?.metricsPort ?? (exporterEnabled(ew) ? defaults.exporter.port : containerPort(ew))
  );
}

/** The annotations the usual "kubernetes-pods" scrape job reads (the local cluster's Prometheus does). */
function scrapeAnnotations(ew: ElasticWeb): Record<string, string> {
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(metricsPort(ew)),
    'prometheus.io/path': '/metrics',
  };
}

/**
 * The exporter sidecar: reads nginx's stub_status over the pod's loopback and serves
 * nginx_http_requests_total. Small, unprivileged, read-only. It stops with the pod, after the web
 * container's pre-stop delay (both get their SIGTERM then).
 */
function exporterContainer(ew: ElasticWeb): Json {
  const e = ew.spec.autoscaling?.exporter ?? {};
  const port = metricsPort(ew);
  return {
    name: exporterContainerName,
    image: e.image ?? defaults.exporter.image,
    args: [
      `--nginx.scrape-uri=${e.stubStatusURL ?? defaults.exporter.stubStatusURL}`,
      `--web.listen-address=:${port}`,
    ],
    ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      runAsUser: 65534,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

export interface DesiredDisruptionBudget {
  apiVersion: 'policy/v1';
  kind: 'PodDisruptionBudget';
  metadata: ReturnType<typeof metadata>;
  spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
}

/**
 * At most one pod at a time may be evicted (a node drain), so a drain never takes more capacity than
 * one pod. Only while there are pods: with 0 replicas the budget would only block nothing.
 */
export function desiredDisruptionBudget(ew: ElasticWeb): DesiredDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(ew),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(ew) } },
  };
}

export interface DesiredService {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ReturnType<typeof metadata>;
  spec: {
    type: 'NodePort';
    selector: Record<string, string>;
    ports: { name: string; protocol: 'TCP'; port: number; targetPort: number; nodePort?: number }[];
  };
}

export function desiredService(ew: ElasticWeb): DesiredService {
  const port = containerPort(ew);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(ew),
    spec: {
      type: 'NodePort',
      selector: selectorLabels(ew),
      ports: [
        {
          name: portName,
          protocol: 'TCP',
          port,
          targetPort: port,
          // Absent: the API server assigns a free NodePort and keeps it.
          ...(ew.spec.port !== undefined ? { nodePort: ew.spec.port } : {}),
        },
      ],
    },
  };
}
