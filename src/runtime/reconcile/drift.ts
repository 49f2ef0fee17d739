/**
 * Does a live object already hold everything a controller would apply? If so, the reconcile writes
 * nothing: that is what makes an idle controller make zero write calls, and what lets a controller
 * live with admission policies that add to its objects.
 *
 * The comparison is "desired is contained in actual": fields the server defaults (strategy,
 * clusterIP, ...), and fields that others add (a label a policy sets, a sidecar a webhook injects, a
 * default resource limit) are not the controller's to judge. Lists are matched by their merge keys,
 * as server-side apply matches them, and resource quantities by value ("0.5" and "500m" are the same
 * CPU). Only at the paths a controller names `exact` is anything extra drift too: a selector with an
 * extra key selects other pods, so "contains ours" is not enough there.
 */
import { parseQuantity } from './quantity.ts';

/** Paths written as "spec.template.spec.containers[].ports": fields joined by dots, list items as []. */
export type DriftPath = string;

export interface DriftOptions {
  /** Maps and lists where the live object may hold nothing beyond the desired keys or items. */
  exact?: ReadonlySet<DriftPath>;
}

type Json = Record<string, unknown>;

/**
 * The merge key of list items at a path, as the Kubernetes schema declares it for built-in kinds
 * (x-kubernetes-list-map-keys). Lists not named here are atomic: compared whole.
 */
export function mergeKeyOf(path: DriftPath): ((item: Json) => string) | undefined {
  const last = path.slice(path.lastIndexOf('.') + 1);
  switch (last) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return (item) => String(item.name);
    case 'volumeMounts':
      return (item) => String(item.mountPath);
    case 'ownerReferences':
      return (item) => String(item.uid);
    case 'conditions':
      return (item) => String(item.type);
    case 'ports':
      // A container's ports are keyed by containerPort, a Service's by port (both with protocol).
      return path.endsWith('containers[].ports')
        ? (item) => `${item.containerPort}/${item.protocol ?? 'TCP'}`
        : (item) => `${item.port}/${item.protocol ?? 'TCP'}`;
    default:
      return undefined;
  }
}

/**
 * Whether the values of the map at `path` are quantities: resources.requests/limits and
 * capacity/allocatable/overhead (their keys may hold dots: nvidia.com/gpu). Decided once per map on the
 * way down, not per value: this comparison runs over every child a controller verifies.
 */
function holdsQuantities(path: DriftPath): boolean {
  return (
    path.endsWith('.resources.requests') ||
    path.endsWith('.resources.limits') ||
    path.endsWith('.capacity') ||
    path.endsWith('.allocatable') ||
    path.endsWith('.overhead')
  );
}

/** Returns the first path where `actual` does not hold `desired`, or undefined when it holds all of it. */
export function findDrift(
  desired: unknown,
  actual: unknown,
  options: DriftOptions = {},
  path = '',
  quantities = false,
): DriftPath | undefined {
  const exact = options.exact;
  if (quantities && (typeof desired === 'string' || typeof desired === 'number')) {
    if (typeof actual !== 'string' && typeof actual !== 'number') return path;
    const a = parseQuantity(String(desired));
    const b = parseQuantity(String(actual));
    return a !== undefined && b !== undefined && a === b ? undefined : path;
  }
  if (Array.isArray(desired)) {
    // The server leaves empty lists out of what it returns, as empty maps.
    if (actual === undefined && desired.length === 0) return undefined;
    if (!Array.isArray(actual)) return path;
    const key = mergeKeyOf(path);
    if (!key) {
      if (desired.length !== actual.length) return path;
      for (let i = 0; i < desired.length; i++) {
        const drift = findDrift(desired[i], actual[i], options, `${path}[]`, quantities);
        if (drift) return drift;
      }
      return undefined;
    }
    const byKey = new Map(actual.map((item) => [key(item as Json), item]));
    for (const item of desired) {
      const match = byKey.get(key(item as Json));
      if (match === undefined) return `${path}[${key(item as Json)}]`;
      const drift = findDrift(item, match, options, `${path}[]`, quantities);
      if (drift) return drift;
    }
    if (exact?.has(path) && actual.length !== desired.length) return path;
    return undefined;
  }
  if (desired !== null && typeof desired === 'object') {
    const want = desired as Json;
    // The server leaves empty maps out of what it returns.
    if (actual === undefined && Object.keys(want).length === 0) return undefined;
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return path;
    const have = actual as Json;
    const valuesAreQuantities = quantities || holdsQuantities(path);
    for (const [field, value] of Object.entries(want)) {
      const childPath = path ? `${path}.${field}` : field;
      const drift = findDrift(value, have[field], options, childPath, valuesAreQuantities);
      if (drift) return drift;
    }
    if (exact?.has(path) && Object.keys(have).length !== Object.keys(want).length) return path;
    return undefined;
  }
  return desired === actual ? undefined : path;
}
