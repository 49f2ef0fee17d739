/**
 * CachedClient against a scripted server: reads come from the cache and see our own writes at once;
 * an apply is not repeated against the object it produced (repeatsLastApply); replaceStatus is a
 * JSON patch whose first operation tests the uid, and the API server's bare 422 for a failed test
 * is reported as the uid precondition failure it is ('replaced'); patchFields is such a patch of the
 * object, remembered as an apply of the form it stands for.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { CachedClient } from '../../src/runtime/cache/cached-client.ts';
import { Informer, type KubeObject } from '../../src/runtime/cache/informer.ts';
import { type ApiError, classify } from '../../src/runtime/client/errors.ts';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { configMap, configMaps, restConfig, silentLog } from './support/config.ts';
import { FakeClock } from './support/fake-clock.ts';
import { ScriptedServer } from './support/scripted-server.ts';

const objectPath = '/api/v1/namespaces/default/configmaps/a';
let server: ScriptedServer;
let clock: FakeClock;
let api: KubeClient;
let informer: Informer<KubeObject>;
let client: CachedClient;

beforeEach(async () => {
  server = await ScriptedServer.start();
  clock = new FakeClock();
  api = new KubeClient(restConfig(server.url), { userAgent: 'runtime-test/0', clock });
  // Never run: its store holds only what the client records (and what a test puts in).
  informer = new Informer<KubeObject>({ client: api, type: configMaps, log: silentLog, clock });
  client = new CachedClient({
    api,
    fieldManager: 'widget-operator',
    informerOf: (type) => (type === configMaps ? informer : undefined),
    clock,
    repeatAfterMs: 600_000,
  });
});
afterEach(async () => {
  await api.close();
  await server.close();
});

const desired = () => ({
  ...configMap('a', ''),
  metadata: { name: 'a', namespace: 'default' },
  data: { k: 'v' },
});

/** A 422 with no causes, as the API server writes a failed JSON-patch test and a webhook may write its refusal. */
const bare422 = (message: string, reason?: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message,
  ...(reason ? { reason } : {}),
  code: 422,
});

describe('CachedClient: reads see our writes', { timeout: 10_000 }, () => {
  test('an object just created is read back from the cache, with no request', async () => {
    server.on('POST', '/api/v1/namespaces/default/configmaps', (req, reply) =>
      reply.json(
        {
          ...(req.json as object),
          metadata: { name: 'a', namespace: 'default', uid: 'u1', resourceVersion: '3' },
        },
        201,
      ),
    );
    await client.create(configMaps, desired());
    assert.equal(client.get(configMaps, { namespace: 'default', name: 'a' })?.metadata.resourceVersion, '3');
    assert.equal(client.list(configMaps, { namespace: 'default' }).length, 1);
    assert.equal(client.list(configMaps, { namespace: 'other' }).length, 0);
    assert.equal(server.requests.length, 1, 'the read made no request');
    assert.equal(server.requests[0]?.query.fieldManager, 'widget-operator');
  });

  test('reading a kind no informer caches is an error that says what to do', () => {
    const secrets = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };
    assert.throws(
      () => client.get(secrets, { name: 'x' }),
      /no cache of Secret: register it with for\(\) or owns\(\)/,
    );
  });
});

describe('CachedClient: repeatsLastApply', { timeout: 10_000 }, () => {
  beforeEach(() => {
    let version = 10;
    server.on('PATCH', objectPath, (req, reply) => {
      const body = req.json as { metadata: object };
      // Admission adds a label on every write: the result never equals what was applied.
      reply.json({
        ...body,
        metadata: {
          ...body.metadata,
          uid: 'u1',
          resourceVersion: String(version++),
          labels: { policy: 'added' },
        },
      });
    });
  });

  test('is false before any apply, true right after it against the object it produced', async () => {
    assert.equal(client.repeatsLastApply(configMaps, desired()), false);
    await client.apply(configMaps, desired());
    assert.equal(server.requests[0]?.headers['content-type'], 'application/apply-patch+yaml');
    assert.equal(server.requests[0]?.query.force, 'true');
    assert.equal(client.repeatsLastApply(configMaps, desired()), true);
  });

  test('is false for a different body, or once the object changed since', async () => {
    await client.apply(configMaps, desired());
    assert.equal(client.repeatsLastApply(configMaps, { ...desired(), data: { k: 'other' } }), false);
    informer.recordWrite({ metadata: { name: 'a', namespace: 'default', uid: 'u1', resourceVersion: '99' } });
    assert.equal(
      client.repeatsLastApply(configMaps, desired()),
      false,
      'someone changed it: applying may help',
    );
  });

  test('is false again after repeatAfterMs on the clock, and after forget()', async () => {
    // (Shorter than the store's 60 s write TTL: this informer never runs, so no watch replaces it.)
    client = new CachedClient({
      api,
      fieldManager: 'widget-operator',
      informerOf: () => informer,
      clock,
      repeatAfterMs: 30_000,
    });
    await client.apply(configMaps, desired());
    await clock.advance(29_999);
    assert.equal(client.repeatsLastApply(configMaps, desired()), true);
    await clock.advance(1);
    assert.equal(client.repeatsLastApply(configMaps, desired()), false);
    await client.apply(configMaps, desired());
    client.forget(configMaps, { namespace: 'default', name: 'a' });
    assert.equal(client.repeatsLastApply(configMaps, desired()), false);
  });
});

