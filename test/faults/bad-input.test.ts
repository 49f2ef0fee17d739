/**
 * Bad input. Invalid specs never reach the operator: the API server refuses each one, naming the
 * field (the table in test/support/bad-specs.ts). Valid but troublesome specs get a Degraded
 * condition and a Warning event, and nothing crashes; no other ElasticWeb is disturbed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { invalidBody, invalidSpecs } from '../support/bad-specs.ts';
import {
  createElasticWeb,
  createNamespace,
  deploymentPath,
  elasticWeb,
  ewPath,
  installCrd,
  servicePath,
  waitFor,
} from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import { type ElasticWebObject, reportFigures, snapshot, waitConverged } from './support.ts';

let cluster: LocalCluster;
let admin: RawClient;
let op: OperatorProcess;
const ns = 'troublesome';
const bystanders = 'bystanders';

before(async () => {
  cluster = await LocalCluster.start({ mode: 'api' });
  admin = cluster.admin;
  await installCrd(admin);
  op = await OperatorProcess.start(cluster.kubeconfigPath);
  await op.waitReady();
  await createNamespace(admin, ns);
  // ElasticWebs that must not notice anything below.
  await createNamespace(admin, bystanders);
  for (const name of ['a', 'b', 'c']) {
    await createElasticWeb(admin, bystanders, name, {
      image: 'nginx:1.17.1',
      singlePodsQPS: 100,
      totalQPS: 250,
    });
  }
  await waitConverged(admin, bystanders);
});

after(async () => {
  await op?.stop();
  await cluster?.stop();
});

const condition = async (name: string, type: string) =>
  (await admin.must('GET', ewPath(ns, name)))
    .json<ElasticWebObject>()
    .status?.conditions?.find((c) => c.type === type);

async function warningEvents(name: string): Promise<{ reason: string; message: string }[]> {
  const events = (await admin.must('GET', `/api/v1/namespaces/${ns}/events`)).json<{
    items: {
      type: string;
      reason: string;
      message: string;
      involvedObject: { kind: string; name: string };
    }[];
  }>().items;
  return events.filter(
    (e) => e.type === 'Warning' && e.involvedObject.kind === 'ElasticWeb' && e.involvedObject.name === name,
  );
}

describe('invalid specs are refused by the API server, naming the field', () => {
  for (const c of invalidSpecs) {
    test(c.what, async () => {
      const res = await admin.request('POST', ewPath(ns), invalidBody(ns, c));
      assert.equal(res.status, 422, res.body);
      assert.match(res.json<{ message: string }>().message, c.field);
    });
  }
  test('unknown fields are pruned', async () => {
    const res = await admin.request(
      'POST',
      ewPath(ns),
      elasticWeb(ns, 'pruned', { image: 'x', singlePodsQPS: 1, bogus: true }),
    );
    assert.equal(res.status, 201, res.body);
    assert.equal(res.json<{ spec: Record<string, unknown> }>().spec.bogus, undefined);
    await admin.must('DELETE', ewPath(ns, 'pruned'));
  });
});

describe('valid but troublesome specs: a condition and an event, no crash', () => {
  test('totalQPS far beyond maxReplicas x singlePodsQPS is capped and reported', async () => {
    await createElasticWeb(admin, ns, 'huge', {
      image: 'nginx:1.17.1',
      singlePodsQPS: 1,
      totalQPS: 2_000_000_000,
      maxReplicas: 20,
    });
    const degraded = await waitFor('Degraded MaxReplicasReached', async () => {
      const c = await condition('huge', 'Degraded');
      return c?.reason === 'MaxReplicasReached' ? c : undefined;
    });
    assert.equal(degraded.status, 'True');
    const d = (await admin.must('GET', deploymentPath(ns, 'huge'))).json<{ spec: { replicas: number } }>();
    assert.equal(d.spec.replicas, 20, 'the Deployment is capped at maxReplicas');
    await waitFor('a MaxReplicasReached Warning event', async () =>
      (await warningEvents('huge')).some((e) => e.reason === 'MaxReplicasReached') ? true : undefined,
    );
  });

  test('a NodePort held by a Service the operator does not own', async () => {
    await admin.must('POST', `/api/v1/namespaces/${ns}/services`, {
      metadata: { name: 'someone-elses' },
      spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80, nodePort: 30050 }] },
    });
    await createElasticWeb(admin, ns, 'wants-30050', {
      image: 'nginx:1.17.1',
      singlePodsQPS: 100,
      totalQPS: 100,
      port: 30050,
    });
    const c = await waitFor('Degraded NodePortConflict', async () => {
      const got = await condition('wants-30050', 'Degraded');
      return got?.reason === 'NodePortConflict' ? got : undefined;
    });
    assert.match(c.message ?? '', /30050.*already allocated/);
    assert.ok((await warningEvents('wants-30050')).some((e) => e.reason === 'NodePortConflict'));
    const theirs = (await admin.must('GET', servicePath(ns, 'someone-elses'))).json<{
      metadata: { ownerReferences?: unknown[] };
      spec: { selector: Record<string, string> };
    }>();
    assert.deepEqual(theirs.spec.selector, { app: 'x' }, 'the other Service is untouched');
    assert.equal(theirs.metadata.ownerReferences, undefined);
  });

  test('a Deployment of the same name it does not own', async () => {
    await admin.must('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'occupied', labels: { team: 'other' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'other' } },
        template: {
          metadata: { labels: { app: 'other' } },
          spec: { containers: [{ name: 'c', image: 'other:1' }] },
        },
      },
    });
    const before = (await admin.must('GET', deploymentPath(ns, 'occupied'))).json<{
      metadata: { resourceVersion: string };
    }>();
    await createElasticWeb(admin, ns, 'occupied', {
      image: 'nginx:1.17.1',
      singlePodsQPS: 100,
      totalQPS: 300,
    });
    await waitFor('Degraded ResourceNotOwned', async () =>
      (await condition('occupied', 'Degraded'))?.reason === 'ResourceNotOwned' ? true : undefined,
    );
    assert.ok((await warningEvents('occupied')).some((e) => e.reason === 'ResourceNotOwned'));
    const after = (await admin.must('GET', deploymentPath(ns, 'occupied'))).json<{
      metadata: { resourceVersion: string };
    }>();
    assert.equal(
      after.metadata.resourceVersion,
      before.metadata.resourceVersion,
      'the other Deployment is not written',
    );
  });

  test('the operator is still running and the bystanders were not disturbed', async () => {
    const before = await snapshot(admin, bystanders);
    await new Promise((r) => setTimeout(r, 2000));
    const after = await snapshot(admin, bystanders);
    const versions = (s: typeof before) =>
      [...s.deployments, ...s.services, ...s.elasticWebs]
        .map((o) => `${o.metadata.name}@${(o.metadata as { resourceVersion?: string }).resourceVersion}`)
        .sort();
    assert.deepEqual(versions(after), versions(before));
    assert.equal((await waitConverged(admin, bystanders, 5000)) >= 0, true);
    assert.equal(op.child.exitCode, null);
    assert.equal(await op.readyz(), 200);
    const crashes = op.logs.filter((l) => l.level === 'fatal' || l.msg === 'unhandled promise rejection');
    assert.deepEqual(crashes, []);
    reportFigures('bad input', {
      invalidSpecsRefused: invalidSpecs.length,
      troublesomeSpecs: 3,
      bystandersDisturbed: 0,
    });
  });
});
