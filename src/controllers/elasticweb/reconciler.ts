/**
 * Reconciles one ElasticWeb: makes its Deployment and Service match the spec, then writes the status
 * the cluster really shows. Level-based: it reads everything from the caches, so the same code handles
 * create, update, drift, deletion of a child, and restart.
 *
 * Writes happen only when something differs (the drift check), so a reconcile that finds the world as
 * it should be makes no write call. A missing object is created with a plain create, which the API
 * server refuses if the name is taken, so an object someone else owns is never merged into; changes
 * go through server-side apply, each carrying the uid of the object it was computed from as a
 * precondition, so a Deployment deleted and re-created by someone else meanwhile is never overwritten.
 * What this process wrote is remembered until its informers show it (RecentWrites), so a reconcile
 * in between neither writes again nor looks the object up.
 */
import { apiVersion, type ElasticWeb, type ElasticWebStatus, kind } from '../../api/v1/elasticweb.ts';
import type { Informer, KubeObject } from '../../runtime/cache/informer.ts';
import type { RecentWrites } from '../../runtime/cache/recent-writes.ts';
import { ApiError, isApiError } from '../../runtime/client/errors.ts';
import type { KubeClient } from '../../runtime/client/kube-client.ts';
import { apps, core, type ResourceType } from '../../runtime/client/resource-type.ts';
import type { ReconcileContext, Reconciler, Request, Result } from '../../runtime/controller/controller.ts';
import type { EventRecorder } from '../../runtime/events/recorder.ts';
import type { Logger } from '../../runtime/log/logger.ts';
import type { CachedDeployment, CachedService } from './cached-objects.ts';
import { desiredDeployment, desiredService, fieldManager, instanceLabel, replicaPlan } from './desired.ts';
import { findDrift, removalPatch } from './drift.ts';
import { computeStatus, type Problem, sameJson } from './status.ts';

export const elasticWebType: ResourceType = { apiVersion, kind, plural: 'elasticwebs', namespaced: true };

/**
 * The key of a write in RecentWrites: "Kind/namespace/name". The reconciler remembers writes under it
 * and setup.ts forgets them under it when the informers catch up, so both must build it here.
 */
export function recentWriteKey(kind: string, key: { namespace?: string; name: string }): string {
  return `${kind}/${key.namespace}/${key.name}`;
}

export interface ElasticWebCaches {
  elasticWebs: Informer<ElasticWeb>;
  deployments: Informer<CachedDeployment>;
  services: Informer<CachedService>;
  /** Writes not yet seen by the informers, by "Kind/namespace/name". */
  recent: RecentWrites<KubeObject | ElasticWebStatus>;
}

export interface ElasticWebReconcilerOptions {
  client: KubeClient;
  caches: ElasticWebCaches;
  recorder: EventRecorder;
  now?: () => Date;
}

/** What happened to one child (Deployment or Service) in one reconcile. */
interface ChildOutcome<T> {
  /** The object as it now is, when known. */
  object: T | undefined;
  /** Set when this reconcile created it. */
  created?: boolean;
  /** Set when this reconcile changed it. */
  updated?: boolean;
  /** Why it could not be made to match the spec (goes into the Degraded condition). */
  problem?: Problem;
  /** The failure to retry with backoff. */
  error?: unknown;
  /** Look again after this long even without an event (a condition no event will announce). */
  recheckAfterMs?: number;
}

/** How often to look again at a name taken by an object the operator does not own. */
const notOwnedRecheckMs = 60_000;

/** Degraded reasons whose Warning event is sent once, when the condition turns to them, not on every look. */
const announceOnTransition = new Set(['MaxReplicasReached', 'ResourceNotOwned']);

interface Child<T extends KubeObject> {
  type: ResourceType;
  desired: { metadata: { name: string; namespace: string } } & Record<string, unknown>;
  cached: T | undefined;
}

export class ElasticWebReconciler implements Reconciler {
  readonly #client: KubeClient;
  readonly #caches: ElasticWebCaches;
  readonly #recorder: EventRecorder;
  readonly #now: () => Date;
  /** Normal events of a pass that deferred its report, sent with that report. By ElasticWeb key. */
  readonly #pendingEvents = new Map<string, { ew: ElasticWeb; reason: string; message: string }[]>();

  constructor(options: ElasticWebReconcilerOptions) {
    this.#client = options.client;
    this.#caches = options.caches;
    this.#recorder = options.recorder;
    this.#now = options.now ?? (() => new Date());
  }

