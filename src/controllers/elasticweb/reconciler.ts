/**
 * Reconciles one ElasticWeb: makes its Deployment, Service and PodDisruptionBudget match the spec,
 * then writes the status the cluster really shows. Level-based: it reads everything from the caches,
 * so the same code handles create, update, drift, deletion of a child, and restart.
 *
 * The runtime's ensureOwnedChild does the writing (create on a miss, refuse what is not ours, apply
 * only on drift, delete strays, never fight admission); this file decides what the ElasticWeb says
 * about it: the status, its conditions, and the events people read.
 */
import { defaults, type ElasticWeb, type ElasticWebStatus, elasticWebType } from '../../api/v1/elasticweb.ts';
import {
  apps,
  type ChildOutcome,
  type Classified,
  classify,
  core,
  type EventRecorder,
  ensureOwnedChild,
  policy,
  type ReconcileContext,
  type Reconciler,
  type Request,
  type Result,
  removeOwnedChild,
} from '../../runtime/index.ts';
import { type AutoscaleDecision, Autoscaler } from './autoscaling/autoscaler.ts';
import type { CachedDeployment, CachedDisruptionBudget, CachedService } from './cached-objects.ts';
import {
  deploymentExact,
  deploymentPrune,
  desiredDeployment,
  desiredDisruptionBudget,
  desiredService,
  disruptionBudgetExact,
  instanceLabel,
  replicaPlan,
  serviceExact,
} from './desired.ts';
import { computeStatus, type Problem, sameJson } from './status.ts';

/** How often to look again at a name taken by an object the operator does not own. */
const notOwnedRecheckMs = 60_000;

/** Degraded reasons whose Warning event is sent once, when the condition turns to them, not on every look. */
const announceOnTransition = new Set([
  'MaxReplicasReached',
  'ResourceNotOwned',
  'MutatedByAdmission',
  'Saturated',
]);

/** Failures that only mean "look again": someone changed the object under us; no person needs to act. */
const quietFailures = new Set(['conflict', 'replaced', 'notFound']);

export class ElasticWebReconciler implements Reconciler {
  readonly #now: () => Date;
  readonly #autoscaler: Autoscaler | undefined;
  readonly #autoscalingIntervalMs: number;

  /**
   * `autoscaler` serves ElasticWebs in Observed mode (without one they hold their replicas and say
   * the metric is unavailable); they are looked at again every `autoscalingIntervalMs`.
   */
  readonly #verified: { verified(key: string): void; forget(key: string): void } | undefined;

  constructor(
    options: {
      now?: () => Date;
      autoscaler?: Autoscaler;
      autoscalingIntervalMs?: number;
      /** Told of each ElasticWeb a reconcile left right, and of each one deleted (a metric). */
      verified?: { verified(key: string): void; forget(key: string): void };
    } = {},
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#verified = options.verified;
    this.#autoscaler = options.autoscaler;
    this.#autoscalingIntervalMs = options.autoscalingIntervalMs ?? 10_000;
  }

