/**
 * Protobuf lists, against a real API server (a local one, started here): for Deployments, Services and PodDisruptionBudgets
 * with every field the schemas read set in its awkward forms (zero pointers, empty strings in
 * lists, int and string IntOrStrings, quantities, a deletion timestamp, managed fields), the
 * protobuf reader gives exactly what JSON.parse gives for the schema's fields, and the operator's
 * cache transforms give the same cached objects from either. A page cut into chunks anywhere reads
 * the same; a field the schema does not know sends the list back to JSON; a failed protobuf request
 * still says why; a kind the server has no protobuf for (a CRD) is read as JSON.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import {
  type CachedDeployment,
  type CachedDisruptionBudget,
  type CachedService,
  slimDeployment,
  slimDisruptionBudget,
  slimService,
} from '../../src/controllers/elasticweb/cached-objects.ts';
import {
  deploymentPrune,
  desiredDeployment,
  desiredDisruptionBudget,
  desiredService,
  fieldManager,
} from '../../src/controllers/elasticweb/desired.ts';
import { ApiError } from '../../src/runtime/client/errors.ts';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import {
  type ListSchema,
  protobufLists,
  withoutManagedFields,
} from '../../src/runtime/client/protobuf/builtin-messages.ts';
import { decodeListPage } from '../../src/runtime/client/protobuf/list.ts';
import type { Json, Message } from '../../src/runtime/client/protobuf/schema.ts';
import type { ProtobufUnsupported } from '../../src/runtime/client/protobuf/wire.ts';
import { apps, core, policy, type ResourceType } from '../../src/runtime/client/resource-type.ts';
import { loadRestConfig } from '../../src/runtime/index.ts';
import { keepOwnedFields } from '../../src/runtime/reconcile/strays.ts';
import { elasticWeb } from '../unit/support/elasticweb.ts';

const ns = 'pb';
let cluster: LocalCluster;
let client: KubeClient;
let raw: Agent;

/** What JSON.parse gives, cut to the fields `schema` names (its rules, written out for JSON). */
function project(value: unknown, schema: Message, path: string): Json {
  const out: Json = {};
  const names = new Map<string, Message | undefined>();
  for (const field of Object.values(schema.fields)) {
    if (field.inline && typeof field.type === 'object') {
      for (const f of Object.values(field.type.fields))
        names.set(f.name, typeof f.type === 'object' ? f.type : undefined);
    } else names.set(field.name, typeof field.type === 'object' ? field.type : undefined);
  }
  for (const [key, v] of Object.entries(value as Json)) {
    if (!names.has(key)) {
      assert.ok(schema.open, `${path}.${key} is in the JSON but not in the closed schema`);
      continue;
    }
    const sub = names.get(key);
    if (!sub) out[key] = v;
    else if (Array.isArray(v)) out[key] = v.map((item, i) => project(item, sub, `${path}.${key}[${i}]`));
    else if (isMap(schema, key))
      out[key] = Object.fromEntries(
        Object.entries(v as Json).map(([k, item]) => [k, project(item, sub, `${path}.${key}.${k}`)]),
      );
    else out[key] = project(v, sub, `${path}.${key}`);
  }
  return out;
}

function isMap(schema: Message, name: string): boolean {
  return Object.values(schema.fields).some((f) => f.name === name && f.map);
}

async function listBoth<T>(type: ResourceType, schema: ListSchema, limit = 500) {
  const viaJson = await client.list<Json>(type, { namespace: ns, limit });
  let unsupported: ProtobufUnsupported | undefined;
  const viaProtobuf = await client.listTransformed<Json, Json>(type, {
    namespace: ns,
    limit,
    protobuf: schema,
    transform: (o) => o,
    onProtobufUnsupported: (err) => {
      unsupported = err;
    },
  });
  assert.equal(unsupported, undefined, `protobuf list of ${type.kind} fell back: ${unsupported?.message}`);
  assert.equal(viaProtobuf.resourceVersion, viaJson.resourceVersion);
  return { json: viaJson.items as T[], protobuf: viaProtobuf.items as T[] };
}