  async reconcile(request: Request, { log }: ReconcileContext): Promise<Result | undefined> {
    const key = `${request.namespace}/${request.name}`;
    const ew = this.#caches.elasticWebs.get(key);
    // Gone or going: its Deployment and Service carry owner references, so the garbage collector
    // removes them; nothing to do here, and no finalizer is needed.
    if (!ew || ew.metadata.deletionTimestamp) {
      this.#pendingEvents.delete(key);
      return undefined;
    }

    const plan = replicaPlan(ew.spec);
    const [deployment, service] = await Promise.all([
      this.#ensure<CachedDeployment>(ew, log, {
        type: apps.deployments,
        desired: desiredDeployment(ew) as unknown as Child<CachedDeployment>['desired'],
        cached: this.#caches.deployments.get(key),
      }),
      this.#ensure<CachedService>(ew, log, {
        type: core.services,
        desired: desiredService(ew) as unknown as Child<CachedService>['desired'],
        cached: this.#caches.services.get(key),
      }),
    ]);

    this.#announceCreated(
      ew,
      deployment.created ? deployment.object : undefined,
      service.created ? service.object : undefined,
    );
    const error = deployment.error ?? service.error;
    // The world changed in this pass: report it (status, events) in a later, low-priority pass, so
    // that in a burst every Deployment and Service is made before the bookkeeping. The later pass
    // finds nothing to write but the status.
    const wrote = deployment.created || deployment.updated || service.created || service.updated;
    if (wrote && !error) return { deferred: true };

    const problem = deployment.problem ?? service.problem;
    const status = computeStatus({
      ew,
      plan,
      deployment: deployment.object,
      service: service.object,
      problem,
      now: this.#now(),
    });
    // Compare with the status this process wrote last if the cache has not shown it yet.
    const statusKey = recentWriteKey(kind, request);
    const shown = (this.#caches.recent.get(statusKey) as ElasticWebStatus | undefined) ?? ew.status ?? {};
    this.#announceTransitions(shown, ew, status);
    if (!sameJson(status, shown)) {
      await this.#writeStatus(ew, shown, status, log);
      this.#caches.recent.remember(statusKey, status);
    }
    this.#flushEvents(key);

    if (error) throw error;
    const recheck = Math.min(deployment.recheckAfterMs ?? Infinity, service.recheckAfterMs ?? Infinity);
    return Number.isFinite(recheck) ? { requeueAfterMs: recheck } : undefined;
  }

  /** Makes one child match its desired form; never throws. */
  async #ensure<T extends KubeObject>(
    ew: ElasticWeb,
    log: Logger,
    child: Child<T>,
  ): Promise<ChildOutcome<T>> {
    const { type, desired } = child;
    const what = `${type.kind} ${desired.metadata.namespace}/${desired.metadata.name}`;
    const recentKey = recentWriteKey(type.kind, desired.metadata);
    const recent = this.#caches.recent;
    try {
      // The caches hold only objects labelled as ours, so a miss means: absent, not ours, or not seen yet.
      let live = (recent.get(recentKey) as T | undefined) ?? child.cached;
      if (!live) {
        try {
          const created = await this.#client.create<T>(
            type,
            desired.metadata.namespace,
            desired,
            fieldManager,
          );
          recent.remember(recentKey, created);
          log.info({ kind: type.kind }, 'created');
          return { object: created, created: true };
        } catch (err) {
          if (!(isApiError(err) && err.conflict)) throw err;
          // The name is taken: by an object of ours the cache has not shown yet, or by someone else's.
          live = await this.#client.get<T>(type, desired.metadata);
        }
      }
      if (!this.#mayManage(live, ew)) {
        // Not an error to retry fast: nothing changes until someone deletes it. The Warning event is
        // sent when the condition turns Degraded (see #announceTransitions); we look again later.
        const problem = {
          reason: 'ResourceNotOwned',
          message: `${what} already exists and is not controlled by this ElasticWeb; the operator leaves it alone. Delete it or rename the ElasticWeb.`,
        };
        return { object: undefined, problem, recheckAfterMs: notOwnedRecheckMs };
      }
      // apiVersion and kind are not in cached objects (list items omit them); metadata and spec say it all.
      const drift = findDrift({ metadata: desired.metadata, spec: desired.spec }, live);
      if (!drift) return { object: live };

      const removal = removalPatch(type.kind as 'Deployment' | 'Service', desired, live as never);
      if (removal) {
        const patch = withUid(removal, live.metadata.uid);
        await this.#client.strategicMergePatch(type, desired.metadata, patch, fieldManager);
      }
      const applied = await this.#client.apply<T>(
        type,
        withUid(desired, live.metadata.uid) as never,
        fieldManager,
        true,
      );
      recent.remember(recentKey, applied);
      this.#announceUpdate(ew, type, live, applied, drift);
      log.info({ kind: type.kind, drift }, 'updated');
      return { object: applied, updated: true };
    } catch (err) {
      if (isApiError(err) && err.conflict && /uid/i.test(err.serverMessage)) {
        // Deleted or replaced since we looked: look again soon, quietly.
        return { object: undefined, error: err };
      }
      const problem = describeFailure(what, err);
      this.#recorder.event(ew, 'Warning', problem.reason, problem.message);
      return { object: child.cached, problem, error: err };
    }
  }

  /**
   * Whether the operator may write to `live`: it is controlled by this ElasticWeb, or it was ours and
   * someone removed its owner reference (our instance label, no controller at all): then the apply
   * puts the owner reference back. Anything else belongs to someone else.
   */
  #mayManage(live: KubeObject, ew: ElasticWeb): boolean {
    const controller = live.metadata.ownerReferences?.find((r) => r.controller);
    if (controller) return controller.uid === ew.metadata.uid;
    return live.metadata.labels?.[instanceLabel] === ew.metadata.name;
  }

  /** One Normal event for what this reconcile created (a new ElasticWeb gets both objects at once). */
  #announceCreated(
    ew: ElasticWeb,
    deployment: CachedDeployment | undefined,
    service: CachedService | undefined,
  ): void {
    const parts = [
      deployment && `Deployment ${deployment.metadata.name} with ${deployment.spec?.replicas ?? 0} replicas`,
      service && `Service ${service.metadata.name} on NodePort ${service.spec?.ports?.[0]?.nodePort ?? '?'}`,
    ].filter(Boolean);
    if (parts.length > 0) this.#announce(ew, 'Created', `Created ${parts.join(' and ')}`);
  }

  /** Queues a Normal event for the pass that reports this ElasticWeb's status. */
  #announce(ew: ElasticWeb, reason: string, message: string): void {
    const key = `${ew.metadata.namespace}/${ew.metadata.name}`;
    const pending = this.#pendingEvents.get(key) ?? [];
    pending.push({ ew, reason, message });
    this.#pendingEvents.set(key, pending);
  }

  #flushEvents(key: string): void {
    for (const { ew, reason, message } of this.#pendingEvents.get(key) ?? []) {
      this.#recorder.event(ew, 'Normal', reason, message);
    }
    this.#pendingEvents.delete(key);
  }

  #announceUpdate(ew: ElasticWeb, type: ResourceType, before: KubeObject, after: KubeObject, drift: string) {
    const name = after.metadata.name;
    const oldReplicas = (before as CachedDeployment).spec?.replicas;
    const newReplicas = (after as CachedDeployment).spec?.replicas;
    if (type === apps.deployments && oldReplicas !== newReplicas) {
      this.#announce(
        ew,
        'Scaled',
        `Scaled Deployment ${name} from ${oldReplicas ?? 0} to ${newReplicas} replicas (totalQPS ${ew.spec.totalQPS ?? 0}, ${ew.spec.singlePodsQPS} QPS per pod)`,
      );
      return;
    }
    this.#announce(ew, 'Updated', `Updated ${type.kind} ${name}: ${drift} differed from the spec`);
  }

  /** Warning events for Degraded states that persist without a failing write (see announceOnTransition). */
  #announceTransitions(shown: ElasticWebStatus, ew: ElasticWeb, status: ElasticWebStatus): void {
    const before = shown.conditions?.find((c) => c.type === 'Degraded');
    const after = status.conditions?.find((c) => c.type === 'Degraded');
    if (
      after?.status === 'True' &&
      announceOnTransition.has(after.reason) &&
      before?.reason !== after.reason
    ) {
      this.#recorder.event(ew, 'Warning', after.reason, after.message);
    }
  }

  /**
   * A JSON merge patch of the status subresource: cheaper for the API server than an apply, and
   * conditions are a whole list we compute, so replacing it is right. Fields that disappeared are
   * set to null. The uid is a precondition, as for every write.
   */
  async #writeStatus(
    ew: ElasticWeb,
    before: ElasticWebStatus,
    status: ElasticWebStatus,
    log: Logger,
  ): Promise<void> {
    const removed = Object.keys(before).filter((k) => !(k in status));
    const patch = {
      metadata: { uid: ew.metadata.uid },
      status: { ...Object.fromEntries(removed.map((k) => [k, null])), ...status },
    };
    try {
      await this.#client.mergePatchStatus(elasticWebType, ew.metadata, patch, fieldManager);
      log.debug({ realQPS: status.realQPS, ready: status.ready }, 'status updated');
    } catch (err) {
      // Deleted (404) or replaced (uid conflict) meanwhile: the next event reconciles the new one.
      if (isApiError(err) && (err.notFound || (err.conflict && /uid/i.test(err.serverMessage)))) return;
      throw err;
    }
  }
}

/** `patch` with the live object's uid: a precondition, so we never write to a replacement. */
function withUid<T extends { metadata?: object }>(patch: T, uid: string | undefined): T {
  return uid === undefined ? patch : { ...patch, metadata: { ...patch.metadata, uid } };
}

/** A Degraded reason and message for a failed write, keeping the API server's own words. */
function describeFailure(what: string, err: unknown): Problem {
  if (err instanceof ApiError) {
    if (
      err.status === 422 &&
      /port is already allocated|provided port is already allocated/i.test(err.serverMessage)
    ) {
      return { reason: 'NodePortConflict', message: `${what}: ${err.serverMessage}` };
    }
    if (err.status === 403) return { reason: 'Forbidden', message: `${what}: ${err.serverMessage}` };
    if (err.status === 0) return { reason: 'APIServerUnreachable', message: `${what}: ${err.serverMessage}` };
    return { reason: 'ApplyFailed', message: `${what}: ${err.serverMessage}` };
  }
  return { reason: 'ApplyFailed', message: `${what}: ${err instanceof Error ? err.message : String(err)}` };
}
