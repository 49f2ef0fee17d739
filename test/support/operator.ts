/**
 * Test fixtures for end-to-end tests: a local cluster with the ElasticWeb CRD installed, the operator
 * running in this process against it (through a real kubeconfig, as `npm start` would), and small
 * helpers to act on and wait for the cluster.
 */

import type { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { elasticWebCrd } from '../../src/api/v1/crd.ts';
import { setupElasticWebController } from '../../src/controllers/elasticweb/setup.ts';
import {
  createLogger,
  type LogLevel,
  loadRestConfig,
  Manager,
  type RequestRecord,
} from '../../src/runtime/index.ts';

/** Polls `probe` until it returns something other than undefined; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Installs the CRD from its TypeScript definition and waits until the API serves it. */
export async function installCrd(admin: RawClient): Promise<void> {
  const crd = elasticWebCrd();
  await admin.must('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd, [201, 409]);
  await waitFor('the CRD to be Established', async () => {
    const res = await admin.request(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
    );
    const established = res
      .json<{ status?: { conditions?: { type: string; status: string }[] } }>()
      .status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    return established ? true : undefined;
  });
  await waitFor('the elasticwebs resource to be served', async () =>
    (await admin.request('GET', '/apis/elasticweb.example.com/v1/elasticwebs')).status === 200
      ? true
      : undefined,
  );
}

export interface RunningOperator {
  manager: Manager;
  /** Every API request the operator made, in order. */
  requests: RequestRecord[];
  /** Requests that change something (create, update, patch, apply, delete). */
  writes(): RequestRecord[];
  stop(): Promise<void>;
}

/** Starts the operator in this process against `cluster` (admin kubeconfig unless another is given). */
export async function startOperator(
  cluster: LocalCluster,
  options: {
    kubeconfig?: string;
    maxConcurrentReconciles?: number;
    namespace?: string;
    logLevel?: LogLevel;
    /** Lease to lead on (the namespace must exist); none by default. */
    leaderElection?: { namespace: string; id: string };
    /** Observed mode's Prometheus, and how often it is asked (default 10 s). */
    prometheusUrl?: string;
    autoscalingIntervalMs?: number;
    /** Where /metrics listens (default: a free loopback port). */
    metricsBindAddress?: string;
  } = {},
): Promise<RunningOperator> {
  const requests: RequestRecord[] = [];
  const log = createLogger({
    level: options.logLevel ?? (process.env.OPERATOR_LOG_LEVEL as LogLevel) ?? 'silent',
  });
  const manager = new Manager({
    restConfig: await loadRestConfig(options.kubeconfig ?? cluster.kubeconfigPath),
    log,
    name: 'elasticweb-operator',
    namespace: options.namespace,
    metricsBindAddress: options.metricsBindAddress ?? '127.0.0.1:0',
    healthProbeBindAddress: '127.0.0.1:0',
    onRequest: (r) => requests.push(r),
    leaderElection: options.leaderElection,
  });
  setupElasticWebController(manager, {
    maxConcurrentReconciles: options.maxConcurrentReconciles,
    prometheusUrl: options.prometheusUrl,
    autoscalingIntervalMs: options.autoscalingIntervalMs,
  });
  await manager.start();
  return {
    manager,
    requests,
    writes: () => requests.filter((r) => !['get', 'list', 'watch'].includes(r.verb)),
    stop: () => manager.stop(),
  };
}

export const ewPath = (namespace: string, name?: string) =>
  `/apis/elasticweb.example.com/v1/namespaces/${namespace}/elasticwebs${name ? `/${name}` : ''}`;
export const deploymentPath = (namespace: string, name: string) =>
  `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`;
export const servicePath = (namespace: string, name: string) =>
  `/api/v1/namespaces/${namespace}/services/${name}`;

export async function createNamespace(admin: RawClient, name: string): Promise<void> {
  await admin.must('POST', '/api/v1/namespaces', { metadata: { name } }, [201, 409]);
}

export function elasticWeb(namespace: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'elasticweb.example.com/v1', kind: 'ElasticWeb', metadata: { name, namespace }, spec };
}

/** Creates an ElasticWeb as the admin; fails unless the API server accepts it. */
export async function createElasticWeb(
  admin: RawClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
) {
  await admin.must('POST', ewPath(namespace), elasticWeb(namespace, name, spec));
}

/** The seed article's sample: 2400 QPS at 800 per pod, on NodePort 30003. */
export const articleSample = { image: 'nginx:1.17.1', port: 30003, singlePodsQPS: 800, totalQPS: 2400 };
