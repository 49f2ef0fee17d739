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

/**
 * Maps that must be equal, not just contain ours: an extra selector key would change which pods are
 * selected, and a resource the spec no longer names must go.
 */
const exactMaps = new Set([
  'spec.selector',
  'spec.selector.matchLabels',
  'spec.template.spec.containers[].resources.requests',
  'spec.template.spec.containers[].resources.limits',
]);
/** Lists where an entry someone else added is drift too: a port the Service or our container should not have. */
const exactLists = new Set(['spec.ports', 'spec.template.spec.containers[].ports']);

/** Values under resources.requests/limits are quantities (names may hold dots: nvidia.com/gpu). */
function isQuantityPath(path: string): boolean {
  return /\.resources\.(requests|limits)\./.test(path);
}

/** Returns the first path where `actual` does not hold `desired`, or undefined when it holds all of it. */
export function findDrift(desired: unknown, actual: unknown, path = ''): string | undefined {
  if ((typeof desired === 'string' || typeof desired === 'number') && isQuantityPath(path)) {
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
    if (exactLists.has(path) && actual.length !== desired.length) return path;
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
    const want = desired as Record<string, unknown>;
    // The server leaves empty maps out of what it returns.
    if (actual === undefined && Object.keys(want).length === 0) return undefined;
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return path;
    const have = actual as Record<string, unknown>;
    for (const [field, value] of Object.entries(want)) {
      const drift = findDrift(value, have[field], path ? `${path}.${field}` : field);
      if (drift) return drift;
    }
    // Everything of ours is there; in an exact map, anything more is drift too.
    if (exactMaps.has(path) && Object.keys(have).length !== Object.keys(want).length) return path;
    return undefined;
  }
  return desired === actual ? undefined : path;
}

type Json = Record<string, unknown>;

/**
 * A strategic merge patch deleting what does not belong where only ours belongs: extra keys in the
 * Service selector (it would select fewer pods, or none), extra ports on the Service or on our
 * container (a port edited by hand becomes a new entry), and resources the spec no longer names
 * (the create that made the object still owns them). Server-side apply cannot remove fields
 * another manager owns, so the operator deletes them explicitly, in the same patch that sets its own
 * entries (deleting alone could leave a Service with no port, and adding alone could clash with a
 * stray entry's name). Undefined when nothing is stray.
 */
export function removalPatch(kind: 'Deployment' | 'Service', desired: Json, actual: Json): Json | undefined {
  const spec = (o: Json) => (o.spec ?? {}) as Json;
  if (kind === 'Service') {
    const want = (spec(desired).selector ?? {}) as Json;
    const extraKeys = Object.keys((spec(actual).selector ?? {}) as Json).filter((k) => !(k in want));
    const ports = extraEntries(
      spec(desired).ports,
      spec(actual).ports,
      (p) => `${p.port}/${p.protocol ?? 'TCP'}`,
    );
    if (extraKeys.length === 0 && ports.length === 0) return undefined;
    return {
      spec: {
        selector: { ...want, ...Object.fromEntries(extraKeys.map((k) => [k, null])) },
        ports: [
          ...ports.map((p) => ({ port: p.port, $patch: 'delete' })),
          ...((spec(desired).ports ?? []) as Json[]),
        ],
      },
    };
  }
  const containers = (o: Json) =>
    (((spec(o).template as Json | undefined)?.spec as Json | undefined)?.containers ?? []) as Json[];
  const ours = containers(desired)[0] as Json;
  const theirs = containers(actual).find((c) => c.name === ours.name);
  const ports = extraEntries(ours.ports, theirs?.ports, (p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`);
  const resources: Json = {};
  for (const list of ['requests', 'limits']) {
    const want = ((ours.resources as Json | undefined)?.[list] ?? {}) as Json;
    const have = ((theirs?.resources as Json | undefined)?.[list] ?? {}) as Json;
    const extra = Object.keys(have).filter((k) => !(k in want));
    if (extra.length > 0) resources[list] = Object.fromEntries(extra.map((k) => [k, null]));
  }
  if (ports.length === 0 && Object.keys(resources).length === 0) return undefined;
  const container: Json = { name: ours.name };
  if (ports.length > 0) {
    container.ports = [
      ...ports.map((p) => ({ containerPort: p.containerPort, $patch: 'delete' })),
      ...((ours.ports ?? []) as Json[]),
    ];
  }
  if (Object.keys(resources).length > 0) container.resources = resources;
  return { spec: { template: { spec: { containers: [container] } } } };
}

function extraEntries(desired: unknown, actual: unknown, key: (item: Json) => string): Json[] {
  if (!Array.isArray(actual)) return [];
  const wanted = new Set(((desired ?? []) as Json[]).map(key));
  return (actual as Json[]).filter((item) => !wanted.has(key(item)));
}
