/**
 * The ElasticWeb controller end to end, on a local full cluster (real API server, controller manager,
 * scheduler and kwok nodes, so pods really turn Ready) with the operator running against it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { invalidBody, invalidSpecs, validSpec } from '../support/bad-specs.ts';
import {
  createElasticWeb,
  createNamespace,
  deploymentPath,
  elasticWeb,
  ewPath,
  installCrd,
  type RunningOperator,
  servicePath,
  startOperator,
  waitFor,
} from '../support/operator.ts';

interface Deployment {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    ownerReferences?: { uid: string; controller?: boolean }[];
  };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: {
          image: string;
          ports: { containerPort: number; protocol: string }[];
          resources: unknown;
        }[];
      };
    };
  };
  status?: { readyReplicas?: number };
}
interface Service {
  metadata: { uid: string; ownerReferences?: { uid: string }[] };
  spec: {
    type: string;
    selector: Record<string, string>;
    ports: { port: number; targetPort: number; nodePort: number; protocol: string }[];
  };
}
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}
interface ElasticWebObject {
  metadata: { uid: string; generation: number; resourceVersion: string };
  status?: {
    realQPS?: number;
    replicas?: number;
    readyReplicas?: number;
    nodePort?: number;
    observedGeneration?: number;
    conditions?: Condition[];
  };
}

let cluster: LocalCluster;
let admin: RawClient;
let operator: RunningOperator;

async function get<T>(path: string): Promise<T | undefined> {
  const res = await admin.request('GET', path);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
  return res.json<T>();
}

async function mergePatch(path: string, patch: unknown, subresource = ''): Promise<void> {
  const res = await admin.request('PATCH', `${path}${subresource}`, patch, 'application/merge-patch+json');
  if (res.status !== 200) throw new Error(`PATCH ${path}: ${res.status} ${res.body}`);
}

const condition = (ew: ElasticWebObject | undefined, type: string) =>
  ew?.status?.conditions?.find((c) => c.type === type);

/** The operator runs as its own ServiceAccount, so the audit log tells its requests from the test's. */
const operatorUser = 'system:serviceaccount:elasticweb-system:elasticweb-operator';

before(async () => {
  cluster = await LocalCluster.start({ mode: 'full', nodes: 3, auditLog: true });
  admin = cluster.admin;
  await installCrd(admin);
  const kubeconfig = await cluster.writeServiceAccountKubeconfig('elasticweb-system', 'elasticweb-operator');
  await admin.must('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: 'elasticweb-operator-test' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'elasticweb-operator', namespace: 'elasticweb-system' }],
  });
  operator = await startOperator(cluster, { kubeconfig });
});

after(async () => {
  await operator?.stop();
  await cluster?.stop();
});

