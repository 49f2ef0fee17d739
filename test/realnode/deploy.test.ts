/**
 * `make deploy` on the real node (issue 10): the operator's image, built here from the Dockerfile with
 * buildah, runs as a pod in elasticweb-system (which enforces the restricted Pod Security Standard),
 * with its ServiceAccount, in-cluster configuration, probes and leader election; it reconciles the
 * sample onto real nginx pods that answer on the NodePort; `make undeploy` removes it all.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { operatorImage } from '../../hack/cluster/real-node/operator-image.ts';
import { waitFor } from '../support/operator.ts';
import { waitForNginxOnSampleNodePort, waitForSampleRealQps } from '../support/sample-on-real-node.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const img = 'elasticweb-operator:local';
const systemNs = 'elasticweb-system';

let cluster: LocalCluster;

interface Pod {
  metadata: { name: string };
  spec: {
    serviceAccountName: string;
    containers: {
      image: string;
      readinessProbe?: unknown;
      livenessProbe?: unknown;
      securityContext?: unknown;
    }[];
    securityContext?: { runAsNonRoot?: boolean };
  };
  status: { phase: string; conditions?: { type: string; status: string }[] };
}

const env = () => ({ ...process.env, KUBECONFIG: cluster.kubeconfigPath });
const make = (...args: string[]) =>
  run('make', ['-s', ...args], { cwd: root, env: env(), maxBuffer: 1 << 24 });
const kubectl = (...args: string[]) => run('kubectl', args, { env: env() }).then((r) => r.stdout);

before(async () => {
  const log = (m: string) => console.log(`# ${m}`);
  cluster = await LocalCluster.start({ mode: 'real', log, nodeImages: [await operatorImage(log)] });
});

after(async () => {
  await cluster?.stop();
});

test('make deploy: the manager pod runs the local image under the restricted standard and reconciles the sample onto real pods', async () => {
  await make('deploy', `IMG=${img}`);
  const ns = (await cluster.admin.must('GET', `/api/v1/namespaces/${systemNs}`)).json<{
    metadata: { labels: Record<string, string> };
  }>();
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  const pod = await waitFor(
    'the manager pod Ready',
    async () => {
      const pods = (await cluster.admin.must('GET', `/api/v1/namespaces/${systemNs}/pods`)).json<{
        items: Pod[];
      }>().items;
      const ready = pods.find((p) =>
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready;
    },
    180_000,
  );
  const container = pod.spec.containers[0];
  assert.match(container?.image ?? '', /elasticweb-operator:local$/);
  assert.ok(container?.readinessProbe && container.livenessProbe, 'probes are set');
  assert.equal(pod.spec.serviceAccountName, 'elasticweb-controller-manager');
  const logs = await kubectl('-n', systemNs, 'logs', pod.metadata.name);
  assert.match(logs, /in-cluster ServiceAccount/, 'it loaded the in-cluster configuration');
  assert.match(logs, /successfully acquired lease/, 'it leads through the Lease');
  // Logged before "starting manager" when the addon is missing or would not load.
  assert.match(logs, /starting manager/);
  assert.doesNotMatch(logs, /without malloc_trim/, 'the image carries the malloc_trim addon and loads it');

  await kubectl('create', 'namespace', 'shop');
  await kubectl('-n', 'shop', 'apply', '-k', `${root}config/samples`);
  await waitForSampleRealQps(kubectl, 2400, 'REAL-QPS 2400 from 3 real pods');
  await waitForNginxOnSampleNodePort();
  console.log(
    `# make deploy on the real node: manager pod ${pod.metadata.name} Ready; sample at REAL-QPS 2400 from real pods`,
  );
});

test('make undeploy removes what deploy installed (and, with the CRD, the sample and its pods)', async () => {
  await make('undeploy');
  await waitFor(
    'the operator namespace gone',
    async () =>
      (await cluster.admin.request('GET', `/api/v1/namespaces/${systemNs}`)).status === 404
        ? true
        : undefined,
    180_000,
  );
  const crd = await cluster.admin.request(
    'GET',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/elasticwebs.elasticweb.example.com',
  );
  assert.equal(crd.status, 404);
  const roles = (await cluster.admin.must('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles')).json<{
    items: { metadata: { name: string } }[];
  }>().items;
  assert.deepEqual(
    roles.filter((r) => r.metadata.name.startsWith('elasticweb-')).map((r) => r.metadata.name),
    [],
  );
  await waitFor(
    'the sample’s Deployment collected',
    async () =>
      (await cluster.admin.request('GET', '/apis/apps/v1/namespaces/shop/deployments/elasticweb-sample'))
        .status === 404
        ? true
        : undefined,
    120_000,
  );
});
