/**
 * What a controller must delete from a live object because server-side apply will not: its own
 * leftovers, and foreign entries where only its entries belong.
 *
 *  - Leftovers. A field this controller set once (at create, or by an earlier apply) and no longer
 *    wants, for example a resource limit the user removed from the spec. The object's managedFields
 *    say which fields are ours. Only fields under the `prune` paths the controller names count,
 *    because a create also owns the values the server defaulted, which must stay.
 *    Fields others own (a default limit a policy added, a label a webhook set) are not ours to delete.
 *  - Foreign entries at `exact` paths (see drift.ts): a selector key or a Service port someone else
 *    added, whoever owns it.
 *
 * The result is one strategic merge patch (built-in kinds), which deletes map keys with null and list
 * items with `$patch: delete`, and also sets the desired items of every list it deletes from. Deleting
 * alone could leave a list invalid (a Service with no port), and adding alone could clash with the
 * entry being deleted (two ports named http).
 */
import type { KubeObject, ManagedFieldsEntry } from '../cache/informer.ts';
import { type DriftPath, mergeKeyOf } from './drift.ts';

type Json = Record<string, unknown>;

/** One step of a path through an object: a field, or a list item by its merge key fields. */
export type Segment = { field: string } | { item: Json };

/** The fields one manager owns, in managedFields' fieldsV1 form ("f:name", "k:{...}", "."). */
export type FieldSet = Record<string, unknown>;

/** The path of segments as drift.ts writes paths: "spec.ports[]". */
export function driftPath(segments: Segment[]): DriftPath {
  let path = '';
  for (const s of segments) path += 'field' in s ? (path ? `.${s.field}` : s.field) : '[]';
  return path;
}

/**
 * The fields `manager` owns on the main resource (not a subresource such as status), merged over its
 * operations (a create is an Update, a later apply an Apply). Undefined when it owns none.
 */
export function ownedFields(
  entries: ManagedFieldsEntry[] | undefined,
  manager: string,
): FieldSet | undefined {
  let merged: FieldSet | undefined;
  for (const entry of entries ?? []) {
    if (entry.manager !== manager || entry.subresource || !entry.fieldsV1) continue;
    merged = merged ? mergeFieldSets(merged, entry.fieldsV1) : entry.fieldsV1;
  }
  return merged;
}

function mergeFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { ...a };
  for (const [key, value] of Object.entries(b)) {
    out[key] = key in out ? mergeFieldSets(out[key] as FieldSet, value as FieldSet) : value;
  }
  return out;
}

/**
 * Fields `owned` holds that `desired` lacks, each as the topmost missing segment path, restricted to
 * paths under one of `prune` (a prefix in drift-path form, e.g. "spec.template.spec.containers[].resources";
 * one ending in "[]", e.g. "spec.template.spec.containers[]", means whole list items only).
 */
export function leftovers(
  owned: FieldSet | undefined,
  desired: unknown,
  prune: readonly DriftPath[],
): Segment[][] {
  if (!owned || prune.length === 0) return [];
  const found: Segment[][] = [];
  // "a.b[]" prunes whole list items only (a sidecar we added once), never fields inside the items we keep.
  const { underPrune, mayContainPrune } = pruneTests(prune);
  // The drift path is carried along rather than rebuilt from the segments at every step: this runs for
  // every child on every reconcile (10,000 of them when an operator restarts).
  const walk = (set: FieldSet, want: unknown, at: Segment[], atPath: DriftPath) => {
    for (const key in set) {
      if (key === '.') continue;
      const segment = parseFieldKey(key);
      if (!segment) continue; // set-list values and atomic indexes: never pruned
      const drift = childPath(atPath, segment);
      const isUnder = underPrune(drift);
      if (!isUnder && !mayContainPrune(drift)) continue;
      const next = step(want, segment);
      const child = set[key] as FieldSet;
      // A list item we added, or a single field: it goes whole. A map or struct we share (others may
      // own keys of it too, as annotations): only our own keys in it go.
      if (next === undefined && ('item' in segment || !hasChildFields(child))) {
        if (isUnder) found.push([...at, segment]);
        continue;
      }
      walk(child, next, [...at, segment], drift);
    }
  };
  walk(owned, desired, [], '');
  return found;
}

/** Entries of `actual` at the `exact` paths that `desired` does not have, whoever set them. */
export function foreignEntries(
  desired: unknown,
  actual: unknown,
  exact: ReadonlySet<DriftPath>,
): Segment[][] {
  if (exact.size === 0) return [];
  const found: Segment[][] = [];
  const targets = [...exact];
  const walk = (want: unknown, have: unknown, at: Segment[], path: DriftPath) => {
    // Only the way to an exact path matters: the rest of the object (most of a pod template) is skipped.
    if (!targets.some((p) => p.startsWith(path))) return;
    if (Array.isArray(want) && Array.isArray(have)) {
      const key = mergeKeyOf(path);
      if (!key) return;
      const wanted = new Map(want.map((item) => [key(item as Json), item]));
      const itemPath = `${path}[]`;
      for (const item of have as Json[]) {
        const match = wanted.get(key(item));
        if (match === undefined) {
          if (exact.has(path)) found.push([...at, { item: keyFields(path, item) }]);
        } else {
          walk(match, item, [...at, { item: keyFields(path, item) }], itemPath);
        }
      }
      return;
    }
    if (!isObject(want) || !isObject(have)) return;
    for (const field in have) {
      if (field in want)
        walk(want[field], have[field], [...at, { field }], path ? `${path}.${field}` : field);
      else if (exact.has(path)) found.push([...at, { field }]);
    }
  };
  walk(desired, actual, [], '');
  return found;
}