  async reconcile(
    request: Request,
    { client, recorder, log, signal }: ReconcileContext,
  ): Promise<Result | undefined> {
    const ew = client.get<ElasticWeb>(elasticWebType, request);
    const key = `${request.namespace}/${request.name}`;
    // Gone or going: its Deployment and Service carry owner references, so the garbage collector
    // removes them; nothing to do here, and no finalizer is needed.
    if (!ew || ew.metadata.deletionTimestamp) {
      this.#autoscaler?.forget(key);
      this.#verified?.forget(key);
      return undefined;
    }

    const observed = (ew.spec.autoscaling?.mode ?? defaults.autoscaling.mode) === 'Observed';
    let plan = replicaPlan(ew.spec);
    let autoscaling: AutoscaleDecision | undefined;
    if (observed) {
      // Without an autoscaler (a test that made none) it is as if no Prometheus were configured.
      const autoscaler =
        this.#autoscaler ?? new Autoscaler({ query: undefined, now: () => performance.now() });
      autoscaling = await autoscaler.decide(
        ew,
        client.get<CachedDeployment>(apps.deployments, request),
        signal,
      );
      plan = { ...plan, replicas: autoscaling.replicas, capped: autoscaling.floor > plan.maxReplicas };
    } else {
      this.#autoscaler?.forget(key);
    }
    const adoptable = (live: { metadata: { labels?: Record<string, string> } }) =>
      live.metadata.labels?.[instanceLabel] === ew.metadata.name;
    // All three children at once: a new ElasticWeb costs one round trip before its status, not two.
    const [deployment, service, budget] = await Promise.all([
      ensureOwnedChild<CachedDeployment>(client, ew, {
        type: apps.deployments,
        desired: desiredDeployment(ew, plan.replicas) as never,
        exact: deploymentExact,
        prune: deploymentPrune,
        adoptable,
        narrow: ['spec.replicas'], // a scale writes the replicas alone
      }),
      ensureOwnedChild<CachedService>(client, ew, {
        type: core.services,
        desired: desiredService(ew) as never,
        exact: serviceExact,
        adoptable,
      }),
      // A drain may take one pod at a time; with no pods there is nothing to protect.
      plan.replicas > 0
        ? ensureOwnedChild<CachedDisruptionBudget>(client, ew, {
            type: policy.podDisruptionBudgets,
            desired: desiredDisruptionBudget(ew) as never,
            exact: disruptionBudgetExact,
            adoptable,
          })
        : removeOwnedChild(client, ew, policy.podDisruptionBudgets, ew.metadata).then((r) => ({
            object: undefined,
            ...(r.failure ? { failure: r.failure, error: r.error } : {}),
          })),
    ]);
    const why = autoscaling
      ? `${autoscaling.observedQPS ?? '?'} QPS measured, at ${ew.spec.autoscaling?.targetUtilization ?? defaults.autoscaling.targetUtilization}% of ${ew.spec.singlePodsQPS} QPS per pod`
      : `totalQPS ${ew.spec.totalQPS ?? 0}, ${ew.spec.singlePodsQPS} QPS per pod`;
    if (deployment.object || deployment.notOwned || deployment.created || deployment.updated)
      log.debug({ deployment: describeOutcome(deployment), service: describeOutcome(service) }, 'children');

    const problem =
      problemOf('Deployment', ew, deployment) ??
      problemOf('Service', ew, service) ??
      problemOf('PodDisruptionBudget', ew, budget);
    const shown = ew.status ?? {};
    let status: ElasticWebStatus | undefined;
    try {
      status = computeStatus({
        ew,
        plan,
        ...(autoscaling ? { autoscaling } : {}),
        deployment: deployment.object,
        service: service.object,
        problem,
        now: this.#now(),
      });
      if (!sameJson(status, shown)) await this.#writeStatus(client, ew, status);
    } finally {
      // Events go out after the status, which is what people and clients wait for: sent first, an
      // event's write would compete with it at the API server (and, in a burst, delay every status).
      this.#announceWrites(recorder, ew, deployment, service, budget, why);
      if (status) this.#announceTransition(recorder, shown, ew, status);
    }

    // A failure someone must look at is thrown (logged, counted, retried with backoff) even when
    // another child only met a conflict; conflicts alone are retried quietly.
    const outcomes = [deployment, service, budget];
    const loud = outcomes.find((o) => o.failure && !quietFailures.has(o.failure.kind));
    if (loud) throw loud.error;
    if (outcomes.some((o) => o.failure)) return { requeue: true };
    if (!problem) this.#verified?.verified(key);
    if (deployment.notOwned || service.notOwned || ('notOwned' in budget && budget.notOwned))
      return { requeueAfterMs: notOwnedRecheckMs };
    // Observed mode: measure again after the interval, as the HPA does.
    return observed ? { requeueAfterMs: this.#autoscalingIntervalMs } : undefined;
  }

  /** One Normal event per change: what was created (both children at once for a new ElasticWeb), scaled or updated. */
  #announceWrites(
    recorder: EventRecorder,
    ew: ElasticWeb,
    deployment: ChildOutcome<CachedDeployment>,
    service: ChildOutcome<CachedService>,
    budget: ChildOutcome<unknown>,
    why: string,
  ): void {
    const created = [
      deployment.created &&
        `Deployment ${ew.metadata.name} with ${deployment.object?.spec?.replicas ?? 0} replicas`,
      service.created &&
        `Service ${ew.metadata.name} on NodePort ${service.object?.spec?.ports?.[0]?.nodePort ?? '?'}`,
    ].filter(Boolean);
    if (created.length > 0) recorder.event(ew, 'Normal', 'Created', `Created ${created.join(' and ')}`);
    for (const [kind, outcome] of [
      ['Deployment', deployment],
      ['Service', service],
    ] as const) {
      if (!outcome.updated || outcome.mutatedByAdmission) continue;
      if (kind === 'Deployment' && outcome.drift === 'spec.replicas') {
        recorder.event(
          ew,
          'Normal',
          'Scaled',
          `Scaled Deployment ${ew.metadata.name} to ${deployment.object?.spec?.replicas} replicas (${why})`,
        );
      } else {
        recorder.event(
          ew,
          'Normal',
          'Updated',
          `Updated ${kind} ${ew.metadata.name}: ${outcome.drift} differed from the spec`,
        );
      }
    }
    for (const [kind, outcome] of [
      ['Deployment', deployment],
      ['Service', service],
      ['PodDisruptionBudget', budget],
    ] as const) {
      if (outcome.failure && !quietFailures.has(outcome.failure.kind)) {
        const p = failureProblem(`${kind} ${ew.metadata.namespace}/${ew.metadata.name}`, outcome.failure);
        recorder.event(ew, 'Warning', p.reason, p.message);
      }
    }
  }

