/**
 * Wires the ElasticWeb controller into a manager, as kubebuilder's SetupWithManager does:
 * For(ElasticWeb).Owns(Deployment).Owns(Service), with caches of only the objects the operator
 * labelled as its own, so it never holds every Deployment and Service of the cluster.
 */

import { apiVersion, type ElasticWeb, type ElasticWebStatus, kind } from '../../api/v1/elasticweb.ts';
import type { Informer, KubeObject } from '../../runtime/cache/informer.ts';
import { RecentWrites } from '../../runtime/cache/recent-writes.ts';
import { apps, core } from '../../runtime/client/resource-type.ts';
import { Controller } from '../../runtime/controller/controller.ts';
import type { Manager } from '../../runtime/manager/manager.ts';
import { TextGauge } from '../../runtime/metrics/text-gauge.ts';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
} from '../../runtime/workqueue/rate-limiters.ts';
import {
  type CachedDeployment,
  type CachedService,
  slimDeployment,
  slimElasticWeb,
  slimService,
} from './cached-objects.ts';
import { managedByLabel, managedByValue } from './desired.ts';
import { ElasticWebReconciler, elasticWebType, recentWriteKey } from './reconciler.ts';

export const controllerName = 'elasticweb';

export function setupElasticWebController(
  manager: Manager,
  options: { maxConcurrentReconciles?: number } = {},
) {
  const owned = `${managedByLabel}=${managedByValue}`;
  const caches = {
    elasticWebs: manager.informer<ElasticWeb>(elasticWebType, { transform: slimElasticWeb }),
    deployments: manager.informer<CachedDeployment>(apps.deployments, {
      labelSelector: owned,
      transform: slimDeployment,
    }),
    services: manager.informer<CachedService>(core.services, {
      labelSelector: owned,
      transform: slimService,
    }),
    recent: new RecentWrites<KubeObject | ElasticWebStatus>(),
  };
  // Registered before the controller's handlers: by the time a reconcile runs, the cache is authoritative.
  const keyed = (kind: string) => (o: KubeObject) => recentWriteKey(kind, o.metadata);
  caches.elasticWebs.addHandler(caches.recent.forgetOnEvents(keyed(kind)));
  caches.deployments.addHandler(caches.recent.forgetOnEvents(keyed('Deployment')));
  caches.services.addHandler(caches.recent.forgetOnEvents(keyed('Service')));
  const reconciler = new ElasticWebReconciler({ client: manager.client, caches, recorder: manager.recorder });
  const controller = new Controller({
    name: controllerName,
    reconciler,
    maxConcurrentReconciles: options.maxConcurrentReconciles,
    log: manager.log,
    metrics: manager.metrics,
    // client-go's default lets a failing key wait up to 16 minutes. What fails here (a NodePort
    // held by another Service, a quota) is usually fixed by someone else, with no event to tell us,
    // so a retry never waits more than 30 s.
    // Reports (status, events) wait until changes have stopped arriving for 200 ms (at most 10 s):
    // when a thousand ElasticWebs arrive at once, their Deployments and Services come first.
    lowPriorityQuietMs: 200,
    rateLimiter: new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 30_000),
      new BucketRateLimiter(10, 100),
    ),
  });
  caches.elasticWebs.addHandler(controller.forObjects());
  caches.deployments.addHandler(controller.ownedBy(apiVersion, kind));
  caches.services.addHandler(controller.ownedBy(apiVersion, kind));
  manager.add(controller);
  registerQpsGauges(manager, caches.elasticWebs);
  return { controller, caches };
}

/**
 * elasticweb_desired_qps and elasticweb_real_qps per ElasticWeb. Each ElasticWeb's lines are made when
 * the informer sees it change (and dropped when it is deleted), so a scrape only joins them.
 */
function registerQpsGauges(manager: Manager, elasticWebs: Informer<ElasticWeb>): void {
  const desired = new TextGauge('elasticweb_desired_qps', 'QPS each ElasticWeb asks for (spec.totalQPS).');
  const real = new TextGauge(
    'elasticweb_real_qps',
    'QPS each ElasticWeb really serves now (status.realQPS: Ready pods x singlePodsQPS).',
  );
  const keyOf = (ew: ElasticWeb) => `${ew.metadata.namespace}/${ew.metadata.name}`;
  const set = (ew: ElasticWeb) => {
    const labels = { namespace: ew.metadata.namespace, name: ew.metadata.name };
    desired.set(keyOf(ew), labels, ew.spec.totalQPS ?? 0);
    real.set(keyOf(ew), labels, ew.status?.realQPS ?? 0);
  };
  elasticWebs.addHandler({
    onAdd: set,
    onUpdate: (_old, ew) => set(ew),
    onDelete: (ew) => {
      desired.delete(keyOf(ew));
      real.delete(keyOf(ew));
    },
  });
  manager.metrics.addTextSource(() => desired.render() + real.render());
}
