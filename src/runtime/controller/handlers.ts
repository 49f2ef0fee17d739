/**
 * Informer handlers that turn events into work-queue keys, as controller-runtime's handler package:
 * the object itself (For) or its controller owner (Owns). Events are never passed on, only keys.
 */
import type { InformerHandler, KubeObject } from '../cache/informer.ts';
import { groupOf, keyOf } from '../client/resource-type.ts';
import type { Priority } from '../workqueue/work-queue.ts';

export type Enqueue = (key: string, priority: Priority) => void;

/**
 * For the primary kind: every event enqueues the object itself. An update that leaves the generation
 * alone (status or metadata only: mostly the echo of our own status write) is looked at with low
 * priority, behind changes to what users asked for; a relist's unchanged objects are skipped.
 */
export function enqueueForObject<T extends KubeObject>(enqueue: Enqueue): InformerHandler<T> {
  const add = (obj: T) => enqueue(keyOf(obj.metadata), 'normal');
  return {
    onAdd: add,
    onUpdate: (oldObj, newObj) => {
      if (oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion) return;
      const before = oldObj.metadata.generation;
      const sameSpec = before !== undefined && before === newObj.metadata.generation;
      enqueue(keyOf(newObj.metadata), sameSpec ? 'low' : 'normal');
    },
    onDelete: add,
  };
}

/**
 * For an owned kind: every event enqueues the object's controller owner, if it is of `owner`'s group
 * and kind (EnqueueRequestForOwner with OnlyControllerOwner); on update both the old and the new
 * owner. At low priority: what owned objects report (mostly the echo of our own writes, or pods
 * turning Ready) waits behind changes users asked for.
 */
export function enqueueForOwner<T extends KubeObject>(
  owner: { apiVersion: string; kind: string },
  enqueue: Enqueue,
): InformerHandler<T> {
  const group = groupOf(owner.apiVersion);
  const add = (obj: T) => {
    const ref = obj.metadata.ownerReferences?.find(
      (r) => r.controller && r.kind === owner.kind && groupOf(r.apiVersion) === group,
    );
    if (ref && obj.metadata.namespace)
      enqueue(keyOf({ namespace: obj.metadata.namespace, name: ref.name }), 'low');
  };
  return {
    onAdd: add,
    onUpdate: (oldObj, newObj) => {
      if (oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion) return;
      add(oldObj);
      add(newObj);
    },
    onDelete: add,
  };
}
