/**
 * Does a live object already hold everything the operator would apply? If so, the reconcile writes
 * nothing: that is what makes an idle operator make zero write calls.
 *
 * The comparison is "desired is contained in actual": fields the server defaults (strategy,
 * terminationGracePeriodSeconds, clusterIP, ...) and fields other managers own are not ours to judge.
 * Lists are matched by their merge keys, as server-side apply matches them, and resource quantities
 * by value ("0.5" and "500m" are the same CPU).
 */
import { parseQuantity } from './quantity.ts';

/** The merge key of list items at a path, as the Kubernetes schema declares it. */
function mergeKey(path: string): ((item: Record<string, unknown>) => string) | undefined {
  if (path.endsWith('.containers')) return (item) => String(item.name);
  if (path.endsWith('.containers[].ports'))
    return (item) => `${item.containerPort}/${item.protocol ?? 'TCP'}`;
  if (path === 'spec.ports') return (item) => `${item.port}/${item.protocol ?? 'TCP'}`;
  if (path === 'metadata.ownerReferences') return (item) => String(item.uid);
  return undefined;
}

/** Maps that must be equal, not just contain ours: an extra selector key would change which pods are selected. */
const exactMaps = new Set(['spec.selector', 'spec.selector.matchLabels']);

function isQuantityPath(path: string): boolean {
  return /\.resources\.(requests|limits)\.[^.]+$/.test(path);
}

/** Returns the first path where `actual` does not hold `desired`, or undefined when it holds all of it. */
export function findDrift(desired: unknown, actual: unknown, path = ''): string | undefined {
  if (isQuantityPath(path) && (typeof desired === 'string' || typeof desired === 'number')) {
    if (typeof actual !== 'string' && typeof actual !== 'number') return path;
    const a = parseQuantity(String(desired));
    const b = parseQuantity(String(actual));
    return a !== undefined && b !== undefined && a === b ? undefined : path;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual)) return path;
    const key = mergeKey(path);
    if (!key) {
      if (desired.length !== actual.length) return path;
      for (let i = 0; i < desired.length; i++) {
        const drift = findDrift(desired[i], actual[i], `${path}[]`);
        if (drift) return drift;
      }
      return undefined;
    }
    const byKey = new Map(actual.map((item) => [key(item as Record<string, unknown>), item]));
    for (const item of desired) {
      const match = byKey.get(key(item as Record<string, unknown>));
      if (match === undefined) return `${path}[${key(item as Record<string, unknown>)}]`;
      const drift = findDrift(item, match, `${path}[]`);
      if (drift) return drift;
    }
    return undefined;
  }
  if (desired !== null && typeof desired === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return path;
    const want = desired as Record<string, unknown>;
    const have = actual as Record<string, unknown>;
    if (exactMaps.has(path) && Object.keys(have).length !== Object.keys(want).length) return path;
    for (const [field, value] of Object.entries(want)) {
      const drift = findDrift(value, have[field], path ? `${path}.${field}` : field);
      if (drift) return drift;
    }
    return undefined;
  }
  return desired === actual ? undefined : path;
}