/** The raw protobuf answer of a list, as the socket gave it. */
async function rawProtobuf(path: string): Promise<Buffer> {
  const res = await request(new URL(path, cluster.server), {
    dispatcher: raw,
    headers: { accept: 'application/vnd.kubernetes.protobuf' },
  });
  assert.equal(res.headers['content-type'], 'application/vnd.kubernetes.protobuf');
  return Buffer.from(await res.body.arrayBuffer());
}

const container = {
  name: 'web',
  image: 'nginx:1.27',
  command: ['/bin/sh', '-c'],
  args: ['', 'exec nginx', '--flag='],
  ports: [
    { name: 'http', containerPort: 80, protocol: 'TCP' },
    { containerPort: 9000, protocol: 'UDP', hostPort: 0 },
  ],
  resources: {
    limits: { cpu: '1500m', memory: '1Gi', 'example.com/widget': '3' },
    requests: { cpu: '0.25', memory: '100M' },
  },
  readinessProbe: {
    httpGet: { path: '/', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Empty', value: '' }] },
    initialDelaySeconds: 0,
    periodSeconds: 3,
  },
  livenessProbe: { tcpSocket: { port: 80 }, terminationGracePeriodSeconds: 1 },
  lifecycle: {
    preStop: { sleep: { seconds: 0 } },
    postStart: { exec: { command: ['true'] } },
  },
  securityContext: {
    runAsUser: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
    seccompProfile: { type: 'RuntimeDefault' },
    seLinuxOptions: { level: 's0:c123,c456' },
  },
};

before(async () => {
  cluster = await LocalCluster.start({ mode: 'api' });
  client = new KubeClient(await loadRestConfig(cluster.kubeconfigPath), { userAgent: 'protobuf-test/0' });
  const { pem } = cluster.pki;
  raw = new Agent({ connect: { ca: pem.ca, cert: pem.adminCert, key: pem.adminKey } });
  await cluster.admin.must('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  const post = (path: string, body: unknown) => cluster.admin.must('POST', `/apis/${path}`, body);
  const labels = { app: 'odd', empty: '' };
  await post(`apps/v1/namespaces/${ns}/deployments`, {
    metadata: {
      name: 'odd',
      labels,
      annotations: { note: '', 'example.com/x': 'y' },
      finalizers: ['example.com/hold'],
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'owner',
          uid: 'u-1',
          controller: true,
          blockOwnerDeletion: false,
        },
      ],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'odd' }, matchExpressions: [{ key: 'empty', operator: 'Exists' }] },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '50%' } },
      template: {
        metadata: { labels, annotations: { a: '' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [container, { name: 'plain', image: 'busybox' }],
          initContainers: [{ name: 'init', image: 'busybox' }],
        },
      },
    },
  });
  // A deletion timestamp: the finalizer holds the object.
  await cluster.admin.must('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/odd`, undefined, [200]);
  await post(`apps/v1/namespaces/${ns}/deployments`, {
    metadata: { name: 'recreate' },
    spec: {
      selector: { matchLabels: { app: 'r' } },
      strategy: { type: 'Recreate' },
      template: {
        metadata: { labels: { app: 'r' } },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'nginx',
              readinessProbe: { grpc: { port: 9090, service: '' } },
              lifecycle: { preStop: { httpGet: { port: 8080, host: '' } } },
            },
          ],
        },
      },
    },
  });
  await cluster.admin.must('POST', `/api/v1/namespaces/${ns}/services`, {
    metadata: { name: 'np' },
    spec: {
      type: 'NodePort',
      selector: { app: 'odd', empty: '' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http', nodePort: 30080, appProtocol: 'http' },
        { name: 'raw', port: 81, targetPort: 0, protocol: 'UDP' },
      ],
    },
  });
  await cluster.admin.must('POST', `/api/v1/namespaces/${ns}/services`, {
    metadata: { name: 'cip' },
    spec: { ports: [{ port: 443, targetPort: 8443 }] },
  });
  await post(`policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
    metadata: { name: 'min' },
    spec: {
      minAvailable: '50%',
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', ''] }] },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
  await post(`policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
    metadata: { name: 'max' },
    spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'odd' } } },
  });
  // What the operator writes, by server-side apply, so its managed fields are there too.
  const ew = elasticWeb({ autoscaling: { mode: 'Observed' } }, { name: 'ew', namespace: ns, uid: 'ew-uid' });
  for (const [type, body] of [
    [apps.deployments, desiredDeployment(ew)],
    [core.services, desiredService(ew)],
    [policy.podDisruptionBudgets, desiredDisruptionBudget(ew)],
  ] as const) {
    await client.apply(type, body as never, fieldManager);
  }
});