describe("the seed article's sample", () => {
  const ns = 'sample';
  test('gives 3 Ready replicas behind NodePort 30003, realQPS 2400 and Available', async () => {
    await createNamespace(admin, ns);
    await waitFor('the operator caches to sync', async () => (operator.manager.ready ? true : undefined));
    const reconciles = async () =>
      (await operator.manager.metrics.reconcileTotal.get()).values.reduce((sum, v) => sum + v.value, 0);
    const reconcilesBefore = await reconciles();
    const started = Date.now();
    const requestsBefore = operator.requests.length;
    await createElasticWeb(admin, ns, 'elasticweb-sample', {
      image: 'nginx:1.17.1',
      port: 30003,
      singlePodsQPS: 800,
      totalQPS: 2400,
    });
    const ew = await waitFor('realQPS 2400', async () => {
      const o = await get<ElasticWebObject>(ewPath(ns, 'elasticweb-sample'));
      return o?.status?.realQPS === 2400 ? o : undefined;
    });
    const tookMs = Date.now() - started;
    const requests = operator.requests.slice(requestsBefore).filter((r) => r.verb !== 'watch');
    assert.equal(ew.status?.replicas, 3);
    assert.equal(ew.status?.readyReplicas, 3);
    assert.equal(ew.status?.nodePort, 30003);
    assert.equal(ew.status?.observedGeneration, ew.metadata.generation);
    assert.equal(condition(ew, 'Available')?.status, 'True');
    assert.equal(condition(ew, 'Available')?.reason, 'ReplicasReady');
    assert.equal(condition(ew, 'Degraded')?.status, 'False');

    const d = (await get<Deployment>(deploymentPath(ns, 'elasticweb-sample'))) as Deployment;
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.status?.readyReplicas, 3);
    const container = d.spec.template.spec.containers[0];
    assert.equal(container?.image, 'nginx:1.17.1');
    assert.deepEqual(
      container?.ports.map((p) => [p.containerPort, p.protocol]),
      [[80, 'TCP']],
    );
    assert.deepEqual(container?.resources, {
      requests: { cpu: '100m', memory: '512Mi' },
      limits: { cpu: '100m', memory: '512Mi' },
    });
    assert.equal(d.metadata.ownerReferences?.[0]?.uid, ew.metadata.uid);
    assert.equal(d.metadata.ownerReferences?.[0]?.controller, true);

    const s = (await get<Service>(servicePath(ns, 'elasticweb-sample'))) as Service;
    assert.equal(s.spec.type, 'NodePort');
    assert.deepEqual(
      s.spec.ports.map((p) => [p.port, p.targetPort, p.nodePort, p.protocol]),
      [[80, 80, 30003, 'TCP']],
    );
    assert.deepEqual(s.spec.selector, d.spec.selector.matchLabels);
    assert.equal(s.metadata.ownerReferences?.[0]?.uid, ew.metadata.uid);

    const events = (await admin.must('GET', `/api/v1/namespaces/${ns}/events`))
      .json<{
        items: { reason: string; type: string; involvedObject: { kind: string; name: string } }[];
      }>()
      .items.filter((e) => e.involvedObject.kind === 'ElasticWeb');
    assert.ok(
      events.some((e) => e.reason === 'Created' && e.type === 'Normal'),
      'a Created event on the ElasticWeb',
    );
    const byVerb = Object.entries(Object.groupBy(requests, (r) => r.verb)).map(
      ([v, rs]) => `${v} ${rs?.length}`,
    );
    const reconcileCount = (await reconciles()) - reconcilesBefore;
    console.log(
      `# sample: create to realQPS 2400 took ${tookMs} ms, ${reconcileCount} reconciles and ${requests.length} API requests (${byVerb.join(', ')})`,
    );
  });
});

