/**
 * Shipping, end to end on a local full cluster: `make deploy` and `make undeploy`; the operator run on
 * the host with the deployed ServiceAccount's token (least privilege proven by the audit log);
 * metrics and readiness; leader election between operator processes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type AuditEvent, LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { clusterRules, leaderElectionRules } from '../../src/rbac.ts';
import { createElasticWeb, createNamespace, ewPath, waitFor } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';

const repoRoot = new URL('../..', import.meta.url).pathname;
const systemNs = 'elasticweb-system';
const saName = 'elasticweb-controller-manager';
const saUser = `system:serviceaccount:${systemNs}:${saName}`;
const leaseName = 'elasticweb-operator.elasticweb.example.com';
const leaseArgs = ['--leader-elect', `--leader-election-namespace=${systemNs}`];

let cluster: LocalCluster;
let admin: RawClient;
let saKubeconfig: string;
const started: OperatorProcess[] = [];

async function make(...args: string[]): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)('make', ['-s', ...args], {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
  });
  return stdout + stderr;
}

async function status(path: string): Promise<number> {
  return (await admin.request('GET', path)).status;
}

async function startOperator(args: string[] = leaseArgs): Promise<OperatorProcess> {
  const op = await OperatorProcess.start(saKubeconfig, args);
  started.push(op);
  return op;
}

async function leaseHolder(): Promise<string | undefined> {
  const res = await admin.request(
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${systemNs}/leases/${leaseName}`,
  );
  return res.status === 200
    ? res.json<{ spec: { holderIdentity?: string } }>().spec.holderIdentity
    : undefined;
}

const isLeader = (op: OperatorProcess) => op.metric(`leader_election_master_status{name="${leaseName}"}`);
const successes = (op: OperatorProcess) =>
  op.metric('controller_runtime_reconcile_total{controller="elasticweb",result="success"}');

before(async () => {
  cluster = await LocalCluster.start({ mode: 'full', nodes: 2, auditLog: true });
  admin = cluster.admin;
});

after(async () => {
  await Promise.all(started.map((op) => op.stop()));
  await cluster?.stop();
});

describe('make deploy', () => {
  test('creates the namespace, CRD, RBAC and a manager Deployment whose pod turns Ready', async () => {
    const out = await make('deploy', 'IMG=registry.example.com/elasticweb-operator:v0.1.0');
    assert.match(out, /deployment.apps\/elasticweb-controller-manager serverside-applied/);
    assert.equal(await status(`/api/v1/namespaces/${systemNs}`), 200);
    assert.equal(
      await status(
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/elasticwebs.elasticweb.example.com',
      ),
      200,
    );
    assert.equal(await status(`/api/v1/namespaces/${systemNs}/serviceaccounts/${saName}`), 200);
    assert.equal(
      await status('/apis/rbac.authorization.k8s.io/v1/clusterroles/elasticweb-manager-role'),
      200,
    );
    assert.equal(
      await status('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/elasticweb-manager-rolebinding'),
      200,
    );
    assert.equal(
      await status(
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${systemNs}/roles/elasticweb-leader-election-role`,
      ),
      200,
    );
    // The secure metrics endpoint's roles: the manager reviews tokens; scrapers get metrics-reader.
    for (const path of [
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/elasticweb-metrics-auth-role',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/elasticweb-metrics-auth-rolebinding',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/elasticweb-metrics-reader',
    ])
      assert.equal(await status(path), 200, path);
    const metricsService = (
      await admin.must(
        'GET',
        `/api/v1/namespaces/${systemNs}/services/elasticweb-controller-manager-metrics-service`,
      )
    ).json<{ spec: { ports: { name: string; port: number; targetPort: string }[] } }>();
    assert.deepEqual(
      metricsService.spec.ports.map((p) => [p.name, p.port, p.targetPort]),
      [['https', 8443, 'metrics']],
    );

    const deployment = await waitFor('the manager pod to be Ready', async () => {
      const d = (
        await admin.must(
          'GET',
          `/apis/apps/v1/namespaces/${systemNs}/deployments/elasticweb-controller-manager`,
        )
      ).json<ManagerDeployment>();
      return d.status?.readyReplicas === 1 ? d : undefined;
    });
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0] as ManagerDeployment['spec']['template']['spec']['containers'][number];
    assert.equal(c.image, 'registry.example.com/elasticweb-operator:v0.1.0');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.ok(
      c.resources.requests.cpu &&
        c.resources.requests.memory &&
        c.resources.limits.cpu &&
        c.resources.limits.memory,
    );
    assert.equal(c.livenessProbe.httpGet.port, 'health');
    assert.equal(c.readinessProbe.httpGet.port, 'health');
    assert.ok(c.ports.some((p) => p.name === 'metrics' && p.containerPort === 8443));
    assert.ok(
      c.args.includes('--metrics-bind-address=:8443'),
      'metrics on :8443 (HTTPS: --metrics-secure defaults to true)',
    );
    assert.ok(!c.args.some((a) => a.startsWith('--metrics-secure')), 'nothing turns the secure endpoint off');
    assert.ok(c.args.includes('--leader-elect'));
    // The namespace enforces the restricted Pod Security Standard, so the pod passing admission
    // proves the security settings meet it.
    const pods = (await admin.must('GET', `/api/v1/namespaces/${systemNs}/pods`)).json<{
      items: { spec: { nodeName: string }; status: { phase: string } }[];
    }>().items;
    assert.equal(pods.length, 1);
    assert.match(pods[0]?.spec.nodeName ?? '', /^kwok-node-/);
  });
});

describe('the operator on the host, as the deployed ServiceAccount', () => {
  let op: OperatorProcess;
  const ns = 'shop';

  before(async () => {
    saKubeconfig = await cluster.writeServiceAccountKubeconfig(systemNs, saName);
  });

  test('turns ready only after its caches sync, then reconciles the sample to realQPS 2400', async () => {
    op = await startOperator();
    const readyAt = await op.waitReady(30_000);
    const synced = op.logs.filter((l) => l.msg === 'cache synced');
    assert.equal(synced.length, 4, 'all four caches synced before /readyz said ready');
    for (const line of synced) assert.ok(new Date(line.time).getTime() <= readyAt);
    console.log(`# operator: process start to /readyz 200 in ${readyAt - op.startedAt} ms`);

    await waitFor('leadership', async () => ((await isLeader(op)) === 1 ? true : undefined), 30_000);
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, 'elasticweb-sample', {
      image: 'nginx:1.17.1',
      port: 30003,
      singlePodsQPS: 800,
      totalQPS: 2400,
    });
    await waitFor('realQPS 2400', async () => {
      const ew = (await admin.must('GET', ewPath(ns, 'elasticweb-sample'))).json<{
        status?: { realQPS?: number };
      }>();
      return ew.status?.realQPS === 2400 ? true : undefined;
    });
    assert.equal(await op.metric('elasticweb_real_qps{namespace="shop",name="elasticweb-sample"}'), 2400);
    assert.equal(await op.metric('elasticweb_desired_qps{namespace="shop",name="elasticweb-sample"}'), 2400);
  });

  test('/metrics shows the reconcile and workqueue series moving', async () => {
    const before = {
      reconciles: (await successes(op)) ?? 0,
      adds: (await op.metric('workqueue_adds_total{name="elasticweb",controller="elasticweb"}')) ?? 0,
    };
    assert.ok(before.reconciles > 0 && before.adds > 0);
    await admin.request(
      'PATCH',
      ewPath(ns, 'elasticweb-sample'),
      { spec: { totalQPS: 4000 } },
      'application/merge-patch+json',
    );
    await waitFor('more reconciles', async () =>
      ((await successes(op)) ?? 0) > before.reconciles ? true : undefined,
    );
    const text = await op.metricsText();
    for (const series of [
      'controller_runtime_reconcile_time_seconds_bucket',
      'controller_runtime_max_concurrent_reconciles{controller="elasticweb"} 5',
      'controller_runtime_active_workers{controller="elasticweb"}',
      'controller_runtime_reconcile_errors_total{controller="elasticweb"}',
      'workqueue_depth{name="elasticweb",controller="elasticweb",priority=""}',
      'workqueue_queue_duration_seconds_bucket',
      'workqueue_work_duration_seconds_bucket',
      'workqueue_retries_total{name="elasticweb",controller="elasticweb"}',
      'workqueue_unfinished_work_seconds{name="elasticweb",controller="elasticweb"}',
      'workqueue_longest_running_processor_seconds{name="elasticweb",controller="elasticweb"}',
      `leader_election_master_status{name="${leaseName}"} 1`,
      'rest_client_requests_total{code="200",method="PATCH"',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.ok(text.includes(series), `/metrics has ${series}`);
    }
    assert.ok(
      ((await op.metric('workqueue_adds_total{name="elasticweb",controller="elasticweb"}')) ?? 0) >
        before.adds,
    );
  });

  test('a NodePort clash is retried with backoff, its repeated Warning events counted on one Event', async () => {
    await createElasticWeb(admin, ns, 'clash', {
      image: 'nginx:1.17.1',
      port: 30003,
      singlePodsQPS: 100,
      totalQPS: 100,
    });
    const event = await waitFor('a repeated NodePortConflict event', async () => {
      const events = (await admin.must('GET', `/api/v1/namespaces/${ns}/events`)).json<{
        items: { reason: string; count?: number; involvedObject: { name: string } }[];
      }>().items;
      return events.find(
        (e) => e.involvedObject.name === 'clash' && e.reason === 'NodePortConflict' && (e.count ?? 0) > 1,
      );
    });
    assert.ok((event.count ?? 0) > 1);
    await admin.must('DELETE', ewPath(ns, 'clash'));
  });

  test('a Service selector edited by hand is put back (a Service patch under its role)', async () => {
    const path = `/api/v1/namespaces/${ns}/services/elasticweb-sample`;
    type Service = { spec: { selector: Record<string, string> } };
    const before = (await admin.must('GET', path)).json<Service>().spec.selector;
    const edit = await admin.request(
      'PATCH',
      path,
      { spec: { selector: { ...before, extra: 'by-hand' } } },
      'application/merge-patch+json',
    );
    assert.equal(edit.status, 200, edit.body);
    await waitFor('the selector restored', async () => {
      const selector = (await admin.must('GET', path)).json<Service>().spec.selector;
      return 'extra' in selector ? undefined : selector;
    });
    assert.deepEqual((await admin.must('GET', path)).json<Service>().spec.selector, before);
  });

  // A name taken by someone else's objects is the one path that reads a Deployment or Service
  // directly (create answers 409, the cache holds only the operator's own): the role's get verbs.
  test('a Deployment and a Service of the same name that it does not own are reported, not taken', async () => {
    const name = 'squatted';
    const labels = { app: 'theirs' };
    await admin.must('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'theirs:1' }] } },
      },
    });
    await admin.must('POST', `/api/v1/namespaces/${ns}/services`, {
      metadata: { name },
      spec: { selector: labels, ports: [{ port: 80 }] },
    });
    await admin.must('POST', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
      metadata: { name },
      spec: { selector: { matchLabels: labels }, minAvailable: 1 },
    });
    await createElasticWeb(admin, ns, name, { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 300 });
    await waitFor('Degraded ResourceNotOwned', async () => {
      const ew = (await admin.must('GET', ewPath(ns, name))).json<{
        status?: { conditions?: { type: string; reason: string }[] };
      }>();
      const degraded = ew.status?.conditions?.find((c) => c.type === 'Degraded');
      return degraded?.reason === 'ResourceNotOwned' ? true : undefined;
    });
    const deployment = (await admin.must('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).json<{
      metadata: { ownerReferences?: unknown[] };
      spec: { replicas: number };
    }>();
    assert.equal(deployment.metadata.ownerReferences, undefined);
    assert.equal(deployment.spec.replicas, 1);
    const service = (await admin.must('GET', `/api/v1/namespaces/${ns}/services/${name}`)).json<{
      metadata: { ownerReferences?: unknown[] };
      spec: { selector: Record<string, string> };
    }>();
    assert.equal(service.metadata.ownerReferences, undefined);
    assert.deepEqual(service.spec.selector, labels);
    const budget = (
      await admin.must('GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`)
    ).json<{ metadata: { ownerReferences?: unknown[] }; spec: { minAvailable?: number } }>();
    assert.equal(budget.metadata.ownerReferences, undefined);
    assert.equal(budget.spec.minAvailable, 1);
    await admin.must('DELETE', ewPath(ns, name));
    await admin.must('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
    await admin.must('DELETE', `/api/v1/namespaces/${ns}/services/${name}`);
    await admin.must('DELETE', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`);
  });

  // The PodDisruptionBudget's verbs: patch (put back what a person changed), delete (no pods, no budget).
  test('a PodDisruptionBudget edited by hand is put back, and removed when the sample scales to zero', async () => {
    const path = `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/elasticweb-sample`;
    type Budget = { spec: { maxUnavailable?: number } };
    const edit = await admin.request(
      'PATCH',
      path,
      { spec: { maxUnavailable: 5 } },
      'application/merge-patch+json',
    );
    assert.equal(edit.status, 200, edit.body);
    await waitFor('the budget restored', async () =>
      (await admin.must('GET', path)).json<Budget>().spec.maxUnavailable === 1 ? true : undefined,
    );
    const scale = (totalQPS: number) =>
      admin.request(
        'PATCH',
        ewPath(ns, 'elasticweb-sample'),
        { spec: { totalQPS } },
        'application/merge-patch+json',
      );
    assert.equal((await scale(0)).status, 200);
    await waitFor('the budget removed', async () =>
      (await admin.request('GET', path)).status === 404 ? true : undefined,
    );
    assert.equal((await scale(2400)).status, 200);
    await waitFor('the budget back', async () =>
      (await admin.request('GET', path)).status === 200 ? true : undefined,
    );
  });

  test('idle memory with the sample', async () => {
    await new Promise((r) => setTimeout(r, 5000));
    const rss = op.rssMiB();
    console.log(`# operator: idle RSS with the sample ${rss.toFixed(1)} MiB`);
    assert.ok(rss > 10 && rss < 400, `RSS ${rss} MiB is plausible`);
  });

  test('the API server answered it no 403, and a request the role does not grant is refused', async () => {
    const token = await cluster.tokenFor(systemNs, saName);
    const asOperator = cluster.clientForToken(token);
    try {
      for (const [method, path] of [
        ['GET', '/api/v1/namespaces/shop/secrets'],
        ['GET', '/api/v1/pods'],
        ['POST', '/api/v1/namespaces/shop/pods'],
        ['DELETE', '/apis/apps/v1/namespaces/shop/deployments/elasticweb-sample'],
        ['PUT', '/apis/elasticweb.example.com/v1/namespaces/shop/elasticwebs/elasticweb-sample'],
      ] as const) {
        const res = await asOperator.request(
          method,
          path,
          method === 'GET' || method === 'DELETE' ? undefined : {},
        );
        assert.equal(res.status, 403, `${method} ${path} is refused`);
      }
    } finally {
      await asOperator.close();
    }
    const operatorEvents = (await cluster.auditEvents()).filter(
      (e) => e.user.username === saUser && e.userAgent?.startsWith('elasticweb-operator'),
    );
    assert.ok(operatorEvents.length > 10, 'the audit log holds the operator’s requests');
    const denied = operatorEvents.filter((e) => e.responseStatus?.code === 403);
    assert.deepEqual(denied.map(auditLine), [], 'no request of the operator was refused');

    // Each rule is used: every (resource, verb) the roles grant shows up in the audit log, except the
    // ones the API server checks without a request of that verb (documented in src/rbac.ts).
    const used = new Set(operatorEvents.map((e) => `${resourceOf(e)}:${e.verb}`));
    const implicit = new Set(['elasticwebs/finalizers:update']);
    for (const rule of [...clusterRules, ...leaderElectionRules]) {
      for (const resource of rule.resources) {
        for (const verb of rule.verbs) {
          const key = `${resource}:${verb}`;
          if (!implicit.has(key)) assert.ok(used.has(key), `${key} is granted and used`);
        }
      }
    }
  });

  test('server-side apply of a new object needs create as well as patch (why the roles grant it)', async () => {
    const token = await cluster.tokenFor('rbac-probe', 'patch-only');
    await admin.must('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/rbac-probe/roles', {
      metadata: { name: 'patch-only' },
      rules: [{ apiGroups: [''], resources: ['services'], verbs: ['get', 'patch'] }],
    });
    await admin.must('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/rbac-probe/rolebindings', {
      metadata: { name: 'patch-only' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'patch-only' },
      subjects: [{ kind: 'ServiceAccount', name: 'patch-only', namespace: 'rbac-probe' }],
    });
    const client = cluster.clientForToken(token);
    try {
      const body = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'probe' },
        spec: { ports: [{ port: 80 }] },
      };
      const res = await waitFor('the binding to apply', async () => {
        const r = await client.request(
          'PATCH',
          '/api/v1/namespaces/rbac-probe/services/probe?fieldManager=probe',
          body,
          'application/apply-patch+yaml',
        );
        return r.status === 403 && r.body.includes('cannot create') ? r : undefined;
      });
      assert.equal(res.status, 403);
    } finally {
      await client.close();
    }
  });
});

describe('leader election', () => {
  test('exactly one of two reconciles; SIGTERM hands over in under 5 s; SIGKILL within the lease duration', async () => {
    // The operator from the previous suite leads; start a standby.
    const [leader] = started;
    assert.ok(leader && (await isLeader(leader)) === 1, 'the first operator leads');
    const standby = await startOperator();
    await standby.waitReady();
    const ns = 'election';
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, 'one', { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 100 });
    await waitFor('one reconciled', async () =>
      (await admin.must('GET', ewPath(ns, 'one'))).json<{ status?: { realQPS?: number } }>().status
        ?.realQPS === 100
        ? true
        : undefined,
    );
    assert.equal(await isLeader(standby), 0, 'the standby does not lead');
    assert.equal((await successes(standby)) ?? 0, 0, 'the standby reconciled nothing');

    // SIGTERM: the leader finishes, releases the lease, and the standby takes over at its next try.
    const termAt = Date.now();
    leader.signal('SIGTERM');
    const tookOverAt = await waitFor(
      'the standby to lead',
      async () => ((await isLeader(standby)) === 1 ? Date.now() : undefined),
      20_000,
    );
    assert.equal(await leader.exited, 0, 'the old leader exited 0');
    const termTakeover = tookOverAt - termAt;
    console.log(`# leader election: SIGTERM takeover ${termTakeover} ms`);
    assert.ok(termTakeover < 5000, `takeover after SIGTERM took ${termTakeover} ms`);
    assert.ok(leader.logs.some((l) => l.msg === 'released leader lease'));

    await admin.request(
      'PATCH',
      ewPath(ns, 'one'),
      { spec: { totalQPS: 200 } },
      'application/merge-patch+json',
    );
    await waitFor('the new leader to reconcile', async () =>
      ((await successes(standby)) ?? 0) > 0 ? true : undefined,
    );

    // SIGKILL: no release; a third candidate takes over once the lease has not been renewed for its duration.
    const third = await startOperator();
    await third.waitReady();
    const killAt = Date.now();
    standby.signal('SIGKILL');
    await standby.exited;
    const killTakeoverAt = await waitFor(
      'the third to lead',
      async () => ((await isLeader(third)) === 1 ? Date.now() : undefined),
      40_000,
    );
    const killTakeover = killTakeoverAt - killAt;
    console.log(`# leader election: SIGKILL takeover ${killTakeover} ms (lease 15 s, retry 2 s)`);
    // The old leader renewed at most one retry period (2 s) before it died; the lease then lasts 15 s,
    // and the candidate notices at its next try (every 2 s, plus up to 20% jitter).
    assert.ok(killTakeover <= 15_000 + 2_400 + 500, `takeover after SIGKILL took ${killTakeover} ms`);
    assert.ok(
      killTakeover >= 15_000 - 2_000 - 500,
      `no takeover while the lease was still valid (${killTakeover} ms)`,
    );
    assert.ok(((await leaseHolder()) ?? '').length > 0, 'the lease has a holder');

    // No reconcile ran in two processes at once.
    const all = [leader, standby, third].map((op) => op.reconcileIntervals());
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        for (const [s1, e1] of all[i] ?? []) {
          for (const [s2, e2] of all[j] ?? []) {
            assert.ok(e1 <= s2 || e2 <= s1, `reconciles of operators ${i} and ${j} overlap`);
          }
        }
      }
    }
  });
});

describe('make undeploy', () => {
  test('removes everything deploy created', async () => {
    await Promise.all(started.map((op) => op.stop()));
    await make('undeploy');
    await waitFor(
      'the namespace to be gone',
      async () => ((await status(`/api/v1/namespaces/${systemNs}`)) === 404 ? true : undefined),
      120_000,
    );
    assert.equal(
      await status(
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/elasticwebs.elasticweb.example.com',
      ),
      404,
    );
    assert.equal(
      await status('/apis/rbac.authorization.k8s.io/v1/clusterroles/elasticweb-manager-role'),
      404,
    );
    assert.equal(
      await status('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/elasticweb-manager-rolebinding'),
      404,
    );
    for (const name of ['elasticweb-metrics-auth-role', 'elasticweb-metrics-reader'])
      assert.equal(await status(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`), 404, name);
  });
});

interface ManagerDeployment {
  status?: { readyReplicas?: number };
  spec: {
    template: {
      spec: {
        securityContext: { runAsNonRoot: boolean; seccompProfile: { type: string } };
        containers: {
          image: string;
          args: string[];
          ports: { name: string; containerPort: number }[];
          securityContext: {
            readOnlyRootFilesystem: boolean;
            allowPrivilegeEscalation: boolean;
            capabilities: { drop: string[] };
          };
          resources: { requests: Record<string, string>; limits: Record<string, string> };
          livenessProbe: { httpGet: { port: string } };
          readinessProbe: { httpGet: { port: string } };
        }[];
      };
    };
  };
}

function resourceOf(e: AuditEvent): string {
  const r = e.objectRef;
  return r?.subresource ? `${r.resource}/${r.subresource}` : (r?.resource ?? e.requestURI);
}

function auditLine(e: AuditEvent): string {
  return `${e.verb} ${e.requestURI} -> ${e.responseStatus?.code}`;
}
