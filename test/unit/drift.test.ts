/**
 * findDrift and the strays (the runtime's drift.ts and strays.ts) on ElasticWeb's objects: "does the
 * live object already hold what the operator would apply, and nothing it must delete?" Subset
 * semantics, server defaults and what admission adds ignored, lists matched by merge key, quantities
 * by value, selectors and ports exactly, leftovers of our own found through managedFields.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  deploymentExact,
  deploymentPrune,
  desiredDeployment,
  desiredService,
  fieldManager,
  serviceExact,
} from '../../src/controllers/elasticweb/desired.ts';
import type { KubeObject } from '../../src/runtime/cache/informer.ts';
import { findDrift as findDriftWith } from '../../src/runtime/reconcile/drift.ts';
import {
  foreignEntries,
  keepOwnedFields,
  leftovers,
  ownedFields,
  removalPatch as patchFor,
} from '../../src/runtime/reconcile/strays.ts';
import { elasticWeb } from './support/elasticweb.ts';

type Json = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: test fixtures poke into nested JSON freely
type Loose = any;

const clone = <T>(v: T): T => structuredClone(v);

/** ElasticWeb's exact paths, chosen by what the object is (a Service has spec.ports at the top). */
function exactFor(live: Loose): ReadonlySet<string> {
  return live?.spec?.template ? deploymentExact : serviceExact;
}

/** findDrift with ElasticWeb's exact paths for the kind of `actual`. */
function findDrift(desired: unknown, actual: Loose): string | undefined {
  return findDriftWith(desired, actual, { exact: exactFor(actual) });
}

/** The removal patch the reconciler would send for `live`: our leftovers and foreign entries at exact paths. */
function removalPatch(kind: 'Deployment' | 'Service', desired: Json, live: Loose): Json | undefined {
  const exact = kind === 'Deployment' ? deploymentExact : serviceExact;
  const prune = kind === 'Deployment' ? deploymentPrune : [];
  return patchFor(
    [
      ...leftovers(ownedFields(live.metadata.managedFields, fieldManager), desired, prune),
      ...foreignEntries(desired, live, exact),
    ],
    desired,
  );
}

/** The part of a desired object the reconciler compares: metadata and spec. */
function wanted(obj: { metadata: unknown; spec: unknown }): Json {
  return { metadata: obj.metadata, spec: obj.spec };
}

/** The desired Deployment as the API server returns it: our fields plus everything it defaults. */
function liveDeployment(desired: ReturnType<typeof desiredDeployment>): Loose {
  const live: Loose = clone(desired);
  Object.assign(live.metadata, {
    uid: 'dep-uid',
    resourceVersion: '123',
    generation: 4,
    creationTimestamp: '2024-01-01T00:00:00Z',
    annotations: { 'deployment.kubernetes.io/revision': '2' },
    managedFields: [{ manager: 'elasticweb-operator', operation: 'Apply' }],
  });
  live.metadata.labels['added-by-someone'] = 'x';
  Object.assign(live.spec, { revisionHistoryLimit: 10, progressDeadlineSeconds: 600 });
  live.spec.template.metadata.creationTimestamp = null;
  live.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': 'now' };
  Object.assign(live.spec.template.spec, {
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    securityContext: {},
  });
  const container = live.spec.template.spec.containers[0];
  Object.assign(container, {
    imagePullPolicy: 'IfNotPresent',
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  });
  // The server stores quantities in canonical form.
  container.resources = {
    requests: { cpu: '100m', memory: '512Mi' },
    limits: { cpu: '100m', memory: '512Mi' },
  };
  live.status = { replicas: 3, readyReplicas: 3 };
  return live;
}

function liveService(desired: ReturnType<typeof desiredService>): Loose {
  const live: Loose = clone(desired);
  Object.assign(live.metadata, { uid: 'svc-uid', resourceVersion: '77' });
  Object.assign(live.spec, {
    clusterIP: '10.96.0.12',
    clusterIPs: ['10.96.0.12'],
    sessionAffinity: 'None',
    externalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    internalTrafficPolicy: 'Cluster',
  });
  live.spec.ports[0].nodePort ??= 31234;
  return live;
}