describe('CachedClient: replaceStatus', { timeout: 10_000 }, () => {
  const object = { metadata: { namespace: 'default', name: 'a', uid: 'uid-1' } };

  test('sends a JSON patch to the status subresource whose first operation tests the uid', async () => {
    server.on('PATCH', `${objectPath}/status`, (_req, reply) =>
      reply.json({
        metadata: { name: 'a', namespace: 'default', uid: 'uid-1', resourceVersion: '8' },
        status: { ready: 1 },
      }),
    );
    await client.replaceStatus(configMaps, object, { ready: 1 });
    const sent = server.requests[0];
    assert.equal(sent?.headers['content-type'], 'application/json-patch+json');
    assert.deepEqual(sent?.json, [
      { op: 'test', path: '/metadata/uid', value: 'uid-1' },
      { op: 'add', path: '/status', value: { ready: 1 } },
    ]);
    assert.equal(
      client.get(configMaps, object.metadata)?.metadata.resourceVersion,
      '8',
      'recorded for reads',
    );
  });

  test("the API server's bare 422 for a failed test becomes a 409 uid precondition failure: 'replaced'", async () => {
    // What the API server answers when a JSON patch's test operation fails: 422, no causes.
    server.on('PATCH', `${objectPath}/status`, (_req, reply) =>
      reply.send(422, bare422('the server rejected our request due to an error in our request', 'Invalid')),
    );
    await assert.rejects(client.replaceStatus(configMaps, object, {}), (err: ApiError) => {
      assert.equal(err.status, 409);
      assert.match(err.message, /Precondition failed: UID in precondition: uid-1/);
      assert.equal(classify(err).kind, 'replaced');
      return true;
    });
  });

  test('a 422 with causes (an invalid status) stays what it is: invalid', async () => {
    server.on('PATCH', `${objectPath}/status`, (_req, reply) =>
      reply.fail(422, 'Invalid', 'ConfigMap "a" is invalid: status.ready: Invalid value: -1', {
        causes: [{ reason: 'FieldValueInvalid', field: 'status.ready', message: 'Invalid value: -1' }],
      }),
    );
    await assert.rejects(
      client.replaceStatus(configMaps, object, { ready: -1 }),
      (err: ApiError) => err.status === 422 && classify(err).kind === 'invalid',
    );
  });
});

describe('CachedClient: patchFields', { timeout: 10_000 }, () => {
  const withUid = () => ({ ...desired(), metadata: { ...desired().metadata, uid: 'u1' } });

  test('a JSON patch guarded by the uid, remembered as an apply of the form it stands for', async () => {
    server.on('PATCH', objectPath, (_req, reply) =>
      reply.json({
        ...desired(),
        metadata: { name: 'a', namespace: 'default', uid: 'u1', resourceVersion: '12' },
      }),
    );
    const body = withUid();
    await client.patchFields(configMaps, body, [{ op: 'add', path: '/data/k', value: 'v' }]);
    const sent = server.requests[0];
    assert.equal(sent?.headers['content-type'], 'application/json-patch+json');
    assert.equal(sent?.query.fieldManager, 'widget-operator');
    assert.deepEqual(sent?.json, [
      { op: 'test', path: '/metadata/uid', value: 'u1' },
      { op: 'add', path: '/data/k', value: 'v' },
    ]);
    assert.equal(
      client.get(configMaps, desired().metadata)?.metadata.resourceVersion,
      '12',
      'recorded for reads',
    );
    assert.equal(client.repeatsLastApply(configMaps, body), true, 'the same form again would repeat it');
  });

  test("a failed uid test (the API server's bare 422) is 'replaced'", async () => {
    server.on('PATCH', objectPath, (_req, reply) =>
      reply.send(422, bare422('the server rejected our request due to an error in our request', 'Invalid')),
    );
    const body = withUid();
    await assert.rejects(client.patchFields(configMaps, body, []), (err: ApiError) => {
      assert.equal(classify(err).kind, 'replaced');
      return true;
    });
    assert.equal(client.repeatsLastApply(configMaps, body), false, 'a write that failed is not remembered');
  });

  test("a validating webhook's bare 422 stays a denial, naming the webhook", async () => {
    server.on('PATCH', objectPath, (_req, reply) =>
      reply.send(422, bare422('admission webhook "cap.example.com" denied the request: at most 2 replicas')),
    );
    const body = withUid();
    await assert.rejects(client.patchFields(configMaps, body, []), (err: ApiError) => {
      assert.equal(err.status, 422);
      assert.equal(classify(err).kind, 'denied');
      assert.match(err.message, /cap\.example\.com/);
      return true;
    });
  });
});
