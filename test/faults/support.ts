/**
 * Shared by the fault scenarios: many ElasticWebs at once, an exact check of the end state, the
 * operator's own counters, and a figures file the reliability report is written from.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { clusterRules, leaderElectionRules } from '../../src/rbac.ts';
import { createElasticWeb, createNamespace, ewPath } from '../support/operator.ts';
import type { OperatorProcess } from '../support/operator-process.ts';

export interface Spec {
  image: string;
  singlePodsQPS: number;
  totalQPS?: number;
  port?: number;
  maxReplicas?: number;
}

interface Owned {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    ownerReferences?: { uid: string; kind: string; controller?: boolean }[];
  };
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, unknown>;
    ports?: { port: number; targetPort: number; nodePort: number }[];
    template?: { spec: { containers: { image: string; ports: { containerPort: number }[] }[] } };
  };
  status?: { readyReplicas?: number };
}

export interface ElasticWebObject {
  metadata: { name: string; namespace: string; uid: string; generation: number };
  spec: Spec & { containerPort?: number };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    realQPS?: number;
    nodePort?: number;
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message?: string }[];
  };
}

/** Runs `fn` over `items`, `concurrency` at a time. */
export async function inParallel<T>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

export async function createMany(
  admin: RawClient,
  ns: string,
  count: number,
  spec: (i: number) => Spec,
): Promise<string[]> {
  await createNamespace(admin, ns);
  const names = Array.from({ length: count }, (_, i) => `ew-${i}`);
  await inParallel(names, 20, async (name) => {
    await createElasticWeb(admin, ns, name, { ...spec(Number(name.slice(3))) });
  });
  return names;
}

/** JSON merge patch as the admin; fails the test unless the server accepts it. */
export async function mergePatch(admin: RawClient, path: string, patch: unknown): Promise<void> {
  const res = await admin.request('PATCH', path, patch, 'application/merge-patch+json');
  assert.equal(res.status, 200, `PATCH ${path}: ${res.body}`);
}

export function expectedReplicas(spec: Spec): number {
  return Math.min(Math.ceil((spec.totalQPS ?? 0) / spec.singlePodsQPS), spec.maxReplicas ?? 100);
}

const list = async <T>(admin: RawClient, path: string) =>
  (await admin.must('GET', path)).json<{ items: T[] }>().items;

export interface ClusterState {
  elasticWebs: ElasticWebObject[];
  deployments: Owned[];
  services: Owned[];
}

export async function snapshot(admin: RawClient, ns: string): Promise<ClusterState> {
  const [elasticWebs, deployments, services] = await Promise.all([
    list<ElasticWebObject>(admin, ewPath(ns)),
    list<Owned>(admin, `/apis/apps/v1/namespaces/${ns}/deployments`),
    list<Owned>(admin, `/api/v1/namespaces/${ns}/services`),
  ]);
  return { elasticWebs, deployments, services };
}

/**
 * Whether every ElasticWeb of `ns` has converged, exactly: one Deployment and one Service of its
 * name, controlled by it, shaped as its spec says; status true to them; and nothing else labelled
 * as the operator's (no duplicate, no orphan). Returns the reasons it has not, or [] when it has.
 */
export function problems(state: ClusterState): string[] {
  const out: string[] = [];
  const byUid = new Map(state.elasticWebs.map((ew) => [ew.metadata.uid, ew]));
  for (const ew of state.elasticWebs) {
    const name = ew.metadata.name;
    const d = state.deployments.find((o) => o.metadata.name === name);
    const s = state.services.find((o) => o.metadata.name === name);
    const want = expectedReplicas(ew.spec);
    const controller = (o: Owned | undefined) => o?.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    if (!d) out.push(`${name}: no Deployment`);
    else {
      if (controller(d) !== ew.metadata.uid) out.push(`${name}: Deployment not controlled by it`);
      if (d.spec.replicas !== want) out.push(`${name}: Deployment replicas ${d.spec.replicas}, want ${want}`);
      if (d.spec.template?.spec.containers[0]?.image !== ew.spec.image) out.push(`${name}: Deployment image`);
      const port = d.spec.template?.spec.containers[0]?.ports[0]?.containerPort;
      if (port !== (ew.spec.containerPort ?? 80)) out.push(`${name}: container port ${port}`);
    }
    if (!s) out.push(`${name}: no Service`);
    else {
      if (controller(s) !== ew.metadata.uid) out.push(`${name}: Service not controlled by it`);
      if (ew.spec.port !== undefined && s.spec.ports?.[0]?.nodePort !== ew.spec.port)
        out.push(`${name}: nodePort`);
      if (s.spec.ports?.length !== 1 || s.spec.ports[0]?.targetPort !== (ew.spec.containerPort ?? 80)) {
        out.push(`${name}: Service ports`);
      }
      const selector = s.spec.selector as Record<string, string> | undefined;
      if (JSON.stringify(selector) !== JSON.stringify({ 'elasticweb.example.com/instance': name })) {
        out.push(`${name}: Service selector ${JSON.stringify(selector)}`);
      }
    }
    const st = ew.status;
    if (st?.observedGeneration !== ew.metadata.generation)
      out.push(`${name}: status.observedGeneration stale`);
    if (st?.replicas !== want) out.push(`${name}: status.replicas ${st?.replicas}, want ${want}`);
    if (d && st?.readyReplicas !== (d.status?.readyReplicas ?? 0)) out.push(`${name}: status.readyReplicas`);
    if (s && st?.nodePort !== s.spec.ports?.[0]?.nodePort) out.push(`${name}: status.nodePort`);
  }
  for (const o of [...state.deployments, ...state.services]) {
    if (o.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'elasticweb-operator') continue;
    const owner = o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    if (!owner || !byUid.has(owner)) out.push(`${o.metadata.name}: orphan`);
  }
  const count = (objs: Owned[]) =>
    objs.filter((o) => o.metadata.labels?.['app.kubernetes.io/managed-by']).length;
  if (count(state.deployments) > state.elasticWebs.length) out.push('more Deployments than ElasticWebs');
  if (count(state.services) > state.elasticWebs.length) out.push('more Services than ElasticWebs');
  return out;
}

