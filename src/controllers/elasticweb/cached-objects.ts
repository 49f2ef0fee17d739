/**
 * The shapes the ElasticWeb controller keeps in its caches, and the transforms that cut API objects
 * down to them. The drift check compares desired objects against these, so each transform must keep
 * every field desired.ts sets; everything else (managedFields, annotations, pod spec defaults,
 * conditions) is dropped to keep memory small with thousands of objects.
 */
import type { ElasticWeb } from '../../api/v1/elasticweb.ts';
import { intern, type KubeObject } from '../../runtime/index.ts';

type Meta = KubeObject['metadata'] & { generation?: number };

export interface CachedDeployment extends KubeObject {
  metadata: Meta;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    strategy?: Record<string, unknown>;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: { terminationGracePeriodSeconds?: number; containers?: Record<string, unknown>[] };
    };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
  };
}

export interface CachedService extends KubeObject {
  metadata: Meta;
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: {
      name?: string;
      protocol?: string;
      port?: number;
      targetPort?: number | string;
      nodePort?: number;
    }[];
  };
}

/** Label values and owner references repeat across thousands of objects: one copy each (intern). */
function internLabels(labels: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!labels) return labels;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) out[k] = intern(v);
  return out;
}

function meta(m: Meta): Meta {
  return {
    name: m.name,
    namespace: m.namespace === undefined ? undefined : intern(m.namespace),
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    generation: m.generation,
    labels: internLabels(m.labels),
    ownerReferences: m.ownerReferences?.map((r) => ({
      ...r,
      apiVersion: intern(r.apiVersion),
      kind: intern(r.kind),
      name: r.name,
    })),
    ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
  };
}

/**
 * The container fields desired.ts sets (the drift check reads them from the cache). One object
 * literal, not an object built key by key: V8 gives a literal exactly its properties, where an object
 * grown from {} keeps spare slots, and the cache holds one per Deployment.
 */
function slimContainer(c: Record<string, unknown>): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image,
    args: c.args,
    ports: c.ports,
    resources: c.resources,
    readinessProbe: c.readinessProbe,
    lifecycle: c.lifecycle,
    securityContext: c.securityContext,
  };
}

export function slimDeployment(d: CachedDeployment): CachedDeployment {
  const containers = d.spec?.template?.spec?.containers;
  const spec = d.spec?.template?.spec as { terminationGracePeriodSeconds?: number } | undefined;
  return {
    metadata: meta(d.metadata),
    spec: {
      replicas: d.spec?.replicas,
      selector: { matchLabels: d.spec?.selector?.matchLabels },
      strategy: d.spec?.strategy,
      template: {
        metadata: {
          labels: d.spec?.template?.metadata?.labels,
          annotations: d.spec?.template?.metadata?.annotations,
        },
        spec: {
          terminationGracePeriodSeconds: spec?.terminationGracePeriodSeconds,
          containers: containers?.map(slimContainer),
        },
      },
    },
    status: {
      observedGeneration: d.status?.observedGeneration,
      replicas: d.status?.replicas,
      updatedReplicas: d.status?.updatedReplicas,
      readyReplicas: d.status?.readyReplicas,
      availableReplicas: d.status?.availableReplicas,
    },
  };
}

export interface CachedDisruptionBudget extends KubeObject {
  metadata: Meta;
  spec?: { maxUnavailable?: number | string; selector?: { matchLabels?: Record<string, string> } };
}

export function slimDisruptionBudget(p: CachedDisruptionBudget): CachedDisruptionBudget {
  return {
    metadata: meta(p.metadata),
    spec: {
      maxUnavailable: p.spec?.maxUnavailable,
      selector: { matchLabels: p.spec?.selector?.matchLabels },
    },
  };
}

export function slimService(s: CachedService): CachedService {
  return {
    metadata: meta(s.metadata),
    spec: { type: s.spec?.type, selector: s.spec?.selector, ports: s.spec?.ports },
  };
}

export function slimElasticWeb(ew: ElasticWeb): ElasticWeb {
  const m = ew.metadata;
  return {
    apiVersion: ew.apiVersion,
    kind: ew.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      generation: m.generation,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    spec: ew.spec,
    ...(ew.status ? { status: ew.status } : {}),
  };
}
