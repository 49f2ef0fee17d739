/**
 * ensureOwnedChild's narrow writes, against a scripted server: when all that differs is a narrow
 * field it sends a JSON patch of that field alone; when the answer shows admission rewrote that field
 * it reports it and does not write again; when the answer shows a change elsewhere the cache had not
 * shown, it follows with an apply of the whole form; and a drift beyond the narrow fields is an apply.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { CachedClient } from '../../src/runtime/cache/cached-client.ts';
import { Informer, type KubeObject } from '../../src/runtime/cache/informer.ts';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { ensureOwnedChild } from '../../src/runtime/reconcile/ensure-child.ts';
import { configMaps, restConfig, silentLog } from './support/config.ts';
import { FakeClock } from './support/fake-clock.ts';
import { ScriptedServer } from './support/scripted-server.ts';

const path = '/api/v1/namespaces/default/configmaps/child';
const owner = {
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'w', namespace: 'default', uid: 'owner-uid' },
};
const ownerReferences = [
  { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'owner-uid', controller: true },
];
// Any kind will do for the scripted server; what ensureOwnedChild compares is metadata and spec.
type Cm = KubeObject & { spec: Record<string, string> };
const object = (data: Record<string, string>, resourceVersion: string): Cm => ({
  metadata: { name: 'child', namespace: 'default', uid: 'child-uid', resourceVersion, ownerReferences },
  spec: data,
});
const desired = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'child', namespace: 'default', ownerReferences },
  spec: data,
});

let server: ScriptedServer;
let api: KubeClient;
let informer: Informer<KubeObject>;
let client: CachedClient;

beforeEach(async () => {
  server = await ScriptedServer.start();
  const clock = new FakeClock();
  api = new KubeClient(restConfig(server.url), { userAgent: 'runtime-test/0', clock });
  informer = new Informer<KubeObject>({ client: api, type: configMaps, log: silentLog, clock });
  client = new CachedClient({ api, fieldManager: 'widget-operator', informerOf: () => informer, clock });
  informer.recordWrite(object({ replicas: '1', image: 'a' }, '10'));
});
afterEach(async () => {
  await api.close();
  await server.close();
});

const ensure = (data: Record<string, string>) =>
  ensureOwnedChild<Cm>(client, owner, {
    type: configMaps,
    desired: desired(data) as never,
    narrow: ['spec.replicas'],
  });
const kinds = () =>
  server.requests.map((r) =>
    (r.headers['content-type'] ?? '').replace('application/', '').replace('+json', ''),
  );

describe('ensureOwnedChild: narrow writes', { timeout: 10_000 }, () => {
  test('only a narrow field differs: one JSON patch of it, guarded by the uid', async () => {
    server.on('PATCH', path, (_req, reply) => reply.json(object({ replicas: '2', image: 'a' }, '11')));
    const outcome = await ensure({ replicas: '2', image: 'a' });
    assert.deepEqual(kinds(), ['json-patch']);
    assert.deepEqual(server.requests[0]?.json, [
      { op: 'test', path: '/metadata/uid', value: 'child-uid' },
      { op: 'add', path: '/spec/replicas', value: '2' },
    ]);
    assert.equal(outcome.updated, true);
    assert.equal(outcome.drift, 'spec.replicas');
    assert.equal(outcome.mutatedByAdmission, undefined);
  });

  test('admission rewrites the narrow field: reported, and the same write is not sent again', async () => {
    server.on('PATCH', path, (_req, reply) => reply.json(object({ replicas: '1', image: 'a' }, '11')));
    const first = await ensure({ replicas: '2', image: 'a' });
    assert.equal(first.mutatedByAdmission, 'spec.replicas');
    const second = await ensure({ replicas: '2', image: 'a' });
    assert.equal(second.mutatedByAdmission, 'spec.replicas');
    assert.equal(server.requests.length, 1, 'no fight');
  });

  test('the answer shows a change elsewhere the cache had not shown: the whole form follows', async () => {
    server.once('PATCH', path, (_req, reply) => reply.json(object({ replicas: '2', image: 'b' }, '11')));
    server.on('PATCH', path, (_req, reply) => reply.json(object({ replicas: '2', image: 'a' }, '12')));
    const outcome = await ensure({ replicas: '2', image: 'a' });
    assert.deepEqual(kinds(), ['json-patch', 'apply-patch+yaml']);
    assert.equal(outcome.mutatedByAdmission, undefined, 'not blamed on admission');
    assert.equal(client.get<Cm>(configMaps, { namespace: 'default', name: 'child' })?.spec.image, 'a');
  });

  test('a difference beyond the narrow fields: one apply of the whole form', async () => {
    server.on('PATCH', path, (_req, reply) => reply.json(object({ replicas: '2', image: 'b' }, '11')));
    await ensure({ replicas: '2', image: 'b' });
    assert.deepEqual(kinds(), ['apply-patch+yaml']);
  });
});