const ew = elasticWeb({ totalQPS: 300, singlePodsQPS: 100 }, { name: 'shop', uid: 'ew-uid' });

describe('findDrift: what is not drift', () => {
  test('a live Deployment holding our fields plus server defaults has no drift', () => {
    const desired = desiredDeployment(ew);
    assert.equal(findDrift(wanted(desired), liveDeployment(desired)), undefined);
  });

  test('a live Service holding our fields plus a server-assigned clusterIP and nodePort has no drift', () => {
    const desired = desiredService(ew);
    assert.equal(findDrift(wanted(desired), liveService(desired)), undefined);
  });

  test('any extra field in the live object is not drift (desired is a subset of actual)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.jsonValue()), (extra) => {
        const desired = wanted(desiredDeployment(ew));
        const live = liveDeployment(desiredDeployment(ew));
        // Extra fields at the top and inside the template spec.
        const withExtra = { ...extra, ...live, spec: { ...live.spec, template: { ...live.spec.template } } };
        withExtra.spec.template.spec = { ...extra, ...live.spec.template.spec };
        assert.equal(findDrift(desired, withExtra), undefined);
      }),
    );
  });

  test('containers are matched by name, not position: a sidecar injected before ours is not drift', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.spec.containers.unshift({ name: 'istio-proxy', image: 'proxy:1' });
    assert.equal(findDrift(wanted(desired), live), undefined);
  });

  test('an extra owner reference next to ours is not drift; owner references match by uid', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.metadata.ownerReferences.unshift({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'other' });
    assert.equal(findDrift(wanted(desired), live), undefined);
  });

  test('quantities are compared by value: "0.5" is "500m", "1Gi" is "1024Mi", 1 is "1"', () => {
    const desired = desiredDeployment(
      elasticWeb({
        resources: { requests: { cpu: '0.5', memory: '1Gi' }, limits: { cpu: 1, memory: '1e9' } },
      }),
    );
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].resources = {
      requests: { cpu: '500m', memory: '1024Mi' },
      limits: { cpu: '1', memory: '1G' },
    };
    assert.equal(findDrift(wanted(desired), live), undefined);
  });

  test('extended resources whose names contain a dot (nvidia.com/gpu) are compared as quantities too', () => {
    // The user may write an integer (the schema is int-or-string); the server always stores a string.
    const desired = desiredDeployment(
      elasticWeb({ resources: { limits: { 'nvidia.com/gpu': 1, 'example.com/bandwidth': '0.5' } } }),
    );
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].resources = {
      limits: { 'nvidia.com/gpu': '1', 'example.com/bandwidth': '500m' },
    };
    assert.equal(findDrift(wanted(desired), live), undefined);
  });

  test('extra labels on the Deployment or its pod template are not drift', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.metadata.labels['pod-template-hash'] = 'abc';
    assert.equal(findDrift(wanted(desired), live), undefined);
  });
});

