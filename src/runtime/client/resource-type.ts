/** How to address a kind of object on the API server: its apiVersion, kind, plural and scope. */
import { flat } from '../flat-string.ts';

export interface ResourceType {
  /** "v1" for the core group, "group/version" otherwise. */
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface ObjectKey {
  namespace?: string;
  name: string;
}

/** The group of an apiVersion: "" for the core group ("v1"), "apps" for "apps/v1". */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * The URL path of a collection (no name) or of one object, optionally a subresource.
 * A namespaced type without a namespace addresses all namespaces (for list and watch).
 */
export function resourcePath(
  type: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name ? `/${encodeURIComponent(name)}` : '';
  const sub = name && subresource ? `/${subresource}` : '';
  return `${base}${ns}/${type.plural}${obj}${sub}`;
}

/** "namespace/name", or "name" for cluster-scoped objects: the key of caches and work queues. */
export function keyOf(key: ObjectKey): string {
  // Flat: keys are kept for as long as the objects are cached (see flat-string.ts).
  return key.namespace ? flat(`${key.namespace}/${key.name}`) : key.name;
}

export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export const core = {
  services: { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  events: { apiVersion: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  namespaces: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
} as const satisfies Record<string, ResourceType>;

export const apps = {
  deployments: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
} as const satisfies Record<string, ResourceType>;

export const policy = {
  podDisruptionBudgets: {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

export const coordination = {
  leases: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true },
} as const satisfies Record<string, ResourceType>;
