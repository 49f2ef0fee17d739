/**
 * kube-runtime: a small controller runtime for Kubernetes operators in TypeScript, after
 * controller-runtime (Go) and kube-runtime (Rust). This file is its one entry point: code outside
 * src/runtime imports from here and nowhere else (test/unit/import-boundaries.test.ts checks it).
 *
 * The pieces, in the order data flows through them:
 *   loadRestConfig -> KubeClient (one HTTP client: retries, credentials that rotate, write fence)
 *   Watcher -> Store -> Informer (list/watch into a cache, handlers told of changes)
 *   newControllerManagedBy(manager).for().owns().complete(reconciler) -> Controller + WorkQueue
 *   Reconciler.reconcile(request, {client, recorder, log}) with CachedClient (read-your-writes)
 *   ensureOwnedChild (create, adopt or refuse, drift, strays, apply) and classify (what a failure means)
 *   Manager (caches, leader election, metrics, health, orderly stop)
 */

export { CachedClient } from './cache/cached-client.ts';
export type { InformerHandler, KubeObject, ManagedFieldsEntry, OwnerReference } from './cache/informer.ts';
export { Informer } from './cache/informer.ts';
export {
  ApiError,
  type Classified,
  classify,
  type ErrorKind,
  isNotFound,
  NotLeaderError,
} from './client/errors.ts';
export type { ObjectWithMeta, RequestRecord } from './client/kube-client.ts';
export { KubeClient } from './client/kube-client.ts';
export { type ListSchema, protobufLists } from './client/protobuf/builtin-messages.ts';
export {
  apps,
  coordination,
  core,
  groupOf,
  keyOf,
  type ObjectKey,
  parseKey,
  policy,
  type ResourceType,
  resourcePath,
} from './client/resource-type.ts';
export { loadRestConfig, type RestConfig } from './client/rest-config.ts';
export { type Clock, realClock, sleep, type Timer } from './clock.ts';
export { ControllerBuilder, type ControllerTuning, newControllerManagedBy } from './controller/builder.ts';
export type { ReconcileContext, Reconciler, Request, Result } from './controller/controller.ts';
export { Controller } from './controller/controller.ts';
export { EventRecorder, type EventType, type InvolvedObject } from './events/recorder.ts';
export { flat, intern } from './flat-string.ts';
export { LeaderElector } from './leaderelection/leader-elector.ts';
export { createLogger, type LogFormat, type Logger, type LogLevel } from './log/logger.ts';
export { close, type Handler, parseBindAddress, type Served, serve } from './manager/http-endpoints.ts';
export { Manager, type ManagerOptions } from './manager/manager.ts';
export { Metrics } from './metrics/metrics.ts';
export {
  type SecureMetrics,
  type SecureMetricsOptions,
  startSecureMetrics,
} from './metrics/secure/secure-metrics.ts';
export { TextGauge } from './metrics/text-gauge.ts';
export { findDrift } from './reconcile/drift.ts';
export {
  type ChildOutcome,
  ensureOwnedChild,
  type OwnedChild,
  removeOwnedChild,
} from './reconcile/ensure-child.ts';
export { parseQuantity } from './reconcile/quantity.ts';
export {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from './workqueue/rate-limiters.ts';