describe('findDrift: what is drift, and where', () => {
  test('a different replica count is drift at spec.replicas', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.replicas = 2;
    assert.equal(findDrift(wanted(desired), live), 'spec.replicas');
  });

  test('a missing field is drift at its path', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    delete live.spec.replicas;
    assert.equal(findDrift(wanted(desired), live), 'spec.replicas');
  });

  test('a different image is drift inside our container', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].image = 'nginx:latest';
    assert.equal(findDrift(wanted(desired), live), 'spec.template.spec.containers[].image');
  });

  test('our container missing (only others present) is drift naming its merge key', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].name = 'renamed';
    assert.equal(findDrift(wanted(desired), live), 'spec.template.spec.containers[web]');
  });

  test('a different container port is drift naming the port merge key', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].ports[0].containerPort = 8080;
    assert.equal(findDrift(wanted(desired), live), 'spec.template.spec.containers[].ports[80/TCP]');
  });

  test('an extra port on our container is drift', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].ports.push({ name: 'debug', containerPort: 9000, protocol: 'TCP' });
    assert.equal(findDrift(wanted(desired), live), 'spec.template.spec.containers[].ports');
  });

  test('a different CPU quantity is drift at the resource path', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].resources.requests.cpu = '200m';
    assert.equal(findDrift(wanted(desired), live), 'spec.template.spec.containers[].resources.requests.cpu');
  });

  test('a quantity missing from the live object is drift', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    delete live.spec.template.spec.containers[0].resources.limits.memory;
    assert.equal(findDrift(wanted(desired), live), 'spec.template.spec.containers[].resources.limits.memory');
  });

  test('an extra key in the Deployment selector is drift: selectors must match exactly', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.selector.matchLabels.tier = 'web';
    assert.equal(findDrift(wanted(desired), live), 'spec.selector.matchLabels');
  });

  test('an extra key in the Service selector is drift', () => {
    const desired = desiredService(ew);
    const live = liveService(desired);
    live.spec.selector.tier = 'web';
    assert.equal(findDrift(wanted(desired), live), 'spec.selector');
  });

  test('a Service selector with the same number of keys but another key is drift', () => {
    const desired = desiredService(ew);
    const live = liveService(desired);
    live.spec.selector = { app: 'shop' };
    assert.match(findDrift(wanted(desired), live) ?? '', /^spec\.selector/);
  });

  test('a changed Service port is drift naming the port merge key', () => {
    const desired = desiredService(elasticWeb({ containerPort: 8080 }, { name: 'shop' }));
    const live = liveService(desiredService(elasticWeb({}, { name: 'shop' })));
    assert.equal(findDrift(wanted(desired), live), 'spec.ports[8080/TCP]');
  });

  test('an extra Service port is drift', () => {
    const desired = desiredService(ew);
    const live = liveService(desired);
    live.spec.ports.push({ name: 'other', protocol: 'TCP', port: 81, targetPort: 81 });
    assert.equal(findDrift(wanted(desired), live), 'spec.ports');
  });

  test('a nodePort other than the one asked for is drift', () => {
    const desired = desiredService(elasticWeb({ port: 30080 }, { name: 'shop' }));
    const live = liveService(desired);
    live.spec.ports[0].nodePort = 30081;
    assert.equal(findDrift(wanted(desired), live), 'spec.ports[].nodePort');
  });

  test('our owner reference missing (another uid) is drift naming the uid', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.metadata.ownerReferences[0].uid = 'someone-else';
    assert.equal(findDrift(wanted(desired), live), 'metadata.ownerReferences[ew-uid]');
  });

  test('a changed label we set is drift at metadata.labels', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.metadata.labels['app.kubernetes.io/managed-by'] = 'helm';
    assert.equal(findDrift(wanted(desired), live), 'metadata.labels.app.kubernetes.io/managed-by');
  });
});

