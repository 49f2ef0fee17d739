/**
 * One fresh api-mode cluster per measured run (etcd + kube-apiserver, ~3 s to start), with the CRD,
 * and a ServiceAccount identity per client so the audit log attributes every request to who made it.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../hack/cluster/local-cluster.ts';
import { elasticWebCrd } from '../src/api/v1/crd.ts';
import { forEachLimit, Kube, sleep } from './kube.ts';
import { cpuSeconds } from './operators.ts';

export interface BenchCluster {
  cluster: LocalCluster;
  /** The admin client (system:masters): setup writes and the watcher. */
  admin: Kube;
  /** Where etcd keeps its data: the cluster's folder, or the private copy it was started on. */
  etcdDataDir: string;
  /** Closes the admin client, stops every cluster process and removes its folder. */
  stop(): Promise<void>;
}

/**
 * The default NodePort range holds 2,768 ports; every ElasticWeb gets a NodePort Service, so 10,000
 * of them need a wider range. In api mode nothing binds NodePorts, so the range is bookkeeping only.
 * Both operators and the raw client run against the same flags.
 */
let apiServerArgs = ['--service-node-port-range=20000-32767'];

/**
 * More than 12,768 NodePort Services (the 30,000 point of the scale curve) need a wider range; every
 * cluster of such a bench run gets it, so all peers still meet the same flags.
 */
export function widenNodePortRange(): void {
  apiServerArgs = ['--service-node-port-range=20000-65535'];
}

/** Temporary folders of this process (etcd data copies), removed on exit whatever happens. */
const scratch = new Set<string>();
process.on('exit', () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

export function scratchDir(purpose: string): string {
  const dir = mkdtempSync(join(tmpdir(), `elasticweb-bench-${purpose}-`));
  scratch.add(dir);
  return dir;
}

export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  scratch.delete(dir);
}

/**
 * A fresh cluster; with `etcdData`, its etcd starts on a private copy of that data (saved by
 * saveEtcdData), so every run begins from the same objects without writing them again.
 */
