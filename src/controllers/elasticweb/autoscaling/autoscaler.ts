/**
 * Observed mode, for one ElasticWeb at a time: measure its traffic (Prometheus), recommend replicas
 * (recommend.ts), stabilize scale-downs (stabilization.ts), and say so in a condition.
 *
 * The reconciler asks again every `intervalMs` while an ElasticWeb is in Observed mode (a requeue),
 * as the HPA re-evaluates every 15 s. What the status shows of the measurement is kept steady: a
 * new observedQPS is reported only when it moved by more than 5% (or 1 QPS), so traffic noise does
 * not turn into a status write every interval.
 */
import type { ElasticWeb } from '../../../api/v1/elasticweb.ts';
import { defaults } from '../../../api/v1/elasticweb.ts';
import type { InstantQuery, PrometheusError } from './prometheus.ts';
import { recommend } from './recommend.ts';
import { StabilizationWindow } from './stabilization.ts';
import { defaultTrafficQuery, fastWindow, renderQuery, steadyWindow, usesWindow } from './traffic-query.ts';

export interface AutoscalingCondition {
  status: boolean;
  reason: 'TrafficObserved' | 'MetricUnavailable';
  message: string;
}

export interface AutoscaleDecision {
  /** Replicas the Deployment should have now. */
  replicas: number;
  /** The declared floor, ceil(totalQPS / singlePodsQPS) (at least 1), before maxReplicas. */
  floor: number;
  /** What the status reports as observedQPS (steady: see the file comment); absent when unmeasured. */
  observedQPS: number | undefined;
  condition: AutoscalingCondition;
  saturated: boolean;
}

export interface AutoscalerOptions {
  /** Undefined when the operator was given no --prometheus-url. */
  query: InstantQuery | undefined;
  /** Monotonic milliseconds. */
  now: () => number;
}

export class Autoscaler {
  readonly #o: AutoscalerOptions;
  readonly #window = new StabilizationWindow();

  constructor(options: AutoscalerOptions) {
    this.#o = options;
  }

  async decide(
    ew: ElasticWeb,
    deployment: { spec?: { replicas?: number }; status?: { readyReplicas?: number } } | undefined,
    signal?: AbortSignal,
  ): Promise<AutoscaleDecision> {
    const key = `${ew.metadata.namespace}/${ew.metadata.name}`;
    const a = ew.spec.autoscaling ?? {};
    const targetUtilization = a.targetUtilization ?? defaults.autoscaling.targetUtilization;
    const windowSeconds =
      a.scaleDownStabilizationSeconds ?? defaults.autoscaling.scaleDownStabilizationSeconds;
    let observed: number | undefined;
    let unavailable: string | undefined;
    try {
      observed = await this.#measure(ew, signal);
      if (observed === undefined)
        unavailable = 'the traffic query matched no series (do the pods export a request counter?)';
    } catch (err) {
      unavailable = (err as PrometheusError).message;
    }
    const current = deployment?.spec?.replicas ?? 0;
    const r = recommend({
      singlePodsQPS: ew.spec.singlePodsQPS,
      totalQPS: ew.spec.totalQPS ?? 0,
      maxReplicas: ew.spec.maxReplicas ?? defaults.maxReplicas,
      targetUtilization,
      observedQPS: observed,
      currentReplicas: current,
      readyReplicas: deployment?.status?.readyReplicas ?? 0,
    });
    // Without a measurement nothing is recorded: the window neither grows nor ages on no data.
    const replicas =
      observed === undefined
        ? r.replicas
        : this.#window.apply(
            key,
            this.#o.now(),
            windowSeconds * 1000,
            r.replicas,
            Math.max(current, r.floor),
          );
    const reported = steady(observed, ew.status?.observedQPS);
    const condition: AutoscalingCondition =
      unavailable !== undefined
        ? {
            status: false,
            reason: 'MetricUnavailable',
            message: `Holding ${replicas} replicas (never fewer than ${r.floor}): ${unavailable}`,
          }
        : {
            status: true,
            reason: 'TrafficObserved',
            message: `${replicas} replicas for ${reported} QPS measured, at ${targetUtilization}% of ${ew.spec.singlePodsQPS} QPS per pod (never fewer than ${r.floor}; scale-down waits ${windowSeconds} s).`,
          };
    return { replicas, floor: r.floor, observedQPS: reported, condition, saturated: r.saturated };
  }

  /** Forgets an ElasticWeb that left Observed mode or was deleted. */
  forget(key: string): void {
    this.#window.forget(key);
  }

  async #measure(ew: ElasticWeb, signal?: AbortSignal): Promise<number | undefined> {
    const query = this.#o.query;
    if (!query) throw new Error('the operator was started without --prometheus-url (env PROMETHEUS_URL)');
    const template = ew.spec.autoscaling?.query ?? defaultTrafficQuery();
    const at = (window: string) =>
      query(
        renderQuery(template, { namespace: ew.metadata.namespace, name: ew.metadata.name, window }),
        signal,
      );
    if (!usesWindow(template)) return at(steadyWindow);
    const [steadyQps, fastQps] = await Promise.all([at(steadyWindow), at(fastWindow)]);
    if (steadyQps === undefined && fastQps === undefined) return undefined;
    return Math.max(steadyQps ?? 0, fastQps ?? 0);
  }
}

/** The observedQPS to report: the measurement rounded, or the shown one while within 5% (1 QPS) of it. */
function steady(measured: number | undefined, shown: number | undefined): number | undefined {
  if (measured === undefined) return shown;
  const rounded = Math.round(measured);
  if (shown !== undefined && Math.abs(rounded - shown) <= Math.max(1, shown * 0.05)) return shown;
  return rounded;
}
