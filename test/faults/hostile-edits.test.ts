/**
 * Hostile edits to what the operator owns, each made the way a person would (kubectl edit, scale,
 * label): labels, the Service selector, replicas, the container port, the owner reference. Each is
 * put back; an object taken over by another controller is reported instead. Other ElasticWebs are
 * not disturbed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { deploymentPath, ewPath, installCrd, servicePath, waitFor } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import {
  createMany,
  type ElasticWebObject,
  problems,
  reportFigures,
  snapshot,
  waitConverged,
} from './support.ts';

let cluster: LocalCluster;
let admin: RawClient;
let op: OperatorProcess;
const ns = 'hostile';
let names: string[];
const restoreTimes: Record<string, number> = {};

before(async () => {
  cluster = await LocalCluster.start({ mode: 'api' });
  admin = cluster.admin;
  await installCrd(admin);
  op = await OperatorProcess.start(cluster.kubeconfigPath);
  await op.waitReady();
  names = await createMany(admin, ns, 10, () => ({
    image: 'nginx:1.17.1',
    singlePodsQPS: 100,
    totalQPS: 300,
  }));
  await waitConverged(admin, ns);
});

after(async () => {
  await op?.stop();
  await cluster?.stop();
});

type Obj = Record<string, unknown> & {
  metadata: { labels?: Record<string, string>; ownerReferences?: unknown[]; resourceVersion: string };
  spec: Record<string, unknown>;
};

/** kubectl edit: read, change, replace (as the admin, under another field manager). Returns the object before and after. */
async function edit(path: string, change: (o: Obj) => void): Promise<{ before: Obj; edited: Obj }> {
  const before = (await admin.must('GET', path)).json<Obj>();
  const o = structuredClone(before);
  change(o);
  const res = await admin.request('PUT', `${path}?fieldManager=kubectl-edit`, o);
  assert.equal(res.status, 200, res.body);
  return { before, edited: res.json<Obj>() };
}

/** What a repair must bring back: the labels, owner references and spec the operator had written. */
const repaired = (o: Obj) => ({
  labels: o.metadata.labels,
  ownerReferences: o.metadata.ownerReferences,
  spec: o.spec,
});

/** Versions of every object except those of `name`, to prove the others were not touched. */
async function othersVersions(name: string): Promise<string[]> {
  const s = await snapshot(admin, ns);
  return [...s.deployments, ...s.services]
    .filter((o) => o.metadata.name !== name)
    .map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)
    .sort();
}

/** Makes the edit to one ElasticWeb's objects and waits until the whole namespace has converged again. */
async function expectRestored(what: string, name: string, path: string, change: (o: Obj) => void) {
  const others = await othersVersions(name);
  const started = Date.now();
  const { before, edited } = await edit(path, change);
  assert.notDeepEqual(repaired(edited), repaired(before), 'the edit changed something');
  // Wait for the object itself to be put back exactly: the namespace-wide check below does not see
  // every edit (a changed label, for one), and a repair landing after it would be counted against
  // the next test's bystanders.
  await waitFor(
    `${what} put back exactly as it was`,
    async () => {
      const o = (await admin.must('GET', path)).json<Obj>();
      return isDeepStrictEqual(repaired(o), repaired(before)) ? true : undefined;
    },
    30_000,
  );
  await waitConverged(admin, ns, 30_000);
  restoreTimes[what] = Date.now() - started;
  assert.deepEqual(await othersVersions(name), others, 'no other ElasticWeb was disturbed');
}

test('a changed instance label on the Deployment is put back', () =>
  expectRestored('instance label', names[0] as string, deploymentPath(ns, names[0] as string), (o) => {
    (o.metadata.labels as Record<string, string>)['elasticweb.example.com/instance'] = 'someone-else';
  }));

test('a removed managed-by label on the Service (it leaves the cache) is put back', () =>
  expectRestored('managed-by label', names[1] as string, servicePath(ns, names[1] as string), (o) => {
    delete (o.metadata.labels as Record<string, string>)['app.kubernetes.io/managed-by'];
  }));

test('a Service selector changed and widened by hand is put back exactly', () =>
  expectRestored('service selector', names[2] as string, servicePath(ns, names[2] as string), (o) => {
    o.spec.selector = { 'elasticweb.example.com/instance': names[3] as string, extra: 'key' };
  }));

test('hand-set replicas are put back', () =>
  expectRestored('replicas', names[4] as string, deploymentPath(ns, names[4] as string), (o) => {
    o.spec.replicas = 42;
  }));

test('an edited container port is put back, and the stray port removed', () =>
  expectRestored('container port', names[5] as string, deploymentPath(ns, names[5] as string), (o) => {
    const template = o.spec.template as { spec: { containers: { ports: { containerPort: number }[] }[] } };
    (template.spec.containers[0] as { ports: { containerPort: number }[] }).ports[0] = {
      containerPort: 8081,
    } as never;
  }));

test('an edited Service port is put back, and the stray port removed', () =>
  expectRestored('service port', names[6] as string, servicePath(ns, names[6] as string), (o) => {
    const ports = o.spec.ports as { port: number; targetPort: number; name: string }[];
    ports[0] = { name: 'http', port: 8080, targetPort: 8080 } as never;
  }));

test('a removed owner reference is put back', () =>
  expectRestored('owner reference', names[7] as string, deploymentPath(ns, names[7] as string), (o) => {
    o.metadata.ownerReferences = [];
  }));

test('an object taken over by another controller is reported, not fought over', async () => {
  const name = names[8] as string;
  const others = await othersVersions(name);
  await edit(servicePath(ns, name), (o) => {
    o.metadata.ownerReferences = [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'thief',
        uid: '00000000-0000-0000-0000-00000000beef',
        controller: true,
      },
    ];
  });
  const ew = await waitFor('Degraded ResourceNotOwned', async () => {
    const o = (await admin.must('GET', ewPath(ns, name))).json<ElasticWebObject>();
    return o.status?.conditions?.find((c) => c.type === 'Degraded')?.reason === 'ResourceNotOwned'
      ? o
      : undefined;
  });
  assert.match(
    ew.status?.conditions?.find((c) => c.type === 'Degraded')?.message ?? '',
    /not controlled by this ElasticWeb \(its controller: ConfigMap thief\)/,
  );
  const svc = (await admin.must('GET', servicePath(ns, name))).json<Obj>();
  assert.equal(
    (svc.metadata.ownerReferences?.[0] as { name?: string } | undefined)?.name,
    'thief',
    'the operator did not take it back',
  );
  assert.deepEqual(await othersVersions(name), others);
  // Everything else is still exactly as it should be.
  const remaining = problems(await snapshot(admin, ns)).filter((p) => !p.startsWith(`${name}:`));
  assert.deepEqual(remaining, []);
  assert.equal(op.child.exitCode, null);
  reportFigures(
    'hostile edits',
    Object.fromEntries(
      Object.entries(restoreTimes).map(([k, v]) => [`${k.replaceAll(' ', '_')}_restoredMs`, v]),
    ),
  );
});