/** Waits until every ElasticWeb of `ns` has converged; returns the time it took (ms). */
export async function waitConverged(admin: RawClient, ns: string, timeoutMs = 180_000): Promise<number> {
  const started = Date.now();
  let last: string[] = [];
  while (Date.now() - started < timeoutMs) {
    try {
      last = problems(await snapshot(admin, ns));
      if (last.length === 0) return Date.now() - started;
    } catch (err) {
      last = [String(err)];
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(
    `${ns} did not converge in ${timeoutMs} ms: ${last.slice(0, 10).join('; ')} (${last.length} problems)`,
  );
}

/** Sum of a metric over all label sets, from the operator's /metrics. */
export async function metricSum(op: OperatorProcess, name: string, filter = ''): Promise<number> {
  const text = await op.metricsText();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => l.includes(filter))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Requests the operator sent, and retries it made, as its metrics count them. */
export async function operatorCounters(op: OperatorProcess) {
  return {
    requests: await metricSum(op, 'rest_client_requests_total'),
    serverAskedRetries: await metricSum(op, 'rest_client_request_retries_total'),
    reconcileRetries: await metricSum(op, 'workqueue_retries_total'),
    reconcileErrors: await metricSum(op, 'controller_runtime_reconcile_errors_total'),
  };
}

/** Appends one scenario's figures to tmp/faults-figures.jsonl, for docs/reliability.md, and prints them. */
export function reportFigures(scenario: string, figures: Record<string, number | string>): void {
  const dir = new URL('../../tmp', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  appendFileSync(
    join(dir, 'faults-figures.jsonl'),
    `${JSON.stringify({ scenario, at: new Date().toISOString(), ...figures })}\n`,
  );
  console.log(
    `# ${scenario}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
}

/** One request, from the API server's audit log. */
export interface AuditRecord {
  /** When the API server received it (ms since epoch). */
  at: number;
  verb: string;
  user: string;
  resource: string;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  code: number;
  uri: string;
}

const writeVerbs = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Whether an audited request was a write. */
export const isWrite = (record: AuditRecord): boolean => writeVerbs.has(record.verb);

/** Every write in the audit log (the cluster must be started with auditLog: true), oldest first. */
export async function auditWrites(cluster: LocalCluster): Promise<AuditRecord[]> {
  return (await auditRequests(cluster)).filter(isWrite);
}

/** Every request in the audit log, reads too, oldest first. */
export async function auditRequests(cluster: LocalCluster): Promise<AuditRecord[]> {
  const events = (await cluster.auditEvents()) as (AuditEvent & { requestReceivedTimestamp: string })[];
  return events
    .map((e) => ({
      at: Date.parse(e.requestReceivedTimestamp),
      verb: e.verb,
      user: e.user.username,
      resource: e.objectRef?.resource ?? '',
      subresource: e.objectRef?.subresource,
      namespace: e.objectRef?.namespace,
      name: e.objectRef?.name,
      code: e.responseStatus?.code ?? 0,
      uri: e.requestURI,
    }))
    .sort((a, b) => a.at - b.at);
}

/** The user name of a ServiceAccount, as the audit log shows it. */
export const serviceAccountUser = (namespace: string, name: string) =>
  `system:serviceaccount:${namespace}:${name}`;

/**
 * Grants ServiceAccount `namespace/name` exactly the operator's roles (src/rbac.ts, what
 * config/rbac is generated from): the cluster role, and the leader-election role in
 * `leaseNamespace`. Returns a kubeconfig that authenticates as it.
 */
export async function operatorServiceAccount(
  cluster: LocalCluster,
  namespace: string,
  name: string,
  leaseNamespace = namespace,
): Promise<string> {
  const admin = cluster.admin;
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  const kubeconfig = await cluster.writeServiceAccountKubeconfig(namespace, name);
  const subject = { kind: 'ServiceAccount', name, namespace };
  await admin.must(
    'POST',
    `${rbac}/clusterroles`,
    { metadata: { name: 'elasticweb-manager-role' }, rules: clusterRules },
    [201, 409],
  );
  await admin.must('POST', `${rbac}/clusterrolebindings`, {
    metadata: { name: `elasticweb-manager-${namespace}-${name}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'elasticweb-manager-role' },
    subjects: [subject],
  });
  await createNamespace(admin, leaseNamespace);
  await admin.must(
    'POST',
    `${rbac}/namespaces/${leaseNamespace}/roles`,
    { metadata: { name: 'elasticweb-leader-election-role' }, rules: leaderElectionRules },
    [201, 409],
  );
  await admin.must('POST', `${rbac}/namespaces/${leaseNamespace}/rolebindings`, {
    metadata: { name: `elasticweb-leader-election-${name}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'elasticweb-leader-election-role' },
    subjects: [subject],
  });
  return kubeconfig;
}