describe('findDrift: generic JSON', () => {
  test('equal JSON values have no drift', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(findDrift(value, clone(value)), undefined);
      }),
    );
  });

  test('a changed leaf is reported at its path', () => {
    assert.equal(findDrift({ a: { b: 1 } }, { a: { b: 2 } }), 'a.b');
    assert.equal(findDrift({ a: { b: 'x' } }, { a: { b: 'y', c: 1 } }), 'a.b');
    assert.equal(findDrift({ a: true }, { a: false }), 'a');
  });

  test('a value of another type is drift', () => {
    assert.equal(findDrift({ a: { b: 1 } }, { a: 'text' }), 'a');
    assert.equal(findDrift({ a: [1] }, { a: { 0: 1 } }), 'a');
    assert.equal(findDrift({ a: { b: 1 } }, { a: [1] }), 'a');
    assert.equal(findDrift({ a: { b: 1 } }, { a: null }), 'a');
  });

  test('lists without a merge key must have the same length and items in order', () => {
    assert.equal(findDrift({ args: ['a', 'b'] }, { args: ['a', 'b', 'c'] }), 'args');
    assert.equal(findDrift({ args: ['a', 'b'] }, { args: ['b', 'a'] }), 'args[]');
    assert.equal(findDrift({ args: ['a', 'b'] }, { args: ['a', 'b'] }), undefined);
  });

  test('the first drifting path is returned, in the order of the desired fields', () => {
    assert.equal(findDrift({ a: 1, b: 2 }, { a: 0, b: 0 }), 'a');
    assert.equal(findDrift({ b: 2, a: 1 }, { a: 0, b: 0 }), 'b');
  });

  test('changing any leaf of the desired Deployment in the live copy is found as drift', () => {
    const desired = wanted(desiredDeployment(ew));
    const leaves: string[][] = [];
    const walk = (v: unknown, path: string[]) => {
      if (v !== null && typeof v === 'object') {
        for (const [k, child] of Object.entries(v)) walk(child, [...path, k]);
      } else leaves.push(path);
    };
    walk(desired, []);
    assert.ok(leaves.length > 20);
    for (const path of leaves) {
      const live: Loose = liveDeployment(desiredDeployment(ew));
      let parent: Loose = live;
      for (const k of path.slice(0, -1)) parent = parent[k];
      const last = path.at(-1) as string;
      parent[last] = typeof parent[last] === 'number' ? parent[last] + 1 : `${parent[last]}-changed`;
      assert.notEqual(findDrift(desired, live), undefined, `changing ${path.join('.')} goes unnoticed`);
    }
  });
});

/**
 * Applies a strategic merge patch as the API server does for the lists involved here: `$patch: delete`
 * entries first remove every item with that merge key, then the other entries merge by merge key;
 * null deletes a map key.
 */
function applyStrategicMerge(target: Loose, patch: Loose, path = ''): Loose {
  const mergeKeys: Record<string, string> = {
    'spec.ports': 'port',
    'spec.template.spec.containers': 'name',
    'spec.template.spec.containers.ports': 'containerPort',
  };
  const out: Loose = { ...target };
  for (const [k, v] of Object.entries(patch as Json)) {
    const here = path ? `${path}.${k}` : k;
    if (v === null) delete out[k];
    else if (Array.isArray(v)) {
      const mk = mergeKeys[here];
      if (!mk) {
        out[k] = v;
        continue;
      }
      const deletes = v.filter((e: Loose) => e.$patch === 'delete');
      const list: Loose[] = ((out[k] ?? []) as Loose[]).filter(
        (item) => !deletes.some((d: Loose) => d[mk] === item[mk]),
      );
      for (const entry of v.filter((e: Loose) => e.$patch !== 'delete')) {
        const at = list.findIndex((item) => item[mk] === entry[mk]);
        if (at >= 0) list[at] = applyStrategicMerge(list[at], entry, here);
        else list.push(entry);
      }
      out[k] = list;
    } else if (typeof v === 'object') out[k] = applyStrategicMerge(out[k] ?? {}, v, here);
    else out[k] = v;
  }
  return out;
}

