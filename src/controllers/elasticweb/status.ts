/**
 * The status an ElasticWeb should show, as a pure function of what was observed: realQPS from the
 * pods that are Ready now (not from what was asked for), and the Available, Progressing and Degraded
 * conditions as Kubernetes API conventions define them (CamelCase reasons; lastTransitionTime changes
 * only when a condition's status changes).
 */
import type { Condition, ElasticWeb, ElasticWebStatus } from '../../api/v1/elasticweb.ts';
import type { ReplicaPlan } from './desired.ts';

export interface ObservedDeployment {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
  };
}

export interface ObservedService {
  spec?: { ports?: { nodePort?: number }[] };
}

/** Why the operator could not make the world match the spec. */
export interface Problem {
  /** CamelCase, e.g. NodePortConflict, ResourceNotOwned, AdmissionDenied (see classify). */
  reason: string;
  message: string;
}

/** What Observed mode decided (see autoscaling/autoscaler.ts), when the ElasticWeb is in it. */
export interface AutoscalingOutcome {
  observedQPS: number | undefined;
  condition: { status: boolean; reason: string; message: string };
  saturated: boolean;
}

export interface Observed {
  ew: ElasticWeb;
  plan: ReplicaPlan;
  /** Present in Observed mode only. */
  autoscaling?: AutoscalingOutcome;
  deployment: ObservedDeployment | undefined;
  service: ObservedService | undefined;
  problem: Problem | undefined;
  now: Date;
}

const int32Max = 2 ** 31 - 1;

export function computeStatus(o: Observed): ElasticWebStatus {
  const ready = o.deployment?.status?.readyReplicas ?? 0;
  const realQPS = Math.min(ready * o.ew.spec.singlePodsQPS, int32Max);
  const generation = o.ew.metadata.generation;
  const previous = o.ew.status?.conditions ?? [];
  const condition = (type: string, status: boolean, reason: string, message: string): Condition =>
    transition(previous, {
      type,
      status: status ? 'True' : 'False',
      reason,
      message,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime: o.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });

  const nodePort = o.service?.spec?.ports?.[0]?.nodePort;
  const a = o.autoscaling;
  return {
    realQPS,
    ...(a?.observedQPS !== undefined ? { observedQPS: Math.min(a.observedQPS, int32Max) } : {}),
    mode: a ? 'Observed' : 'Declared',
    replicas: o.plan.replicas,
    readyReplicas: ready,
    ready: `${ready}/${o.plan.replicas}`,
    ...(nodePort !== undefined ? { nodePort } : {}),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: [
      available(o, ready, realQPS, condition),
      progressing(o, ready, condition),
      degraded(o, condition),
      ...(a ? [condition('Autoscaling', a.condition.status, a.condition.reason, a.condition.message)] : []),
    ],
  };
}

type MakeCondition = (type: string, status: boolean, reason: string, message: string) => Condition;

function available(o: Observed, ready: number, realQPS: number, condition: MakeCondition): Condition {
  const want = o.plan.replicas;
  if (!o.deployment)
    return condition('Available', false, 'DeploymentNotFound', 'The Deployment does not exist yet.');
  if (want === 0)
    return condition('Available', true, 'ScaledToZero', 'totalQPS is 0, so no pods are needed.');
  if (ready >= want) {
    return condition(
      'Available',
      true,
      'ReplicasReady',
      `${ready}/${want} pods are Ready, serving ${realQPS} QPS.`,
    );
  }
  return condition(
    'Available',
    false,
    'ReplicasNotReady',
    `${ready}/${want} pods are Ready, serving ${realQPS} QPS.`,
  );
}

function progressing(o: Observed, ready: number, condition: MakeCondition): Condition {
  const d = o.deployment;
  if (!d) {
    return o.problem
      ? condition('Progressing', false, o.problem.reason, o.problem.message)
      : condition('Progressing', true, 'Creating', 'Creating the Deployment.');
  }
  const want = o.plan.replicas;
  const s = d.status ?? {};
  const observed = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
  const settled =
    observed &&
    d.spec?.replicas === want &&
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want &&
    ready === want;
  if (settled)
    return condition('Progressing', false, 'RolloutComplete', `${want} up-to-date pods are Ready.`);
  return condition(
    'Progressing',
    true,
    'RollingOut',
    `${s.updatedReplicas ?? 0} of ${want} pods updated, ${ready} Ready, ${s.replicas ?? 0} in total.`,
  );
}

function degraded(o: Observed, condition: MakeCondition): Condition {
  if (o.problem) return condition('Degraded', true, o.problem.reason, o.problem.message);
  if (o.autoscaling?.saturated) {
    return condition(
      'Degraded',
      true,
      'Saturated',
      `The pods serve more than ${o.ew.spec.singlePodsQPS} QPS each and replicas are already at maxReplicas (${o.plan.maxReplicas}): capacity is short. Raise maxReplicas or singlePodsQPS.`,
    );
  }
  if (o.plan.capped) {
    const most = o.plan.maxReplicas * o.ew.spec.singlePodsQPS;
    return condition(
      'Degraded',
      true,
      'MaxReplicasReached',
      `totalQPS ${o.ew.spec.totalQPS ?? 0} needs ${o.plan.needed} pods but maxReplicas is ${o.plan.maxReplicas}: at most ${most} QPS can be served.`,
    );
  }
  return condition('Degraded', false, 'AsExpected', 'The Deployment and the Service match the spec.');
}

/** Keeps the previous lastTransitionTime unless the status changed. */
function transition(previous: Condition[], next: Condition): Condition {
  const before = previous.find((c) => c.type === next.type);
  return before && before.status === next.status
    ? { ...next, lastTransitionTime: before.lastTransitionTime }
    : next;
}

/** Deep equality of JSON values, ignoring key order (the server may reorder keys). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    ka.length === kb.length &&
    ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