describe('spec changes', () => {
  const ns = 'changes';
  const name = 'web';
  before(async () => {
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, name, { image: 'nginx:1.17.1', singlePodsQPS: 500, totalQPS: 1000 });
    await waitFor('2 replicas', async () =>
      (await get<Deployment>(deploymentPath(ns, name)))?.spec.replicas === 2 ? true : undefined,
    );
  });

  test('no port: the API server assigns one and status shows it', async () => {
    const ew = await waitFor('status.nodePort', async () => {
      const o = await get<ElasticWebObject>(ewPath(ns, name));
      return o?.status?.nodePort ? o : undefined;
    });
    const s = (await get<Service>(servicePath(ns, name))) as Service;
    assert.equal(ew.status?.nodePort, s.spec.ports[0]?.nodePort);
    assert.ok((ew.status?.nodePort ?? 0) >= 30000 && (ew.status?.nodePort ?? 0) <= 32767);
  });

  test('totalQPS changed gives the new replica count, and realQPS follows the Ready pods', async () => {
    const before = operator.requests.length;
    await mergePatch(ewPath(ns, name), { spec: { totalQPS: 2001 } });
    const ew = await waitFor('realQPS 2500 with 5 replicas', async () => {
      const o = await get<ElasticWebObject>(ewPath(ns, name));
      return o?.status?.realQPS === 2500 && o.status.replicas === 5 ? o : undefined;
    });
    assert.equal((await get<Deployment>(deploymentPath(ns, name)))?.spec.replicas, 5);
    assert.equal(condition(ew, 'Available')?.status, 'True');
    // A scale writes spec.replicas alone (a JSON patch guarded by the uid), not the whole form.
    const writes = operator.requests
      .slice(before)
      .filter((r) => r.path === deploymentPath(ns, name) && r.method !== 'GET');
    assert.deepEqual(
      writes.map((r) => [r.verb, r.status]),
      [['patch', 200]],
    );
  });

  test('totalQPS 0 scales to zero replicas and keeps the Service', async () => {
    await mergePatch(ewPath(ns, name), { spec: { totalQPS: 0 } });
    const ew = await waitFor('0 replicas and realQPS 0', async () => {
      const o = await get<ElasticWebObject>(ewPath(ns, name));
      return o?.status?.replicas === 0 && o.status.realQPS === 0 ? o : undefined;
    });
    assert.equal((await get<Deployment>(deploymentPath(ns, name)))?.spec.replicas, 0);
    assert.ok(await get<Service>(servicePath(ns, name)), 'the Service stays');
    assert.equal(condition(ew, 'Available')?.reason, 'ScaledToZero');
  });

  test('image, containerPort and resources changes roll out to the pod template and Service', async () => {
    await mergePatch(ewPath(ns, name), {
      spec: {
        totalQPS: 500,
        image: 'nginx:1.27',
        containerPort: 8080,
        // A merge patch merges maps: null removes the default cpu limit.
        resources: { requests: { cpu: '0.25', memory: '128Mi' }, limits: { cpu: null, memory: '256Mi' } },
      },
    });
    const d = await waitFor('the new pod template', async () => {
      const o = await get<Deployment>(deploymentPath(ns, name));
      return o?.spec.template.spec.containers[0]?.image === 'nginx:1.27' ? o : undefined;
    });
    const c = d.spec.template.spec.containers[0];
    assert.equal(c?.ports[0]?.containerPort, 8080);
    assert.deepEqual(c?.resources, {
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { memory: '256Mi' },
    });
    const s = await waitFor('the Service on port 8080', async () => {
      const o = await get<Service>(servicePath(ns, name));
      return o?.spec.ports[0]?.targetPort === 8080 ? o : undefined;
    });
    assert.equal(s.spec.ports[0]?.port, 8080);
  });
});

describe('drift is put back', () => {
  const ns = 'drift';
  const name = 'web';
  before(async () => {
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, name, {
      image: 'nginx:1.17.1',
      port: 30100,
      singlePodsQPS: 100,
      totalQPS: 300,
    });
    await waitFor('3 replicas', async () =>
      (await get<Deployment>(deploymentPath(ns, name)))?.spec.replicas === 3 ? true : undefined,
    );
  });

  test('a deleted Deployment is recreated', async () => {
    const old = (await get<Deployment>(deploymentPath(ns, name))) as Deployment;
    await admin.must('DELETE', deploymentPath(ns, name));
    const fresh = await waitFor('a new Deployment', async () => {
      const o = await get<Deployment>(deploymentPath(ns, name));
      return o && o.metadata.uid !== old.metadata.uid ? o : undefined;
    });
    assert.equal(fresh.spec.replicas, 3);
  });

  test('a deleted Service is recreated', async () => {
    const old = (await get<Service>(servicePath(ns, name))) as Service;
    await admin.must('DELETE', servicePath(ns, name));
    const fresh = await waitFor('a new Service', async () => {
      const o = await get<Service>(servicePath(ns, name));
      return o && o.metadata.uid !== old.metadata.uid ? o : undefined;
    });
    assert.equal(fresh.spec.ports[0]?.nodePort, 30100);
  });

  test('a hand-scaled Deployment is restored', async () => {
    await mergePatch(deploymentPath(ns, name), { spec: { replicas: 7 } }, '/scale');
    await waitFor('replicas back to 3', async () => {
      const o = await get<Deployment>(deploymentPath(ns, name));
      return o?.spec.replicas === 3 ? true : undefined;
    });
  });

  test('a Service port edited by hand is restored', async () => {
    const s = (await get<Service>(servicePath(ns, name))) as Service;
    const edited = {
      ...s,
      spec: { ...s.spec, ports: [{ ...s.spec.ports[0], nodePort: 30101, targetPort: 9999 }] },
    };
    const res = await admin.request('PUT', servicePath(ns, name), edited);
    assert.equal(res.status, 200, res.body);
    await waitFor('the Service ports restored', async () => {
      const o = await get<Service>(servicePath(ns, name));
      const p = o?.spec.ports[0];
      return p?.nodePort === 30100 && p.targetPort === 80 ? true : undefined;
    });
  });
});