describe('removalPatch', () => {
  test('there is nothing to remove from objects that hold only our entries plus server defaults', () => {
    const deployment = desiredDeployment(ew);
    const service = desiredService(ew);
    assert.equal(removalPatch('Deployment', wanted(deployment), liveDeployment(deployment)), undefined);
    assert.equal(removalPatch('Service', wanted(service), liveService(service)), undefined);
  });

  test('ports of other containers (a sidecar) are not ours to remove', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.spec.containers.push({
      name: 'proxy',
      image: 'p',
      ports: [{ containerPort: 15001, protocol: 'TCP' }],
    });
    assert.equal(removalPatch('Deployment', wanted(desired), live), undefined);
  });

  const serviceCases: [string, (live: Loose) => void][] = [
    [
      'an extra selector key',
      (live) => {
        live.spec.selector.tier = 'web';
      },
    ],
    [
      'an extra port',
      (live) => {
        live.spec.ports.push({
          name: 'metrics',
          protocol: 'TCP',
          port: 9090,
          targetPort: 9090,
          nodePort: 30999,
        });
      },
    ],
    [
      'our port edited by hand to another number',
      (live) => {
        live.spec.ports[0].port = 8080;
      },
    ],
    [
      'an extra UDP port with our port number',
      (live) => {
        live.spec.ports.push({ name: 'quic', protocol: 'UDP', port: 80, targetPort: 80, nodePort: 30998 });
      },
    ],
  ];
  for (const [what, edit] of serviceCases) {
    test(`after the Service patch for ${what}, the Service holds exactly our selector and ports`, () => {
      const desired = desiredService(ew);
      const live = liveService(desired);
      edit(live);
      assert.notEqual(findDrift(wanted(desired), live), undefined, 'the edit is drift');
      const patch = removalPatch('Service', wanted(desired), live);
      assert.ok(patch, 'a removal patch');
      const patched = applyStrategicMerge(live, patch);
      assert.equal(findDrift(wanted(desired), patched), undefined);
      assert.deepEqual(patched.spec.selector, desired.spec.selector);
      assert.deepEqual(
        patched.spec.ports.map((p: Loose) => `${p.port}/${p.protocol}`),
        desired.spec.ports.map((p) => `${p.port}/${p.protocol}`),
      );
    });
  }

  const deploymentCases: [string, (live: Loose) => void][] = [
    [
      'an extra container port',
      (live) => {
        live.spec.template.spec.containers[0].ports.push({
          name: 'debug',
          containerPort: 9000,
          protocol: 'TCP',
        });
      },
    ],
    [
      'our container port edited by hand',
      (live) => {
        live.spec.template.spec.containers[0].ports[0].containerPort = 8080;
      },
    ],
  ];
  for (const [what, edit] of deploymentCases) {
    test(`after the Deployment patch for ${what}, our container holds exactly our ports`, () => {
      const desired = desiredDeployment(ew);
      const live = liveDeployment(desired);
      edit(live);
      const patch = removalPatch('Deployment', wanted(desired), live);
      assert.ok(patch, 'a removal patch');
      const patched = applyStrategicMerge(live, patch);
      assert.equal(findDrift(wanted(desired), patched), undefined);
      const web = patched.spec.template.spec.containers.find((c: Loose) => c.name === 'web');
      assert.deepEqual(
        web.ports.map((p: Loose) => p.containerPort),
        [80],
      );
    });
  }
});