after(async () => {
  await client?.close();
  await raw?.close();
  await cluster?.stop();
});

describe('protobuf lists read what JSON reads', () => {
  for (const [type, schema] of [
    [apps.deployments, protobufLists.deployments],
    [core.services, protobufLists.services],
    [policy.podDisruptionBudgets, protobufLists.podDisruptionBudgets],
  ] as const) {
    test(`${type.kind}: every field the schema names, in one page and in pages of 1`, async () => {
      for (const limit of [500, 1]) {
        const { json, protobuf } = await listBoth<Json>(type, schema, limit);
        assert.ok(json.length >= 2, `${json.length} ${type.kind}s`);
        assert.deepEqual(
          protobuf,
          json.map((o, i) => project(o, schema.item, `${type.kind}[${i}]`)),
        );
      }
    });
  }

  test('the odd Deployment kept its awkward values (so the comparison above covers them)', async () => {
    const { protobuf } = await listBoth<Json>(apps.deployments, protobufLists.deployments);
    const odd = protobuf.find((d) => (d.metadata as Json).name === 'odd') as {
      metadata: Json;
      spec: {
        replicas: number;
        template: { spec: { terminationGracePeriodSeconds: number; containers: Json[] } };
      };
    };
    assert.match(String(odd.metadata.deletionTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(odd.metadata.labels, { app: 'odd', empty: '' });
    assert.equal(odd.spec.replicas, 0);
    assert.equal(odd.spec.template.spec.terminationGracePeriodSeconds, 0);
    const web = odd.spec.template.spec.containers[0] as typeof container;
    assert.deepEqual(web.args, ['', 'exec nginx', '--flag=']);
    assert.equal(web.securityContext.runAsUser, 0);
    assert.equal(web.securityContext.runAsNonRoot, false);
    assert.equal(web.readinessProbe.httpGet.port, 'http');
    assert.equal(web.resources.requests.cpu, '250m');
  });

  test("the operator's cache transforms give the same cached objects from either", async () => {
    const keep = keepOwnedFields<CachedDeployment>(fieldManager, deploymentPrune);
    const d = await listBoth<CachedDeployment>(apps.deployments, protobufLists.deployments);
    const cachedDeployment = (o: CachedDeployment) => keep(o, slimDeployment(o));
    assert.deepEqual(d.protobuf.map(cachedDeployment), d.json.map(cachedDeployment));
    const ours = d.protobuf.map(cachedDeployment).find((o) => o.metadata.name === 'ew');
    assert.ok(
      ours?.metadata.managedFields?.[0]?.fieldsV1,
      'our managed fields under the prune paths are kept',
    );
    const s = await listBoth<CachedService>(core.services, protobufLists.services);
    assert.deepEqual(s.protobuf.map(slimService), s.json.map(slimService));
    const p = await listBoth<CachedDisruptionBudget>(
      policy.podDisruptionBudgets,
      protobufLists.podDisruptionBudgets,
    );
    assert.deepEqual(p.protobuf.map(slimDisruptionBudget), p.json.map(slimDisruptionBudget));
  });

  test('withoutManagedFields reads the same objects without their managedFields, and the same cached Services and budgets', async () => {
    for (const [type, schema] of [
      [apps.deployments, protobufLists.deployments],
      [core.services, protobufLists.services],
      [policy.podDisruptionBudgets, protobufLists.podDisruptionBudgets],
    ] as const) {
      const full = await listBoth<Json>(type, schema);
      const lean = await listBoth<Json>(type, withoutManagedFields(schema));
      assert.ok(
        full.protobuf.every((o) => ((o.metadata as Json).managedFields as unknown[]).length > 0),
        `${type.kind}: the full schema reads managedFields`,
      );
      const stripped = full.protobuf.map((o) => {
        const { managedFields: _, ...metadata } = o.metadata as Json;
        return { ...o, metadata };
      });
      assert.deepEqual(lean.protobuf, stripped, type.kind);
    }
    const s = await listBoth<CachedService>(core.services, withoutManagedFields(protobufLists.services));
    assert.deepEqual(s.protobuf.map(slimService), s.json.map(slimService));
    const p = await listBoth<CachedDisruptionBudget>(
      policy.podDisruptionBudgets,
      withoutManagedFields(protobufLists.podDisruptionBudgets),
    );
    assert.deepEqual(p.protobuf.map(slimDisruptionBudget), p.json.map(slimDisruptionBudget));
  });

  test('a page cut into chunks at any size reads the same', async () => {
    const bytes = await rawProtobuf(`/apis/apps/v1/namespaces/${ns}/deployments`);
    const whole = decodeListPage([bytes], protobufLists.deployments, (o) => o);
    assert.ok(whole.items.length >= 3);
    for (const size of [1, 2, 7, 64, 1000]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
      assert.deepEqual(
        decodeListPage(chunks, protobufLists.deployments, (o) => o),
        whole,
        `chunks of ${size}`,
      );
    }
    assert.throws(
      () => decodeListPage([bytes.subarray(0, bytes.length - 10)], protobufLists.deployments, (o) => o),
      { name: 'ProtobufUnsupported' },
      'a cut answer is refused, not read short',
    );
  });

  test('a field the schema does not know sends the list back to JSON, and says so', async () => {
    // Deployment closed at the top, knowing only metadata.name: spec (field 2) is unknown.
    const narrow: ListSchema = {
      metadata: protobufLists.deployments.metadata,
      item: {
        fields: {
          1: { name: 'metadata', type: { open: true, fields: { 1: { name: 'name', type: 'string' } } } },
        },
      },
    };
    const told: string[] = [];
    const list = await client.listTransformed<Json, string>(apps.deployments, {
      namespace: ns,
      protobuf: narrow,
      transform: (o) => JSON.stringify(Object.keys(o)),
      onProtobufUnsupported: (err) => told.push(err.message),
    });
    assert.equal(told.length, 1);
    assert.match(told[0] as string, /field 2 is not in the schema/);
    assert.ok(
      list.items.every((keys) => keys.includes('spec')),
      'the items are the full JSON objects',
    );
  });

  test('a failed protobuf list still says why (its Status is read)', async () => {
    await assert.rejects(
      client.listTransformed(apps.deployments, {
        namespace: ns,
        labelSelector: 'a b c',
        protobuf: protobufLists.deployments,
        transform: (o) => o,
      }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, 400);
        assert.equal(err.reason, 'BadRequest');
        assert.match(err.serverMessage, /unable to parse requirement|found 'b'/);
        return true;
      },
    );
  });

  test('a kind with no protobuf (a CRD) is answered and read as JSON', async () => {
    await cluster.admin.must('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
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
    const widgets: ResourceType = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      plural: 'widgets',
      namespaced: true,
    };
    for (let i = 0; ; i++) {
      const res = await cluster.admin.request('POST', `/apis/example.com/v1/namespaces/${ns}/widgets`, {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w' },
        spec: { size: 3 },
      });
      if (res.status === 201) break;
      if (i > 100) throw new Error(`widget not created: ${res.status} ${res.body}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const told: string[] = [];
    const list = await client.listTransformed<Json, Json>(widgets, {
      namespace: ns,
      protobuf: protobufLists.deployments,
      transform: (o) => o,
      onProtobufUnsupported: (err) => told.push(err.message),
    });
    assert.deepEqual(told, []);
    assert.deepEqual(
      list.items.map((w) => w.spec),
      [{ size: 3 }],
    );
  });
});
