/**
 * The local control plane itself: pods really get scheduled and turn Ready on kwok nodes, the garbage
 * collector runs, RBAC is enforced for ServiceAccount tokens, clusters run side by side, and nothing is
 * left running after teardown, including when the test that owned the cluster fails or is killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { isAlive, waitUntilGone } from '../support/processes.ts';

const nodeBin = process.execPath;
const fixture = new URL('../fixtures/cluster-owner.ts', import.meta.url).pathname;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('full mode', () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start({ mode: 'full', nodes: 3 });
  });
  after(async () => {
    const pids = cluster.pids();
    await cluster.stop();
    assert.deepEqual(await waitUntilGone(pids, 5000), [], 'every process of the cluster has exited');
    assert.equal(existsSync(cluster.dir), false, 'the cluster folder is removed');
  });

  test('/version reports the real release', async () => {
    const version = (await cluster.admin.must('GET', '/version')).json<{ gitVersion: string }>();
    assert.equal(version.gitVersion, cluster.binaries.kubernetesVersion);
    assert.match(version.gitVersion, /^v1\.\d+\.\d+$/);
  });

  test('a Deployment of 3 replicas gets 3 pods bound to kwok nodes and readyReplicas 3', async () => {
    const ns = 'deploy-test';
    await cluster.admin.must('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    await cluster.admin.must('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
        },
      },
    });
    await until('readyReplicas 3', async () => {
      const d = (await cluster.admin.must('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`)).json<{
        status?: { readyReplicas?: number };
      }>();
      return d.status?.readyReplicas === 3 ? true : undefined;
    });
    const pods = (await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/pods`)).json<{
      items: { spec: { nodeName?: string }; status: { phase: string } }[];
    }>().items;
    assert.equal(pods.length, 3);
    for (const pod of pods) {
      assert.match(pod.spec.nodeName ?? '', /^kwok-node-\d$/);
      assert.equal(pod.status.phase, 'Running');
    }
  });

  test('deleting an owner deletes what it owns (garbage collector)', async () => {
    const ns = 'gc-test';
    await cluster.admin.must('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    const owner = (
      await cluster.admin.must('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'owner' } })
    ).json<{ metadata: { uid: string } }>();
    await cluster.admin.must('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: {
        name: 'owned',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid, controller: true },
        ],
      },
    });
    await cluster.admin.must('DELETE', `/api/v1/namespaces/${ns}/configmaps/owner`);
    await until('the owned ConfigMap to be collected', async () => {
      const res = await cluster.admin.request('GET', `/api/v1/namespaces/${ns}/configmaps/owned`);
      return res.status === 404 ? true : undefined;
    });
  });

  test('RBAC: a ServiceAccount token is denied what no Role grants, allowed what a Role grants', async () => {
    const ns = 'rbac-test';
    const token = await cluster.tokenFor(ns, 'reader');
    const asReader = cluster.clientForToken(token);
    try {
      const denied = await asReader.request('GET', `/api/v1/namespaces/${ns}/configmaps`);
      assert.equal(denied.status, 403, denied.body);
      assert.match(denied.body, /system:serviceaccount:rbac-test:reader/);

      await cluster.admin.must('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
        metadata: { name: 'read-configmaps' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      });
      await cluster.admin.must('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-configmaps' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
      });
      const allowed = await until('the RoleBinding to take effect', async () => {
        const res = await asReader.request('GET', `/api/v1/namespaces/${ns}/configmaps`);
        return res.status === 200 ? res : undefined;
      });
      assert.equal(allowed.status, 200);
      // The Role grants reading only: writing and other namespaces stay forbidden.
      const write = await asReader.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
        metadata: { name: 'x' },
      });
      assert.equal(write.status, 403);
      const elsewhere = await asReader.request('GET', '/api/v1/namespaces/default/configmaps');
      assert.equal(elsewhere.status, 403);
    } finally {
      await asReader.close();
    }
  });
});

describe('api mode', () => {
  test('two clusters run at once on separate ports and folders', async () => {
    const [a, b] = await Promise.all([LocalCluster.start(), LocalCluster.start()]);
    try {
      assert.notEqual(a.server, b.server);
      assert.notEqual(a.dir, b.dir);
      await a.admin.must('POST', '/api/v1/namespaces', { metadata: { name: 'only-in-a' } });
      assert.equal((await a.admin.request('GET', '/api/v1/namespaces/only-in-a')).status, 200);
      assert.equal((await b.admin.request('GET', '/api/v1/namespaces/only-in-a')).status, 404);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('teardown leaves nothing running', () => {
  /** Runs the fixture that owns a cluster; returns what it reported and how it ended. */
  async function runOwner(how: 'fail' | 'hang') {
    const scratch = mkdtempSync(join(tmpdir(), 'cluster-owner-'));
    const infoFile = join(scratch, 'info.json');
    const args = how === 'fail' ? ['--test', '--test-reporter=dot', fixture] : [fixture];
    // NODE_TEST_CONTEXT would make the nested runner report to us instead of running as its own run.
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    const env = { ...inherited, CLUSTER_INFO: infoFile, CLUSTER_OWNER: how };
    const child = spawn(nodeBin, args, { env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const info = await until('the fixture to report its cluster', async () =>
      existsSync(infoFile)
        ? (JSON.parse(readFileSync(infoFile, 'utf8')) as { pids: number[]; dir: string })
        : undefined,
    );
    rmSync(scratch, { recursive: true, force: true });
    return { info, child, exited };
  }

  test('when the test that started the cluster fails', async () => {
    const { info, exited } = await runOwner('fail');
    assert.equal(info.pids.length, 2, 'etcd and kube-apiserver were running');
    assert.notEqual(await exited, 0, 'the fixture test failed');
    assert.deepEqual(await waitUntilGone(info.pids, 10_000), []);
    assert.equal(existsSync(info.dir), false);
  });

  test('when the process that started the cluster is killed with SIGKILL', async () => {
    const { info, child, exited } = await runOwner('hang');
    assert.ok(info.pids.every(isAlive), 'the cluster runs while its owner lives');
    child.kill('SIGKILL');
    await exited;
    // The reaper notices within a second or two, kills the process groups and removes the folder.
    assert.deepEqual(await waitUntilGone(info.pids, 15_000), []);
    await until(
      'the cluster folder to be removed',
      async () => (existsSync(info.dir) ? undefined : true),
      15_000,
    );
  });
});
