/**
 * The Helm chart (dist/chart) with a real helm, built from the Go module proxy (hack/helm/build.sh):
 * lint; what it renders with its defaults is what `make deploy` applies (same objects, same specs,
 * flags that mean the same); then on a full local cluster: install (objects created as expected, the
 * manager pod Ready), upgrade with changed values (replicas, log level, extra labels, plain metrics),
 * and uninstall, which leaves nothing behind but the CRD (Helm never deletes what crds/ installed).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { ensureHelm } from '../../hack/helm/binary.ts';
import { parseFlags } from '../../src/cmd/flags.ts';
import { type KubeManifest, objectsOf, renderKustomize, repoRoot } from '../support/kustomize.ts';
import { waitFor } from '../support/operator.ts';

const chart = join(repoRoot, 'dist/chart');
const release = 'elasticweb';
const ns = 'elasticweb-system';
const image = { repository: 'registry.example.com/elasticweb-operator', tag: 'v0.1.0' };

let helmBinary: string;
let helmHome: string;
let cluster: LocalCluster;

function helm(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      helmBinary,
      args,
      {
        env: {
          ...process.env,
          KUBECONFIG: cluster?.kubeconfigPath ?? '/nonexistent',
          HELM_CACHE_HOME: join(helmHome, 'cache'),
          HELM_CONFIG_HOME: join(helmHome, 'config'),
          HELM_DATA_HOME: join(helmHome, 'data'),
        },
        maxBuffer: 64 << 20,
        timeout: 300_000,
      },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`helm ${args.join(' ')}: ${stderr || err.message}\n${stdout}`))
          : resolve(stdout),
    );
  });
}

const key = (o: KubeManifest) => `${o.kind}/${o.metadata.name}`;

/** Objects of the chart to look for in the cluster, with their API paths. */
const installed: { path: string; what: string }[] = [
  { what: 'ServiceAccount', path: `/api/v1/namespaces/${ns}/serviceaccounts/elasticweb-controller-manager` },
  { what: 'Deployment', path: `/apis/apps/v1/namespaces/${ns}/deployments/elasticweb-controller-manager` },
  {
    what: 'Service',
    path: `/api/v1/namespaces/${ns}/services/elasticweb-controller-manager-metrics-service`,
  },
  {
    what: 'Role',
    path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/elasticweb-leader-election-role`,
  },
  {
    what: 'RoleBinding',
    path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/elasticweb-leader-election-rolebinding`,
  },
  ...['manager-role', 'metrics-auth-role', 'metrics-reader'].map((n) => ({
    what: 'ClusterRole',
    path: `/apis/rbac.authorization.k8s.io/v1/clusterroles/elasticweb-${n}`,
  })),
  ...['manager-rolebinding', 'metrics-auth-rolebinding'].map((n) => ({
    what: 'ClusterRoleBinding',
    path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/elasticweb-${n}`,
  })),
  {
    what: 'ServiceMonitor',
    path: `/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors/elasticweb-controller-manager-metrics-monitor`,
  },
  {
    what: 'PrometheusRule',
    path: `/apis/monitoring.coreos.com/v1/namespaces/${ns}/prometheusrules/elasticweb-controller-manager-alerts`,
  },
];
const pathOf = (what: string) => {
  const o = installed.find((i) => i.what === what);
  if (!o) throw new Error(what);
  return o.path;
};
const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/elasticwebs.elasticweb.example.com';

interface Deployment {
  metadata: { labels: Record<string, string> };
  spec: {
    replicas: number;
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: { name: string; image: string; args: string[] }[] };
    };
  };
  status?: { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
  [k: string]: unknown;
}

async function get<T>(path: string): Promise<T> {
  return (await cluster.admin.must('GET', path)).json<T>();
}

/**
 * The manager pod runs. On kwok nodes a pod turns Ready without running its container, so this can
 * only check that the Deployment's pods are scheduled and Ready. On a real node (the lead's variant),
 * add: the pod's /readyz answers 200, and the sample ElasticWeb reaches status.realQPS 2400.
 */
async function expectManagerRunning(replicas: number): Promise<void> {
  await waitFor(
    `${replicas} Ready manager pod(s)`,
    async () => {
      const d = await get<Deployment>(pathOf('Deployment'));
      return d.status?.readyReplicas === replicas && d.status.updatedReplicas === replicas ? true : undefined;
    },
    120_000,
  );
}

/** Stand-ins for the Prometheus Operator's CRDs (schemaless): the test checks the chart's objects, not its validation. */
async function installMonitoringCrds(): Promise<void> {
  for (const [kind, plural] of [
    ['ServiceMonitor', 'servicemonitors'],
    ['PrometheusRule', 'prometheusrules'],
  ] as const) {
    await cluster.admin.must('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.monitoring.coreos.com` },
      spec: {
        group: 'monitoring.coreos.com',
        names: { kind, plural, listKind: `${kind}List`, singular: kind.toLowerCase() },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
  }
  await waitFor('the monitoring CRDs to be served', async () =>
    (await cluster.admin.request('GET', `/apis/monitoring.coreos.com/v1/namespaces/${ns}/prometheusrules`))
      .status === 200
      ? true
      : undefined,
  );
}

before(async () => {
  helmBinary = await ensureHelm();
  helmHome = mkdtempSync(join(tmpdir(), 'elasticweb-helm-home-'));
});

after(async () => {
  await cluster?.stop();
  if (helmHome) rmSync(helmHome, { recursive: true, force: true });
});

describe('helm lint and template', () => {
  test('helm lint passes with the defaults and with every option on', async () => {
    assert.match(await helm('lint', chart), /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const all = await helm(
      'lint',
      chart,
      '--set',
      'prometheus.serviceMonitor.enabled=true,prometheus.rules.enabled=true,metrics.certSecret=metrics-cert,manager.watchNamespace=shop,extraLabels.team=platform',
    );
    assert.match(all, /0 chart\(s\) failed/);
  });

  test('with its defaults it renders what make deploy applies (and config/prometheus when enabled)', async () => {
    const kustomized = [
      ...objectsOf(await renderKustomize('config/default')),
      ...objectsOf(await renderKustomize('config/prometheus')),
    ].filter((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition');
    const rendered = objectsOf(
      await helm(
        'template',
        release,
        chart,
        '--namespace',
        ns,
        '--set',
        'manager.image.repository=controller,manager.image.tag=latest,prometheus.serviceMonitor.enabled=true,prometheus.rules.enabled=true',
      ),
    );
    assert.deepEqual(rendered.map(key).sort(), kustomized.map(key).sort(), 'the same objects');
    const byKey = new Map(rendered.map((o) => [key(o), o]));
    for (const want of kustomized) {
      const got = structuredClone(byKey.get(key(want))) as KubeManifest;
      assert.equal(got.metadata.namespace, want.metadata.namespace, `${key(want)} namespace`);
      for (const [label, value] of Object.entries(want.metadata.labels ?? {})) {
        if (label !== 'app.kubernetes.io/managed-by')
          assert.equal(got.metadata.labels?.[label], value, `${key(want)} label ${label}`);
      }
      assert.equal(got.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
      assert.equal(got.metadata.labels?.['app.kubernetes.io/instance'], release);
      const expected = structuredClone(want);
      for (const o of [got, expected]) o.metadata = { ...o.metadata, labels: {} };
      if (want.kind === 'Deployment') {
        const [g, e] = [got, expected].map(
          (o) => (o as unknown as Deployment).spec.template.spec.containers[0],
        ) as [
          Deployment['spec']['template']['spec']['containers'][number] & { imagePullPolicy?: string },
          Deployment['spec']['template']['spec']['containers'][number],
        ];
        // The chart spells out flags kustomize leaves at their defaults: what matters is what they mean.
        assert.deepEqual(parseFlags(g.args, {}), parseFlags(e.args, {}), 'the manager flags mean the same');
        assert.equal(g.imagePullPolicy, 'IfNotPresent');
        delete g.imagePullPolicy;
        g.args = [];
        e.args = [];
      }
      assert.deepEqual(got, expected, `${key(want)} is the same apart from labels`);
    }
  });
});

describe('on a cluster', () => {
  before(async () => {
    cluster = await LocalCluster.start({ mode: 'full', nodes: 2 });
    // As config/manager makes it: the namespace enforces the restricted Pod Security Standard.
    await cluster.admin.must('POST', '/api/v1/namespaces', {
      metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    await installMonitoringCrds();
  });

  test('helm install creates the CRD, RBAC, Service, ServiceMonitor, alerts and a Ready manager', async () => {
    const out = await helm(
      'install',
      release,
      chart,
      '--namespace',
      ns,
      '--set',
      `manager.image.repository=${image.repository},manager.image.tag=${image.tag}`,
      '--set',
      'prometheus.serviceMonitor.enabled=true,prometheus.rules.enabled=true',
      '--wait',
      '--timeout',
      '3m',
    );
    assert.match(out, /STATUS: deployed/);
    assert.equal((await cluster.admin.request('GET', crdPath)).status, 200, 'the CRD from crds/');
    for (const o of installed) {
      const res = await cluster.admin.request('GET', o.path);
      assert.equal(res.status, 200, `${o.what} ${o.path}`);
      const labels = res.json<KubeManifest>().metadata.labels ?? {};
      assert.equal(labels['app.kubernetes.io/instance'], release, `${o.what} carries the release label`);
    }
    const binding = await get<{ subjects: { namespace: string }[] }>(
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/elasticweb-manager-rolebinding',
    );
    assert.equal(binding.subjects[0]?.namespace, ns, 'bound to the ServiceAccount of the release namespace');
    const d = await get<Deployment>(pathOf('Deployment'));
    const c = d.spec.template.spec.containers[0];
    assert.equal(c?.image, `${image.repository}:${image.tag}`);
    assert.ok(c?.args.includes('--metrics-bind-address=:8443'));
    assert.ok(c?.args.includes('--metrics-secure=true'));
    assert.ok(c?.args.includes('--leader-elect=true'));
    const service = await get<{ spec: { ports: { name: string; port: number }[] } }>(pathOf('Service'));
    assert.deepEqual(
      service.spec.ports.map((p) => [p.name, p.port]),
      [['https', 8443]],
    );
    const monitor = await get<{ spec: { endpoints: { scheme: string; bearerTokenFile?: string }[] } }>(
      pathOf('ServiceMonitor'),
    );
    assert.equal(monitor.spec.endpoints[0]?.scheme, 'https');
    assert.ok(monitor.spec.endpoints[0]?.bearerTokenFile);
    const rule = await get<{
      spec: { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] };
    }>(pathOf('PrometheusRule'));
    const first = rule.spec.groups[0]?.rules[0];
    assert.match(
      first?.annotations.description ?? '',
      /\{\{ \$labels\.namespace \}\}/,
      'Prometheus templates survive Helm',
    );
    assert.match(first?.annotations.runbook_url ?? '', new RegExp(`/docs/runbooks/${first?.alert}\\.md$`));
    await expectManagerRunning(1);
  });

  test('helm upgrade with changed values takes effect', async () => {
    await helm(
      'upgrade',
      release,
      chart,
      '--namespace',
      ns,
      '--reuse-values',
      '--set',
      'manager.replicas=2,manager.logLevel=debug,manager.logFormat=text,extraLabels.team=platform,metrics.secure=false',
      '--wait',
      '--timeout',
      '3m',
    );
    const d = await get<Deployment>(pathOf('Deployment'));
    assert.equal(d.spec.replicas, 2);
    const args = d.spec.template.spec.containers[0]?.args ?? [];
    for (const a of ['--log-level=debug', '--log-format=text', '--metrics-secure=false'])
      assert.ok(args.includes(a), `${a} in ${args.join(' ')}`);
    assert.equal(d.spec.template.metadata.labels.team, 'platform', 'the pods carry the extra label');
    for (const o of installed.filter((i) => !/metrics-auth|metrics-reader/.test(i.path))) {
      const labels = (await get<KubeManifest>(o.path)).metadata.labels ?? {};
      assert.equal(labels.team, 'platform', `${o.what} carries the extra label`);
    }
    // Plain metrics: the Service and the ServiceMonitor switch to http; the review roles go.
    const service = await get<{ spec: { ports: { name: string }[] } }>(pathOf('Service'));
    assert.equal(service.spec.ports[0]?.name, 'http');
    const monitor = await get<{ spec: { endpoints: { scheme: string; bearerTokenFile?: string }[] } }>(
      pathOf('ServiceMonitor'),
    );
    assert.equal(monitor.spec.endpoints[0]?.scheme, 'http');
    assert.equal(monitor.spec.endpoints[0]?.bearerTokenFile, undefined);
    for (const o of installed.filter((i) => /metrics-auth|metrics-reader/.test(i.path)))
      assert.equal((await cluster.admin.request('GET', o.path)).status, 404, `${o.path} removed`);
    await expectManagerRunning(2);
  });

  test('helm uninstall leaves nothing behind but the CRD', async () => {
    await helm('uninstall', release, '--namespace', ns, '--wait', '--timeout', '3m');
    for (const o of installed) {
      await waitFor(`${o.what} to be gone`, async () =>
        (await cluster.admin.request('GET', o.path)).status === 404 ? true : undefined,
      );
    }
    const selector = `labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${release}`)}`;
    for (const list of [
      `/api/v1/namespaces/${ns}/serviceaccounts`,
      `/api/v1/namespaces/${ns}/services`,
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    ]) {
      const items = (await get<{ items: unknown[] }>(`${list}?${selector}`)).items;
      assert.equal(items.length, 0, `${list} has no object of the release`);
    }
    await waitFor('the manager pods to be gone', async () =>
      (await get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/pods`)).items.length === 0
        ? true
        : undefined,
    );
    const secrets = (
      await get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/secrets?labelSelector=owner%3Dhelm`)
    ).items;
    assert.equal(secrets.length, 0, 'no release record left');
    assert.equal(
      (await cluster.admin.request('GET', crdPath)).status,
      200,
      'the CRD stays (Helm convention)',
    );
  });
});