describe('isolation between ElasticWebs', () => {
  const ns = 'isolation';
  test('two ElasticWebs in one namespace never select each other’s pods', async () => {
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, 'a', { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 200 });
    await createElasticWeb(admin, ns, 'b', { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 300 });
    for (const [name, count] of [
      ['a', 2],
      ['b', 3],
    ] as const) {
      await waitFor(`${name} to have ${count} Ready pods`, async () => {
        const o = await get<ElasticWebObject>(ewPath(ns, name));
        return o?.status?.readyReplicas === count ? true : undefined;
      });
    }
    const pods = (await admin.must('GET', `/api/v1/namespaces/${ns}/pods`)).json<{
      items: { metadata: { labels: Record<string, string>; ownerReferences: { name: string }[] } }[];
    }>().items;
    for (const name of ['a', 'b']) {
      const selector = ((await get<Service>(servicePath(ns, name))) as Service).spec.selector;
      const selected = pods.filter((p) =>
        Object.entries(selector).every(([k, v]) => p.metadata.labels[k] === v),
      );
      assert.equal(selected.length, name === 'a' ? 2 : 3, `Service ${name} selects only its own pods`);
      for (const p of selected)
        assert.match(p.metadata.ownerReferences[0]?.name ?? '', new RegExp(`^${name}-`));
      const d = (await get<Deployment>(deploymentPath(ns, name))) as Deployment;
      assert.deepEqual(d.spec.selector.matchLabels, selector);
    }
  });
});