  /**
   * Events for states that persist without a failing write, said once when they begin (and once when
   * the traffic metric is back), not on every look: Degraded reasons of announceOnTransition, and the
   * Autoscaling condition losing or regaining its metric.
   */
  #announceTransition(
    recorder: EventRecorder,
    shown: ElasticWebStatus,
    ew: ElasticWeb,
    status: ElasticWebStatus,
  ): void {
    const before = shown.conditions?.find((c) => c.type === 'Degraded');
    const after = status.conditions?.find((c) => c.type === 'Degraded');
    if (
      after?.status === 'True' &&
      announceOnTransition.has(after.reason) &&
      before?.reason !== after.reason
    ) {
      recorder.event(ew, 'Warning', after.reason, after.message);
    }
    const was = shown.conditions?.find((c) => c.type === 'Autoscaling');
    const now = status.conditions?.find((c) => c.type === 'Autoscaling');
    if (now && now.reason !== was?.reason) {
      if (now.status === 'False') recorder.event(ew, 'Warning', now.reason, now.message);
      else if (was) recorder.event(ew, 'Normal', now.reason, now.message);
    }
  }

  /**
   * Replaces the status with a uid precondition (see CachedClient.replaceStatus): a status computed
   * for one ElasticWeb never lands on another re-created under the same name. Deleted or replaced
   * meanwhile: nothing to report; the new one's own events reconcile it.
   */
  async #writeStatus(
    client: ReconcileContext['client'],
    ew: ElasticWeb,
    status: ElasticWebStatus,
  ): Promise<void> {
    try {
      await client.replaceStatus(elasticWebType, ew, status);
    } catch (err) {
      const kind = classify(err).kind;
      if (kind === 'replaced' || kind === 'notFound') return;
      throw err;
    }
  }
}

/** What the Degraded condition says about one child, if anything is wrong with it. */
function problemOf(kind: string, ew: ElasticWeb, outcome: ChildOutcome<unknown>): Problem | undefined {
  const what = `${kind} ${ew.metadata.namespace}/${ew.metadata.name}`;
  if (outcome.notOwned) {
    return {
      reason: 'ResourceNotOwned',
      message: `${what} already exists and is not controlled by this ElasticWeb (its controller: ${outcome.notOwned.holder}); the operator leaves it alone. Delete it or rename the ElasticWeb.`,
    };
  }
  if (outcome.mutatedByAdmission) {
    return {
      reason: 'MutatedByAdmission',
      message: `${what}: ${outcome.mutatedByAdmission} is changed by an admission policy or webhook on every write; the operator keeps what admission sets instead of fighting it.`,
    };
  }
  if (outcome.failure && !quietFailures.has(outcome.failure.kind))
    return failureProblem(what, outcome.failure);
  return undefined;
}

/** A Degraded reason and message for a failed write, keeping the API server's own words (which name the policy). */
function failureProblem(what: string, failure: Classified): Problem {
  if (failure.kind === 'invalid' && /port is already allocated/i.test(failure.message))
    return { reason: 'NodePortConflict', message: `${what}: ${failure.message}` };
  return { reason: failure.reason, message: `${what}: ${failure.message}` };
}

function describeOutcome(o: ChildOutcome<unknown>): string {
  if (o.created) return 'created';
  if (o.updated) return `updated (${o.drift})`;
  if (o.notOwned) return 'not owned';
  if (o.failure) return `failed (${o.failure.kind})`;
  return 'unchanged';
}
