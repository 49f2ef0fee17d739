/**
 * How many replicas an ElasticWeb in Observed mode should have, as a pure function of what was
 * measured. The rules, and why:
 *  - capacity for the traffic seen: ceil(observedQPS / (singlePodsQPS x targetUtilization%)); the
 *    target below 100% leaves headroom for bursts between two measurements (Knative and the HPA
 *    both aim below full load);
 *  - never below the declared floor ceil(totalQPS / singlePodsQPS), and never below one pod (traffic
 *    is measured at the pods: with none there would be nothing left to measure);
 *  - never above maxReplicas;
 *  - within 10% of the target load per pod, keep the current count (the HPA's tolerance), so noise
 *    does not flap the Deployment;
 *  - scale up at once; scale down only to the highest recommendation of the stabilization window
 *    (see StabilizationWindow), so a dip does not remove pods that the next minute needs;
 *  - no measurement (Prometheus down, no series): hold the current count (at least the floor); never
 *    scale down for lack of data.
 */

export interface RecommendInput {
  singlePodsQPS: number;
  totalQPS: number;
  maxReplicas: number;
  /** Percent of singlePodsQPS each pod should run at (1-100). */
  targetUtilization: number;
  /** QPS measured (the larger of the steady and the fast window), or undefined when unavailable. */
  observedQPS: number | undefined;
  /** Replicas the Deployment has now (spec.replicas). */
  currentReplicas: number;
  /** Pods Ready now, for the saturation check. */
  readyReplicas: number;
}

export interface Recommendation {
  /** What the traffic asks for now, before the stabilization window. */
  replicas: number;
  /** The declared floor (at least 1). */
  floor: number;
  /** The traffic needs more than maxReplicas allows, and the Ready pods run above singlePodsQPS. */
  saturated: boolean;
  /** Why, in a few words, for logs and events. */
  why: string;
}

/** Relative load change ignored around the target (the HPA's default). */
export const tolerance = 0.1;

export function recommend(input: RecommendInput): Recommendation {
  const single = Math.max(1, input.singlePodsQPS);
  const floor = Math.max(1, Math.ceil(Math.max(0, input.totalQPS) / single));
  const max = Math.max(1, input.maxReplicas);
  const clamp = (n: number) => Math.min(max, Math.max(floor, n));
  if (input.observedQPS === undefined) {
    return {
      replicas: clamp(input.currentReplicas),
      floor: Math.min(floor, max),
      saturated: false,
      why: 'no measurement: holding',
    };
  }
  const observed = Math.max(0, input.observedQPS);
  const perPodTarget = (single * Math.min(100, Math.max(1, input.targetUtilization))) / 100;
  let wanted = Math.ceil(observed / perPodTarget);
  const current = input.currentReplicas;
  if (current > 0) {
    const load = observed / (current * perPodTarget);
    if (Math.abs(load - 1) <= tolerance) wanted = current;
  }
  const ready = Math.max(0, input.readyReplicas);
  const saturated = wanted > max && (ready === 0 ? observed > 0 : observed / ready > single);
  return {
    replicas: clamp(wanted),
    floor: Math.min(floor, max),
    saturated,
    why: `${Math.round(observed)} QPS at ${perPodTarget} per pod needs ${wanted}`,
  };
}