describe('conflicts', () => {
  const ns = 'conflicts';
  test('two ElasticWebs asking for one NodePort: the second is Degraded, the first untouched', async () => {
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, 'first', {
      image: 'nginx:1.17.1',
      port: 30200,
      singlePodsQPS: 100,
      totalQPS: 100,
    });
    const first = await waitFor('first Available', async () => {
      const o = await get<ElasticWebObject>(ewPath(ns, 'first'));
      return condition(o, 'Available')?.status === 'True' ? o : undefined;
    });
    const firstService = (await get<Service>(servicePath(ns, 'first'))) as Service;

    await createElasticWeb(admin, ns, 'second', {
      image: 'nginx:1.17.1',
      port: 30200,
      singlePodsQPS: 100,
      totalQPS: 100,
    });
    const second = await waitFor('second Degraded', async () => {
      const o = await get<ElasticWebObject>(ewPath(ns, 'second'));
      return condition(o, 'Degraded')?.status === 'True' ? o : undefined;
    });
    const degraded = condition(second, 'Degraded') as Condition;
    assert.equal(degraded.reason, 'NodePortConflict');
    assert.match(degraded.message, /30200/);
    assert.match(degraded.message, /already allocated/);
    const events = (await admin.must('GET', `/api/v1/namespaces/${ns}/events`)).json<{
      items: { reason: string; type: string; involvedObject: { name: string } }[];
    }>().items;
    assert.ok(
      events.some(
        (e) => e.involvedObject.name === 'second' && e.type === 'Warning' && e.reason === 'NodePortConflict',
      ),
    );
    // The second one's Deployment is still made: only its Service is in conflict.
    assert.ok(await get<Deployment>(deploymentPath(ns, 'second')));

    const firstAfter = (await get<ElasticWebObject>(ewPath(ns, 'first'))) as ElasticWebObject;
    assert.equal(condition(firstAfter, 'Degraded')?.status, 'False');
    assert.equal(
      condition(firstAfter, 'Available')?.lastTransitionTime,
      condition(first, 'Available')?.lastTransitionTime,
    );
    const firstServiceAfter = (await get<Service>(servicePath(ns, 'first'))) as Service;
    assert.deepEqual(firstServiceAfter, firstService, 'the first Service is not touched');
    // Freeing the port lets the second one converge.
    await admin.must('DELETE', ewPath(ns, 'first'));
    await waitFor(
      'second to recover',
      async () => {
        const o = await get<ElasticWebObject>(ewPath(ns, 'second'));
        return condition(o, 'Degraded')?.status === 'False' ? true : undefined;
      },
      120_000,
    );
  });

  test('an existing Deployment it does not own is left alone and reported', async () => {
    await admin.must('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'taken' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'theirs' } },
        template: {
          metadata: { labels: { app: 'theirs' } },
          spec: { containers: [{ name: 'c', image: 'theirs:1' }] },
        },
      },
    });
    const before = (await get<Deployment>(deploymentPath(ns, 'taken'))) as Deployment;
    await createElasticWeb(admin, ns, 'taken', { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 300 });
    const ew = await waitFor('Degraded ResourceNotOwned', async () => {
      const o = await get<ElasticWebObject>(ewPath(ns, 'taken'));
      return condition(o, 'Degraded')?.reason === 'ResourceNotOwned' ? o : undefined;
    });
    assert.match(condition(ew, 'Degraded')?.message ?? '', /Deployment conflicts\/taken already exists/);
    const after = (await get<Deployment>(deploymentPath(ns, 'taken'))) as Deployment;
    assert.equal(after.spec.replicas, 1);
    assert.equal(after.spec.template.spec.containers[0]?.image, 'theirs:1');
    assert.equal(after.metadata.ownerReferences, undefined);
    assert.equal(after.metadata.uid, before.metadata.uid);
    const events = (await admin.must('GET', `/api/v1/namespaces/${ns}/events`)).json<{
      items: { reason: string; type: string; involvedObject: { name: string } }[];
    }>().items;
    assert.ok(
      events.some(
        (e) => e.involvedObject.name === 'taken' && e.type === 'Warning' && e.reason === 'ResourceNotOwned',
      ),
    );
  });
});

describe('deletion', () => {
  const ns = 'deletion';
  test('deleting an ElasticWeb removes its Deployment and Service', async () => {
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, 'gone', { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 100 });
    await waitFor('the Deployment and Service', async () =>
      (await get(deploymentPath(ns, 'gone'))) && (await get(servicePath(ns, 'gone'))) ? true : undefined,
    );
    await admin.must('DELETE', ewPath(ns, 'gone'));
    await waitFor('the Deployment and Service to be collected', async () =>
      !(await get(deploymentPath(ns, 'gone'))) && !(await get(servicePath(ns, 'gone'))) ? true : undefined,
    );
  });
});

describe('the API rejects bad input, naming the field', () => {
  const ns = 'validation';
  before(() => createNamespace(admin, ns));
  for (const c of invalidSpecs) {
    test(`${c.what} is rejected`, async () => {
      const res = await admin.request('POST', ewPath(ns), invalidBody(ns, c));
      assert.equal(res.status, 422, res.body);
      assert.match(res.json<{ message: string }>().message, c.field);
    });
  }

  test('unknown fields are pruned, or refused under strict field validation', async () => {
    const body = elasticWeb(ns, 'extra', { ...validSpec, replicas: 3 });
    const strict = await admin.request('POST', `${ewPath(ns)}?fieldValidation=Strict`, body);
    assert.equal(strict.status, 400, strict.body);
    assert.match(strict.json<{ message: string }>().message, /unknown field "spec\.replicas"/);
    const lax = await admin.request('POST', ewPath(ns), body);
    assert.equal(lax.status, 201, lax.body);
    assert.equal(lax.json<{ spec: Record<string, unknown> }>().spec.replicas, undefined);
  });
});

