/**
 * The Helm chart on the real node (issue 13): installed with the operator image built here, the
 * manager pod really runs (its container starts, its /readyz answers, it takes the Lease) and
 * reconciles the sample onto real nginx pods; `helm upgrade` with changed values takes effect and the
 * operator keeps reconciling; `helm uninstall` leaves nothing but the CRD (Helm's convention).
 * test/e2e/helm.test.ts covers lint, rendering and the objects on kwok nodes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { operatorImage } from '../../hack/cluster/real-node/operator-image.ts';
import { ensureHelm } from '../../hack/helm/binary.ts';
import { waitFor } from '../support/operator.ts';
import { waitForNginxOnSampleNodePort, waitForSampleRealQps } from '../support/sample-on-real-node.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const ns = 'elasticweb-system';
const release = 'elasticweb';

let cluster: LocalCluster;
let helmBinary: string;
let helmHome: string;

const env = () => ({
  ...process.env,
  KUBECONFIG: cluster.kubeconfigPath,
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_DATA_HOME: join(helmHome, 'data'),
});
const helm = (...args: string[]) =>
  run(helmBinary, args, { env: env(), maxBuffer: 1 << 24, timeout: 300_000 }).then((r) => r.stdout);
const kubectl = (...args: string[]) => run('kubectl', args, { env: env() }).then((r) => r.stdout);

interface Pod {
  metadata: { name: string };
  spec: { containers: { args?: string[] }[] };
  status: {
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; started?: boolean }[];
  };
}

async function managerPods(): Promise<Pod[]> {
  return (await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/pods`)).json<{ items: Pod[] }>().items;
}

/** `count` manager pods whose container really runs and is Ready (a real node runs what kwok only pretends). */
async function managersRunning(count: number): Promise<Pod[]> {
  return waitFor(
    `${count} running, Ready manager pod(s)`,
    async () => {
      const pods = await managerPods();
      const ready = pods.filter((p) =>
        p.status.containerStatuses?.every((c) => c.ready && c.started !== false),
      );
      return pods.length === count && ready.length === count ? pods : undefined;
    },
    180_000,
  );
}

before(async () => {
  helmBinary = await ensureHelm();
  helmHome = mkdtempSync(join(tmpdir(), 'elasticweb-helm-home-'));
  const log = (m: string) => console.log(`# ${m}`);
  cluster = await LocalCluster.start({ mode: 'real', log, nodeImages: [await operatorImage(log)] });
  await cluster.admin.must('POST', '/api/v1/namespaces', {
    metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
  });
});

after(async () => {
  await cluster?.stop();
  if (helmHome) rmSync(helmHome, { recursive: true, force: true });
});

test('helm install: the manager pod runs the local image and reconciles the sample onto real pods', async () => {
  const out = await helm(
    'install',
    release,
    join(root, 'dist/chart'),
    '--namespace',
    ns,
    '--set',
    'manager.image.repository=docker.io/library/elasticweb-operator,manager.image.tag=local',
    '--wait',
    '--timeout',
    '3m',
  );
  assert.match(out, /STATUS: deployed/);
  const [pod] = await managersRunning(1);
  const logs = await kubectl('-n', ns, 'logs', pod?.metadata.name as string);
  assert.match(logs, /successfully acquired lease/);
  await kubectl('create', 'namespace', 'shop');
  await kubectl('-n', 'shop', 'apply', '-k', join(root, 'config/samples'));
  await waitForSampleRealQps(kubectl, 2400, 'REAL-QPS 2400');
  await waitForNginxOnSampleNodePort();
});

test('helm upgrade: two replicas at debug level, one leading; the operator keeps reconciling', async () => {
  await helm(
    'upgrade',
    release,
    join(root, 'dist/chart'),
    '--namespace',
    ns,
    '--reuse-values',
    '--set',
    'manager.replicas=2,manager.logLevel=debug',
    '--wait',
    '--timeout',
    '3m',
  );
  const pods = await managersRunning(2);
  for (const p of pods) assert.ok(p.spec.containers[0]?.args?.includes('--log-level=debug'), p.metadata.name);
  await kubectl(
    '-n',
    'shop',
    'patch',
    'ew',
    'elasticweb-sample',
    '--type=merge',
    '-p',
    '{"spec":{"totalQPS":3200}}',
  );
  await waitForSampleRealQps(kubectl, 3200, 'REAL-QPS 3200 (4 real pods)');
});

test('helm uninstall leaves nothing behind but the CRD', async () => {
  await helm('uninstall', release, '--namespace', ns, '--wait', '--timeout', '3m');
  await waitFor(
    'no manager pod',
    async () => ((await managerPods()).length === 0 ? true : undefined),
    120_000,
  );
  const crd = await cluster.admin.request(
    'GET',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/elasticwebs.elasticweb.example.com',
  );
  assert.equal(crd.status, 200, 'Helm keeps what crds/ installed');
  const roles = (await cluster.admin.must('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles')).json<{
    items: { metadata: { name: string } }[];
  }>().items;
  assert.deepEqual(
    roles.filter((r) => r.metadata.name.startsWith('elasticweb-')).map((r) => r.metadata.name),
    [],
  );
  for (const path of [
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    `/api/v1/namespaces/${ns}/services`,
    `/api/v1/namespaces/${ns}/serviceaccounts`,
  ]) {
    const items = (await cluster.admin.must('GET', path)).json<{ items: { metadata: { name: string } }[] }>()
      .items;
    assert.deepEqual(
      items.map((i) => i.metadata.name).filter((n) => n.startsWith('elasticweb')),
      [],
      path,
    );
  }
});
