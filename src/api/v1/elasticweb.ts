/**
 * The ElasticWeb API, version v1, as the operator uses it at run time: names, defaults and types.
 * The schema itself (and so the CRD) is in schema.ts; the types here come from it, type-only.
 */
import type { Condition, ElasticWebSpec, ElasticWebStatus, ResourceRequirements } from './schema.ts';

export type { Condition, ElasticWebSpec, ElasticWebStatus, ResourceRequirements };

export const group = 'elasticweb.example.com';
export const version = 'v1';
export const apiVersion = `${group}/${version}`;
export const kind = 'ElasticWeb';
export const plural = 'elasticwebs';
export const singular = 'elasticweb';
export const shortNames = ['ew'];

/** How the API server addresses ElasticWebs (the runtime's ResourceType shape). */
export const elasticWebType = { apiVersion, kind, plural, namespaced: true } as const;

/** Defaults for what the seed article hard-coded, and for what it left out. */
export const defaults = {
  containerPort: 80,
  maxReplicas: 100,
  resources: {
    requests: { cpu: '100m', memory: '512Mi' },
    limits: { cpu: '100m', memory: '512Mi' },
  },
  /** Ready only once the server answers: GET / on the container port, checked every 2 s. */
  readinessProbe: { httpGet: { path: '/' }, periodSeconds: 2, failureThreshold: 2, timeoutSeconds: 1 },
  /**
   * A stopping pod keeps serving this long, while the endpoints and kube-proxy drop it. 10 s, not 5:
   * with 5, a 5 -> 1 scale-down on the real node once met 11 refused connections as the pods exited
   * (CI); with 10, rarer (1 in 1,740, once in four runs). The cause is not found (README, "The
   * workload").
   */
  preStopDelaySeconds: 10,
  terminationGracePeriodSeconds: 30,
  /**
   * Least privilege that stock web server images (nginx: a root master that binds :80 and switches
   * its workers to an unprivileged user) still run with; images that run as non-root can say so.
   */
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'], add: ['CHOWN', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  autoscaling: { mode: 'Declared', targetUtilization: 80, scaleDownStabilizationSeconds: 300 },
  /**
   * Observed mode's sidecar that turns nginx's stub_status into nginx_http_requests_total. The image is
   * the nginx Prometheus exporter's (the local cluster builds a stand-in of that name).
   */
  exporter: {
    image: 'nginx/nginx-prometheus-exporter:0.11.0',
    stubStatusURL: 'http://127.0.0.1:8080/stub_status',
    port: 9113,
  },
} as const;

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ElasticWeb {
  apiVersion: typeof apiVersion;
  kind: typeof kind;
  metadata: ObjectMeta;
  spec: ElasticWebSpec;
  status?: ElasticWebStatus;
}
