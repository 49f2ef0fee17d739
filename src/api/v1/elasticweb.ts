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

/** Defaults for what the seed article hard-coded. */
export const defaults = {
  containerPort: 80,
  maxReplicas: 100,
  resources: {
    requests: { cpu: '100m', memory: '512Mi' },
    limits: { cpu: '100m', memory: '512Mi' },
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