/** Bits of pruneTests' answers. */
const under = 1;
const mayContain = 2;
const keep = 4;
const pruneAnswers = new WeakMap<readonly DriftPath[], Map<DriftPath, number>>();

/**
 * Whether a path is under one of `prune` ("a.b[]" covers whole list items only, never fields inside the
 * items kept), and whether one of `prune` may lie below it. Answers are remembered per prune list (a
 * controller's constant): the same few dozen paths are asked about for every child it verifies.
 */
function pruneTests(prune: readonly DriftPath[]) {
  let answers = pruneAnswers.get(prune);
  if (!answers) {
    answers = new Map();
    pruneAnswers.set(prune, answers);
  }
  const known = answers;
  const answer = (path: DriftPath): number => {
    let bits = known.get(path);
    if (bits === undefined) {
      const isUnder = prune.some((p) =>
        p.endsWith('[]') ? path === p : path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`),
      );
      const isKept = prune.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
      bits =
        (isUnder ? under : 0) |
        (prune.some((p) => p.startsWith(path)) ? mayContain : 0) |
        (isKept ? keep : 0);
      if (known.size >= 4096) known.clear(); // paths hold user keys too (annotation names)
      known.set(path, bits);
    }
    return bits;
  };
  return {
    underPrune: (path: DriftPath) => (answer(path) & under) !== 0,
    mayContainPrune: (path: DriftPath) => (answer(path) & mayContain) !== 0,
    /** Under one of `prune` or inside the items of one: what the cached copy keeps (restrictToPrune). */
    kept: (path: DriftPath) => (answer(path) & keep) !== 0,
  };
}

/** The drift path of `segment` under `parent` ("spec.ports" and an item: "spec.ports[]"). */
function childPath(parent: DriftPath, segment: Segment): DriftPath {
  if ('item' in segment) return `${parent}[]`;
  return parent ? `${parent}.${segment.field}` : segment.field;
}

function hasChildFields(set: FieldSet): boolean {
  for (const key in set) if (key !== '.') return true;
  return false;
}

/**
 * A strategic merge patch deleting `strays` (see the file comment), or undefined when there are none.
 */
export function removalPatch(strays: Segment[][], desired: Json): Json | undefined {
  if (strays.length === 0) return undefined;
  const patch: Json = {};
  /** Lists the patch deletes from, with their desired counterparts, to set those in the same patch. */
  const touchedLists: { list: Json[]; want: unknown; path: Segment[] }[] = [];
  for (const stray of strays) {
    let node: Json | Json[] = patch;
    let want: unknown = desired;
    for (let i = 0; i < stray.length; i++) {
      const segment = stray[i] as Segment;
      const last = i === stray.length - 1;
      if ('field' in segment) {
        const obj = node as Json;
        if (last) {
          obj[segment.field] = null;
          break;
        }
        const nextSegment = stray[i + 1] as Segment;
        if (!(segment.field in obj)) obj[segment.field] = 'item' in nextSegment ? [] : {};
        const child = obj[segment.field] as Json | Json[];
        want = isObject(want) ? want[segment.field] : undefined;
        if (Array.isArray(child) && !touchedLists.some((t) => t.list === child))
          touchedLists.push({ list: child, want, path: stray.slice(0, i + 1) });
        node = child;
      } else {
        const list = node as Json[];
        let entry = list.find((e) => matches(e, segment.item));
        if (!entry) {
          entry = { ...segment.item };
          list.push(entry);
        }
        if (last) {
          entry.$patch = 'delete';
          break;
        }
        want = Array.isArray(want) ? want.find((w) => isObject(w) && matches(w, segment.item)) : undefined;
        node = entry;
      }
    }
  }
  for (const { list, want } of touchedLists) {
    if (!list.some((e) => e.$patch === 'delete') || !Array.isArray(want)) continue;
    for (const item of want as Json[]) {
      const existing = list.find((e) => e.$patch !== 'delete' && matchesAll(item, e));
      if (existing) mergeInto(existing, item);
      else list.push(structuredClone(item));
    }
  }
  return patch;
}

/**
 * The part of the manager's own fields that leftovers() can ever look at (the `prune` paths), kept on
 * the cached copy, interned: objects written the same way share one copy. Cut down to the prune
 * paths, the set no longer names the owner's uid (ownerReferences are keyed by it), so thousands of
 * children of thousands of owners share a handful of copies. Nothing is kept when `prune` is empty.
 */
export function keepOwnedFields<T extends KubeObject>(
  manager: string,
  prune: readonly DriftPath[],
): (raw: T, slim: T) => T {
  const interned = new Map<string, FieldSet>();
  return (raw, slim) => {
    if (prune.length === 0) {
      // Nothing kept, from a list (which then skips them unread: withoutManagedFields), a watch or a write.
      if (!slim.metadata.managedFields) return slim;
      const { managedFields: _, ...metadata } = slim.metadata;
      return { ...slim, metadata };
    }
    const owned = ownedFields(raw.metadata.managedFields, manager);
    const kept = owned && restrictToPrune(owned, prune);
    if (!kept) return slim;
    const text = JSON.stringify(kept);
    let shared = interned.get(text);
    if (!shared) {
      shared = kept;
      interned.set(text, shared);
      if (interned.size > 1000) interned.delete(interned.keys().next().value as string);
    }
    return { ...slim, metadata: { ...slim.metadata, managedFields: [{ manager, fieldsV1: shared }] } };
  };
}

/** The nodes of `set` on the way to, or under, one of `prune`; undefined when none is. */
function restrictToPrune(
  set: FieldSet,
  prune: readonly DriftPath[],
  atPath: DriftPath = '',
): FieldSet | undefined {
  const tests = pruneTests(prune);
  let out: FieldSet | undefined;
  for (const key in set) {
    if (key === '.') continue;
    const segment = parseFieldKey(key);
    if (!segment) continue;
    const path = childPath(atPath, segment);
    if (tests.kept(path)) {
      out ??= {};
      out[key] = set[key];
    } else if (tests.mayContainPrune(path)) {
      const inner = restrictToPrune(set[key] as FieldSet, prune, path);
      if (inner) {
        out ??= {};
        out[key] = inner;
      }
    }
  }
  return out;
}

/**
 * Field keys repeat across every child a controller writes ("f:spec", 'k:{"name":"nginx"}'), so their
 * parse is remembered. Segments are shared and never mutated. Bounded: cleared when it grows past the
 * limit, since item keys can carry user data.
 */
const parsedKeys = new Map<string, Segment | null>();
const maxParsedKeys = 4096;

function parseFieldKey(key: string): Segment | undefined {
  const known = parsedKeys.get(key);
  if (known !== undefined) return known ?? undefined;
  let segment: Segment | null = null;
  if (key.startsWith('f:')) segment = { field: key.slice(2) };
  else if (key.startsWith('k:')) {
    try {
      segment = { item: JSON.parse(key.slice(2)) as Json };
    } catch {
      segment = null;
    }
  }
  if (parsedKeys.size >= maxParsedKeys) parsedKeys.clear();
  parsedKeys.set(key, segment);
  return segment ?? undefined;
}

/** Follows one segment into `value`; undefined when it is not there. */
function step(value: unknown, segment: Segment): unknown {
  if ('field' in segment) return isObject(value) ? (value[segment.field] ?? undefined) : undefined;
  return Array.isArray(value) ? value.find((v) => isObject(v) && matches(v, segment.item)) : undefined;
}

/** Whether `entry` has every key field of `key` with the same value (defaults: protocol TCP). */
function matches(entry: Json, key: Json): boolean {
  return Object.entries(key).every(([k, v]) => (entry[k] ?? (k === 'protocol' ? 'TCP' : undefined)) === v);
}

function matchesAll(a: Json, b: Json): boolean {
  const keys = Object.keys(b).filter((k) => k !== '$patch' && !isObject(b[k]) && !Array.isArray(b[k]));
  return keys.length > 0 && keys.every((k) => a[k] === b[k]);
}

/** The merge key fields of a list item, as managedFields writes them ("k:{...}"). */
function keyFields(path: DriftPath, item: Json): Json {
  const last = path.slice(path.lastIndexOf('.') + 1);
  const pick = (...names: string[]) =>
    Object.fromEntries(names.map((n) => [n, item[n] ?? (n === 'protocol' ? 'TCP' : undefined)]));
  switch (last) {
    case 'ports':
      return path.endsWith('containers[].ports')
        ? pick('containerPort', 'protocol')
        : pick('port', 'protocol');
    case 'volumeMounts':
      return pick('mountPath');
    case 'ownerReferences':
      return pick('uid');
    case 'conditions':
      return pick('type');
    default:
      return pick('name');
  }
}

/** Deep-merges `from` into `into`, keeping what `into` already says (its deletions win). */
function mergeInto(into: Json, from: Json): void {
  for (const [k, v] of Object.entries(from)) {
    if (!(k in into)) into[k] = structuredClone(v);
    else if (isObject(into[k]) && isObject(v)) mergeInto(into[k] as Json, v);
    else if (Array.isArray(into[k]) && Array.isArray(v)) {
      const list = into[k] as Json[];
      for (const item of v as Json[]) {
        if (!isObject(item)) continue;
        const existing = list.find((e) => matchesAll(item, e));
        if (existing) {
          if (existing.$patch !== 'delete') mergeInto(existing, item);
        } else list.push(structuredClone(item));
      }
    }
  }
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