export async function startCluster(options: {
  auditLog: boolean;
  etcdData?: string;
  /** `full`: plus controller-manager, scheduler and kwok nodes, so pods turn Ready (real-qps.ts). */
  mode?: 'api' | 'full';
}): Promise<BenchCluster> {
  let copy: string | undefined;
  if (options.etcdData) {
    copy = scratchDir('etcd');
    cpSync(options.etcdData, copy, { recursive: true });
  }
  const cluster = await LocalCluster.start({
    mode: options.mode ?? 'api',
    auditLog: options.auditLog,
    apiServerArgs,
    // Appended after the cluster's own flags, so it wins over the cluster folder's etcd-data.
    etcdArgs: copy ? [`--data-dir=${copy}`] : [],
  });
  const { pem } = cluster.pki;
  const admin = new Kube(cluster.server, { ca: pem.ca, cert: pem.adminCert, key: pem.adminKey });
  const crd = elasticWebCrd();
  await admin.must('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd, [201, 409]);
  for (let i = 0; ; i++) {
    if ((await admin.request('GET', '/apis/elasticweb.example.com/v1/elasticwebs?limit=1')).status === 200)
      break;
    if (i > 300) throw new Error('the ElasticWeb CRD is not served after 30 s');
    await sleep(100);
  }
  return {
    cluster,
    admin,
    etcdDataDir: copy ?? join(cluster.dir, 'etcd-data'),
    stop: async () => {
      await admin.close();
      await cluster.stop();
      if (copy) removeScratch(copy);
    },
  };
}

/**
 * Waits (at most `timeoutMs`) until kube-apiserver has used less than `maxCores` over one `windowMs`
 * window, and returns how long that took. A fresh API server on the 10,000-object state spends its
 * first seconds filling its caches with both cores of this machine (measured: 1.8-2.0 cores for
 * about 2 s after /readyz, then nearly 0). An operator started then would be measured against that
 * start-up, not against the settled API server that a restarted operator meets. Returns how long it
 * waited and whether the API server did settle (the scale scenario logs it).
 */
export async function waitApiServerIdle(
  bc: BenchCluster,
  { maxCores = 0.1, windowMs = 1000, timeoutMs = 30_000 } = {},
): Promise<{ waitedMs: number; settled: boolean }> {
  const pid = bc.cluster.process('kube-apiserver').pid as number;
  const started = Date.now();
  let before = cpuSeconds(pid);
  while (Date.now() - started < timeoutMs) {
    await sleep(windowMs);
    if (!bc.cluster.process('kube-apiserver').running) throw new Error('kube-apiserver exited');
    const now = cpuSeconds(pid);
    if ((now - before) / (windowMs / 1000) < maxCores)
      return { waitedMs: Date.now() - started, settled: true };
    before = now;
  }
  return { waitedMs: Date.now() - started, settled: false };
}

/** Stops the API server and etcd cleanly, then copies etcd's data to a new scratch folder (returned). */
export async function saveEtcdData(bc: BenchCluster): Promise<string> {
  await bc.cluster.process('kube-apiserver').stop(10_000);
  await bc.cluster.process('etcd').stop(10_000);
  const dest = scratchDir('snapshot');
  cpSync(bc.etcdDataDir, dest, { recursive: true });
  return dest;
}

/** The audit log's user name for ServiceAccount `bench-system/<name>`. */
export const auditUser = (name: string) => `system:serviceaccount:bench-system:${accountName(name)}`;

/** A valid ServiceAccount name for `name` (peer names have underscores: go_best). */
const accountName = (name: string) => name.replace(/_/g, '-');

/**
 * ServiceAccount bench-system/<name>, bound to cluster-admin: both operators get the same rights, so
 * RBAC evaluation costs the same. Returns a kubeconfig path and the bearer token.
 */
export async function identity(
  bc: BenchCluster,
  peerOrName: string,
): Promise<{ kubeconfig: string; token: string }> {
  const name = accountName(peerOrName);
  await bc.admin.must(
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    {
      metadata: { name: `bench-${name}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'bench-system' }],
    },
    [201, 409],
  );
  const kubeconfig = await bc.cluster.writeServiceAccountKubeconfig('bench-system', name);
  const token = await bc.cluster.tokenFor('bench-system', name, 7200);
  return { kubeconfig, token };
}

/**
 * Writes, as JSON, a kubeconfig for `bc`'s server and CA with `token` as its only user, at `path`
 * (mode 600): the form the bare Node clients read (json-kubeconfig-agent.cjs), which have no YAML parser.
 */
export function writeJsonKubeconfig(bc: BenchCluster, token: string, path: string): void {
  const json = { ...bc.cluster.kubeconfig, users: [{ name: 'sa', user: { token } }] };
  writeFileSync(path, JSON.stringify(json), { mode: 0o600 });
}

export async function createNamespaces(admin: Kube, names: string[]): Promise<void> {
  await forEachLimit(names, 10, async (name) => {
    await admin.must('POST', '/api/v1/namespaces', { metadata: { name } }, [201, 409]);
  });
}

/** singlePodsQPS 100 and totalQPS 300: 3 replicas. No `port`: the server assigns a free NodePort. */
export const singlePodsQPS = 100;
export const initialTotalQPS = 300;
export const replicasFor = (totalQPS: number) => Math.ceil(totalQPS / singlePodsQPS);

export function elasticWeb(ns: string, name: string, totalQPS = initialTotalQPS) {
  return {
    apiVersion: 'elasticweb.example.com/v1',
    kind: 'ElasticWeb',
    metadata: { name, namespace: ns },
    spec: { image: 'nginx:1.27', singlePodsQPS, totalQPS },
  };
}

/** `count` ElasticWeb keys spread over `namespaces` namespaces named `<prefix>-<i>`. */
export function keysFor(prefix: string, namespaces: number, count: number): { ns: string; name: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    ns: `${prefix}-${i % namespaces}`,
    name: `web-${String(i).padStart(5, '0')}`,
  }));
}