describe('resources the spec no longer names', () => {
  /** managedFields as the API server writes them after our create: we own both limits and the request. */
  const ownedByUs = (keys: { requests: string[]; limits: string[] }) => [
    {
      manager: fieldManager,
      operation: 'Update',
      fieldsV1: {
        'f:spec': {
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"web"}': {
                  '.': {},
                  'f:image': {},
                  'f:imagePullPolicy': {}, // defaulted by the server at create: ours, but never pruned
                  'f:resources': {
                    '.': {},
                    'f:requests': Object.fromEntries(keys.requests.map((k) => [`f:${k}`, {}])),
                    'f:limits': Object.fromEntries(keys.limits.map((k) => [`f:${k}`, {}])),
                  },
                },
              },
            },
          },
        },
      },
    },
  ];

  test('a resource key the spec dropped, which we set, is deleted by the patch', () => {
    const desired = desiredDeployment(
      elasticWeb({ resources: { requests: { cpu: '250m' }, limits: { memory: '256Mi' } } }),
    );
    const live = liveDeployment(desired);
    // What a create made and a later apply without the cpu limit leaves behind (the create still owns it).
    live.spec.template.spec.containers[0].resources = {
      requests: { cpu: '250m' },
      limits: { cpu: '100m', memory: '256Mi' },
    };
    live.metadata.managedFields = ownedByUs({ requests: ['cpu'], limits: ['cpu', 'memory'] });
    assert.equal(findDrift(wanted(desired), live), undefined, 'an extra limit alone is not drift');
    const patch = removalPatch('Deployment', wanted(desired), live);
    assert.deepEqual(patch, {
      spec: { template: { spec: { containers: [{ name: 'web', resources: { limits: { cpu: null } } }] } } },
    });
    const patched = applyStrategicMerge(live, patch as Loose);
    assert.equal(findDrift(wanted(desired), patched), undefined);
    assert.deepEqual(patched.spec.template.spec.containers[0].resources.limits, { memory: '256Mi' });
  });

  test('a limit a policy added (not ours in managedFields) is neither drift nor deleted', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].resources.limits['ephemeral-storage'] = '1Gi';
    live.spec.template.spec.containers[0].resources.requests['ephemeral-storage'] = '100Mi';
    live.metadata.managedFields = ownedByUs({ requests: ['cpu', 'memory'], limits: ['cpu', 'memory'] });
    assert.equal(findDrift(wanted(desired), live), undefined);
    assert.equal(removalPatch('Deployment', wanted(desired), live), undefined);
  });

  test('server defaults we own since the create (imagePullPolicy) are never pruned', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.metadata.managedFields = ownedByUs({ requests: ['cpu', 'memory'], limits: ['cpu', 'memory'] });
    assert.equal(removalPatch('Deployment', wanted(desired), live), undefined);
  });

  test('an empty map in the spec matches the absent map the server returns', () => {
    const desired = desiredDeployment(elasticWeb({ resources: { requests: { cpu: '250m' } } }));
    const live = liveDeployment(desired);
    live.spec.template.spec.containers[0].resources = { requests: { cpu: '250m' } };
    assert.equal(findDrift(wanted(desired), live), undefined);
    assert.equal(removalPatch('Deployment', wanted(desired), live), undefined);
  });
});

describe('leaving Observed mode', () => {
  test('the exporter sidecar and the scrape annotations we added are removed; a sidecar someone else added stays', () => {
    const desired = desiredDeployment(ew);
    const live = liveDeployment(desired);
    live.spec.template.metadata.annotations = {
      'prometheus.io/scrape': 'true',
      'kubectl.kubernetes.io/restartedAt': 'x',
    };
    live.spec.template.spec.containers.push(
      { name: 'metrics-exporter', image: 'exporter:1' },
      { name: 'istio-proxy', image: 'proxy:1' },
    );
    live.metadata.managedFields = [
      {
        manager: fieldManager,
        operation: 'Apply',
        fieldsV1: {
          'f:spec': {
            'f:template': {
              'f:metadata': { 'f:annotations': { 'f:prometheus.io/scrape': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {} },
                  'k:{"name":"metrics-exporter"}': { '.': {}, 'f:image': {} },
                },
              },
            },
          },
        },
      },
    ];
    assert.equal(findDrift(wanted(desired), live), undefined);
    const patch = removalPatch('Deployment', wanted(desired), live) as Loose;
    assert.deepEqual(patch.spec.template.metadata, { annotations: { 'prometheus.io/scrape': null } });
    const patched = applyStrategicMerge(live, patch);
    assert.deepEqual(
      patched.spec.template.spec.containers.map((c: Loose) => c.name),
      ['web', 'istio-proxy'],
    );
    assert.deepEqual(patched.spec.template.metadata.annotations, {
      'kubectl.kubernetes.io/restartedAt': 'x',
    });
  });
});

describe('keepOwnedFields', () => {
  const raw = {
    metadata: {
      name: 'web',
      namespace: 'ns',
      managedFields: [{ manager: fieldManager, fieldsV1: { 'f:spec': { 'f:ports': {} } } }],
    },
  } as unknown as KubeObject;

  test('with nothing to prune, keeps no managedFields, whatever the transform left (watch events and writes carry them)', () => {
    const keep = keepOwnedFields<KubeObject>(fieldManager, []);
    assert.deepEqual(keep(raw, raw), { metadata: { name: 'web', namespace: 'ns' } });
    const slim = { metadata: { name: 'web', namespace: 'ns' } } as KubeObject;
    assert.equal(keep(raw, slim), slim, 'an object without them is returned as it is');
  });
});
