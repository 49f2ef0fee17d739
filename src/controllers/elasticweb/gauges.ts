/**
 * Per-ElasticWeb series, exported only by the replica that leads (so sums over replicas are right):
 *  - elasticweb_desired_qps{namespace,name}: spec.totalQPS;
 *  - elasticweb_real_qps{namespace,name}: status.realQPS (Ready pods x singlePodsQPS);
 *  - elasticweb_observed_qps{namespace,name}: status.observedQPS (measured traffic, Observed mode);
 *  - elasticweb_status_condition{namespace,name,type,status,reason} 1: each current condition, as
 *    kube-state-metrics exports conditions, for alerts (Degraded for a while, Saturated...).
 * Each ElasticWeb's lines are made when the informer sees it change (and dropped when it is
 * deleted), so a scrape only joins them.
 */

import type { ElasticWeb } from '../../api/v1/elasticweb.ts';
import { type Informer, type Manager, TextGauge } from '../../runtime/index.ts';

const conditionTypes = ['Available', 'Progressing', 'Degraded', 'Autoscaling'];

export function registerElasticWebGauges(manager: Manager, elasticWebs: Informer<ElasticWeb>): void {
  const desired = new TextGauge('elasticweb_desired_qps', 'QPS each ElasticWeb asks for (spec.totalQPS).');
  const real = new TextGauge(
    'elasticweb_real_qps',
    'QPS each ElasticWeb really serves now (status.realQPS: Ready pods x singlePodsQPS).',
  );
  const observed = new TextGauge(
    'elasticweb_observed_qps',
    'QPS each ElasticWeb was measured serving (status.observedQPS; Observed mode only).',
  );
  const conditions = new TextGauge(
    'elasticweb_status_condition',
    'The current conditions of each ElasticWeb: 1 per (type, status, reason).',
  );
  const keyOf = (ew: ElasticWeb) => `${ew.metadata.namespace}/${ew.metadata.name}`;
  const drop = (key: string) => {
    desired.delete(key);
    real.delete(key);
    observed.delete(key);
    for (const type of conditionTypes) conditions.delete(`${key}/${type}`);
  };
  const set = (ew: ElasticWeb) => {
    const key = keyOf(ew);
    drop(key);
    const labels = { namespace: ew.metadata.namespace, name: ew.metadata.name };
    desired.set(key, labels, ew.spec.totalQPS ?? 0);
    real.set(key, labels, ew.status?.realQPS ?? 0);
    if (ew.status?.observedQPS !== undefined) observed.set(key, labels, ew.status.observedQPS);
    for (const c of ew.status?.conditions ?? []) {
      if (!conditionTypes.includes(c.type)) continue;
      conditions.set(`${key}/${c.type}`, { ...labels, type: c.type, status: c.status, reason: c.reason }, 1);
    }
  };
  elasticWebs.addHandler({ onAdd: set, onUpdate: (_old, ew) => set(ew), onDelete: (ew) => drop(keyOf(ew)) });
  manager.metrics.addTextSource(
    () => desired.render() + real.render() + observed.render() + conditions.render(),
    { leaderOnly: true },
  );
}

/**
 * elasticweb_verified_objects: how many distinct ElasticWebs a reconcile has left right (children as
 * desired, status written) since this process started, and
 * elasticweb_verified_objects_last_timestamp_seconds: when that count last grew. The benchmark times a
 * restart with them (the Go peers export the same pair): "every ElasticWeb verified" is a user's
 * clock, where a count of reconciles is not.
 */
export function verifiedObjects(manager: Manager): {
  verified(key: string): void;
  forget(key: string): void;
} {
  const keys = new Set<string>();
  const count = manager.metrics.gauge(
    'elasticweb_verified_objects',
    'Distinct ElasticWebs reconciled to their desired state (children and status) since start.',
  );
  const last = manager.metrics.gauge(
    'elasticweb_verified_objects_last_timestamp_seconds',
    'Unix time (millisecond precision) when elasticweb_verified_objects last grew.',
  );
  count.set(0);
  return {
    verified(key) {
      if (keys.has(key)) return;
      keys.add(key);
      count.set(keys.size);
      last.set(Date.now() / 1000);
    },
    forget(key) {
      if (keys.delete(key)) count.set(keys.size);
    },
  };
}