describe('kubectl get', () => {
  const ns = 'printing';
  const kubectl = async (...args: string[]) => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { stdout } = await promisify(execFile)('kubectl', [
      '--kubeconfig',
      cluster.kubeconfigPath,
      ...args,
    ]);
    return stdout;
  };
  const rows = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s{2,}/));

  test('shows NAME IMAGE TOTAL-QPS REAL-QPS OBSERVED-QPS READY AGE, and PORT MODE SINGLE-POD-QPS with -o wide', async () => {
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, 'shop', {
      image: 'nginx:1.17.1',
      port: 30300,
      singlePodsQPS: 800,
      totalQPS: 2400,
    });
    await waitFor('realQPS 2400', async () =>
      (await get<ElasticWebObject>(ewPath(ns, 'shop')))?.status?.realQPS === 2400 ? true : undefined,
    );

    const [header, row] = rows(await kubectl('get', 'ew', '-n', ns));
    assert.deepEqual(header, ['NAME', 'IMAGE', 'TOTAL-QPS', 'REAL-QPS', 'OBSERVED-QPS', 'READY', 'AGE']);
    // Declared mode measures nothing: kubectl leaves OBSERVED-QPS blank (so the row has one word less).
    assert.deepEqual(row?.slice(0, 5), ['shop', 'nginx:1.17.1', '2400', '2400', '3/3']);
    assert.equal(row?.length, header?.length === undefined ? -1 : header.length - 1);

    const [wideHeader, wideRow] = rows(await kubectl('get', 'elasticwebs', '-n', ns, '-o', 'wide'));
    assert.deepEqual(wideHeader, [
      'NAME',
      'IMAGE',
      'TOTAL-QPS',
      'REAL-QPS',
      'OBSERVED-QPS',
      'READY',
      'AGE',
      'PORT',
      'MODE',
      'SINGLE-POD-QPS',
    ]);
    assert.deepEqual(
      [wideRow?.[0], wideRow?.[6], wideRow?.[7], wideRow?.[8]],
      ['shop', '30300', 'Declared', '800'],
    );
  });

  test('kubectl explain describes the spec', async () => {
    const text = await kubectl('explain', 'elasticweb.spec');
    assert.match(text, /singlePodsQPS\s+<integer> -required-/);
    assert.match(text, /Queries per second one pod can serve/);
  });
});

describe('idle', () => {
  test('after convergence, 30 s pass with zero write requests from the operator', async () => {
    const ns = 'idle';
    await createNamespace(admin, ns);
    await createElasticWeb(admin, ns, 'quiet', { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 300 });
    await waitFor('the rollout to complete', async () => {
      const o = await get<ElasticWebObject>(ewPath(ns, 'quiet'));
      return condition(o, 'Progressing')?.reason === 'RolloutComplete' ? true : undefined;
    });
    // Settled: no request for two seconds.
    await waitFor('the operator to go quiet', async () => {
      const before = operator.requests.length;
      await new Promise((r) => setTimeout(r, 2000));
      return operator.requests.length === before ? true : undefined;
    });
    const clientWritesBefore = operator.writes().length;
    const windowStart = new Date();
    await new Promise((r) => setTimeout(r, 30_000));
    const windowEnd = new Date();

    assert.deepEqual(operator.writes().slice(clientWritesBefore), [], 'the operator client sent no write');
    const audited = (await cluster.auditEvents()).filter((e) => {
      const at = new Date(e.stageTimestamp);
      return (
        e.user.username === operatorUser &&
        at >= windowStart &&
        at <= windowEnd &&
        ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(e.verb)
      );
    });
    assert.deepEqual(audited, [], 'the API server saw no write from the operator');
    // The audit log does see the operator (its watches), so an empty result is not a blind spot.
    assert.ok((await cluster.auditEvents()).some((e) => e.user.username === operatorUser));
  });
});
