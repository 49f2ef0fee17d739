/**
 * Wires the ElasticWeb controller into a manager, as kubebuilder's SetupWithManager does:
 * For(ElasticWeb).Owns(Deployment).Owns(Service).Owns(PodDisruptionBudget), with caches of only the objects the operator
 * labelled as its own, so it never holds every Deployment and Service of the cluster.
 */

import { type ElasticWeb, elasticWebType } from '../../api/v1/elasticweb.ts';
import {
  apps,
  BucketRateLimiter,
  core,
  type Informer,
  ItemExponentialFailureRateLimiter,
  type Manager,
  MaxOfRateLimiter,
  newControllerManagedBy,
  policy,
  protobufLists,
} from '../../runtime/index.ts';
import { Autoscaler } from './autoscaling/autoscaler.ts';
import { prometheusClient } from './autoscaling/prometheus.ts';
import {
  type CachedDeployment,
  type CachedDisruptionBudget,
  type CachedService,
  slimDeployment,
  slimDisruptionBudget,
  slimElasticWeb,
  slimService,
} from './cached-objects.ts';
import { deploymentPrune, managedByLabel, managedByValue } from './desired.ts';
import { registerElasticWebGauges, verifiedObjects } from './gauges.ts';
import { NodePortIndex } from './nodeport-index.ts';
import { ElasticWebReconciler } from './reconciler.ts';

export const controllerName = 'elasticweb';

export interface ElasticWebControllerOptions {
  maxConcurrentReconciles?: number;
  /** Prometheus that measures traffic for Observed mode (--prometheus-url). */
  prometheusUrl?: string;
  /** Between two measurements of an ElasticWeb in Observed mode (default 10 s). */
  autoscalingIntervalMs?: number;
}

export function setupElasticWebController(manager: Manager, options: ElasticWebControllerOptions = {}) {
  const autoscaler = new Autoscaler({
    query: options.prometheusUrl ? prometheusClient(options.prometheusUrl) : undefined,
    now: () => manager.clock.now(),
  });
  const owned = `${managedByLabel}=${managedByValue}`;
  const nodePorts = new NodePortIndex();
  const { controller, informers } = newControllerManagedBy(manager)
    .named(controllerName)
    .for<ElasticWeb>(elasticWebType, { transform: slimElasticWeb })
    .owns<CachedDeployment>(apps.deployments, {
      labelSelector: owned,
      transform: slimDeployment,
      prune: deploymentPrune,
      protobuf: protobufLists.deployments,
    })
    .owns<CachedService>(core.services, {
      labelSelector: owned,
      transform: slimService,
      protobuf: protobufLists.services,
    })
    .owns<CachedDisruptionBudget>(policy.podDisruptionBudgets, {
      labelSelector: owned,
      transform: slimDisruptionBudget,
      protobuf: protobufLists.podDisruptionBudgets,
    })
    // A deleted Service frees its NodePort for whoever was refused it.
    .watches<CachedService>(core.services, (service, event) =>
      event === 'delete'
        ? (service.spec?.ports ?? []).flatMap((p) =>
            p.nodePort
              ? nodePorts.asking(p.nodePort, `${service.metadata.namespace}/${service.metadata.name}`)
              : [],
          )
        : [],
    )
    .withOptions({
      maxConcurrentReconciles: options.maxConcurrentReconciles,
      // client-go's default lets a failing key wait up to 16 minutes. What fails here (a NodePort
      // held by another Service, a webhook that is down, a policy that refuses) is usually fixed by
      // someone else, with no event to tell us, so a retry never waits more than 30 s: about 14 tries
      // in the first minute, then 2 a minute.
      rateLimiter: new MaxOfRateLimiter(
        new ItemExponentialFailureRateLimiter(5, 30_000),
        new BucketRateLimiter(10, 100),
      ),
      // What owned objects report (mostly the echo of our own writes) waits until changes have
      // stopped arriving for 200 ms (at most 10 s): in a burst, creates come first.
      lowPriorityQuietMs: 200,
    })
    .complete(
      new ElasticWebReconciler({
        autoscaler,
        autoscalingIntervalMs: options.autoscalingIntervalMs,
        verified: verifiedObjects(manager),
      }),
    );
  const elasticWebs = informers.get(elasticWebType) as unknown as Informer<ElasticWeb>;
  elasticWebs.addHandler(nodePorts.handler);
  registerElasticWebGauges(manager, elasticWebs);
  return { controller, informers };
}
