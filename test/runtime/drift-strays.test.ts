/**
 * findDrift and the strays on generic objects (not ElasticWeb's): lists matched by their merge keys
 * (env by name, volumeMounts by mountPath, ports by port and protocol), what admission adds is not
 * drift, quantities by value, `exact` paths, and removal patches that reach into lists inside lists.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ManagedFieldsEntry } from '../../src/runtime/cache/informer.ts';
import { findDrift } from '../../src/runtime/reconcile/drift.ts';
import { foreignEntries, leftovers, ownedFields, removalPatch } from '../../src/runtime/reconcile/strays.ts';

type Json = Record<string, unknown>;

/** A pod template with one container, as a controller would want it. */
function template(container: Json): Json {
  return { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:1', ...container }] } } } };
}

describe('findDrift: lists by merge key', () => {
  test('env is matched by name: another order, or variables admission added, are not drift', () => {
    const want = template({
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
    });
    const live = template({
      env: [
        { name: 'INJECTED', value: 'by-a-webhook' },
        { name: 'B', value: '2' },
        { name: 'A', value: '1' },
      ],
    });
    assert.equal(findDrift(want, live), undefined);
  });

  test('an env value changed, or a variable missing, is drift naming the variable', () => {
    const want = template({ env: [{ name: 'A', value: '1' }] });
    assert.equal(
      findDrift(want, template({ env: [{ name: 'A', value: '2' }] })),
      'spec.template.spec.containers[].env[].value',
    );
    assert.equal(
      findDrift(want, template({ env: [{ name: 'Z', value: '1' }] })),
      'spec.template.spec.containers[].env[A]',
    );
  });

  test('volumeMounts are matched by mountPath, not by name or position', () => {
    const want = template({ volumeMounts: [{ name: 'data', mountPath: '/data' }] });
    const live = template({
      volumeMounts: [
        {
          name: 'kube-api-access',
          mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
          readOnly: true,
        },
        { name: 'data', mountPath: '/data' },
      ],
    });
    assert.equal(findDrift(want, live), undefined);
    const moved = template({ volumeMounts: [{ name: 'data', mountPath: '/srv' }] });
    assert.equal(findDrift(want, moved), 'spec.template.spec.containers[].volumeMounts[/data]');
  });

  test('a sidecar container and its own env are not drift; our container is found by name', () => {
    const want = template({ env: [{ name: 'A', value: '1' }] });
    const live = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'istio-proxy', image: 'proxy:1', env: [{ name: 'A', value: 'other' }] },
              { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }] },
            ],
          },
        },
      },
    };
    assert.equal(findDrift(want, live), undefined);
  });

  test('lists without a merge key (args) are compared whole, in order', () => {
    const want = template({ args: ['--a', '--b'] });
    assert.equal(findDrift(want, template({ args: ['--a', '--b'] })), undefined);
    assert.equal(
      findDrift(want, template({ args: ['--b', '--a'] })),
      'spec.template.spec.containers[].args[]',
    );
    assert.equal(
      findDrift(want, template({ args: ['--a', '--b', '--c'] })),
      'spec.template.spec.containers[].args',
    );
  });
});

describe('findDrift: quantities and exact paths', () => {
  const resources = (r: Json) => template({ resources: r });

  test('quantities are compared by value in requests, limits and a default limit admission added is not drift', () => {
    const want = resources({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1500m' } });
    const live = resources({
      requests: { cpu: '1000m', memory: '1073741824' },
      limits: { cpu: '1.5', 'ephemeral-storage': '1Gi' },
    });
    assert.equal(findDrift(want, live), undefined);
  });

  test('a different or unparseable quantity is drift', () => {
    const want = resources({ limits: { memory: '512Mi' } });
    assert.equal(
      findDrift(want, resources({ limits: { memory: '512M' } })),
      'spec.template.spec.containers[].resources.limits.memory',
    );
    assert.equal(
      findDrift(want, resources({ limits: { memory: 'lots' } })),
      'spec.template.spec.containers[].resources.limits.memory',
    );
    assert.equal(
      findDrift(want, resources({ limits: {} })),
      'spec.template.spec.containers[].resources.limits.memory',
    );
  });

  test('at an exact path, an extra map key or list item is drift; elsewhere it is not', () => {
    const want = { spec: { selector: { app: 'w' }, ports: [{ port: 80 }] } };
    const live = {
      spec: { selector: { app: 'w', extra: 'x' }, ports: [{ port: 80, protocol: 'TCP' }, { port: 81 }] },
    };
    assert.equal(findDrift(want, live), undefined, 'containment only');
    assert.equal(findDrift(want, live, { exact: new Set(['spec.selector']) }), 'spec.selector');
    assert.equal(findDrift(want, live, { exact: new Set(['spec.ports']) }), 'spec.ports');
  });
});

describe('strays: leftovers and foreign entries', () => {
  const manager = 'widget-operator';
  /** managedFields as the API server writes them after our apply set env A and OLD on container app. */
  const managed: ManagedFieldsEntry[] = [
    {
      manager,
      operation: 'Apply',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:spec': {
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"app"}': {
                  '.': {},
                  'f:name': {},
                  'f:image': {},
                  'f:env': {
                    'k:{"name":"A"}': { '.': {}, 'f:name': {}, 'f:value': {} },
                    'k:{"name":"OLD"}': { '.': {}, 'f:name': {}, 'f:value': {} },
                  },
                },
              },
            },
          },
        },
      },
    },
    {
      manager: 'policy-webhook',
      operation: 'Update',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:spec': {
          'f:template': {
            'f:spec': {
              'f:containers': { 'k:{"name":"app"}': { 'f:env': { 'k:{"name":"INJECTED"}': {} } } },
            },
          },
        },
      },
    },
    {
      manager,
      operation: 'Update',
      subresource: 'status',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:status': {} },
    },
  ];

  test('a variable we set once and no longer want is a leftover, found inside the list inside the list', () => {
    const want = template({ env: [{ name: 'A', value: '1' }] });
    const owned = ownedFields(managed, manager);
    assert.ok(owned && !('f:status' in owned), 'status (a subresource) is not counted');
    const found = leftovers(owned, want, ['spec.template.spec.containers[].env']);
    assert.deepEqual(found, [
      [
        { field: 'spec' },
        { field: 'template' },
        { field: 'spec' },
        { field: 'containers' },
        { item: { name: 'app' } },
        { field: 'env' },
        { item: { name: 'OLD' } },
      ],
    ]);
    assert.deepEqual(leftovers(owned, want, []), [], 'no prune paths: nothing is ours to delete');
    assert.deepEqual(
      leftovers(owned, want, ['spec.template.spec.containers[].resources']),
      [],
      'not under the prune path',
    );
  });

  test('the removal patch deletes the leftover by merge key and restates the desired items of that list', () => {
    const want = template({ env: [{ name: 'A', value: '1' }] });
    const found = leftovers(ownedFields(managed, manager), want, ['spec.template.spec.containers[].env']);
    assert.deepEqual(removalPatch(found, want), {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                env: [
                  { name: 'OLD', $patch: 'delete' },
                  { name: 'A', value: '1' },
                ],
              },
            ],
          },
        },
      },
    });
  });

  test('a variable another manager added (a policy) is not ours to delete', () => {
    const want = template({
      env: [
        { name: 'A', value: '1' },
        { name: 'OLD', value: 'x' },
      ],
    });
    assert.deepEqual(
      leftovers(ownedFields(managed, manager), want, ['spec.template.spec.containers[].env']),
      [],
    );
  });

  test('foreign entries at exact paths are found whoever set them; a removal patch nulls map keys', () => {
    const want = { spec: { selector: { app: 'w' } } };
    const live = { spec: { selector: { app: 'w', stolen: 'yes' } } };
    const found = foreignEntries(want, live, new Set(['spec.selector']));
    assert.deepEqual(found, [[{ field: 'spec' }, { field: 'selector' }, { field: 'stolen' }]]);
    assert.deepEqual(removalPatch(found, want), { spec: { selector: { stolen: null } } });
    assert.equal(removalPatch([], want), undefined, 'nothing to remove: no patch');
  });

  test('a foreign item in an exact list (a port) is deleted with the desired ports restated', () => {
    const want = { spec: { ports: [{ name: 'http', port: 80 }] } };
    const live = {
      spec: {
        ports: [
          { name: 'http', port: 80, protocol: 'TCP' },
          { name: 'debug', port: 9999, protocol: 'TCP' },
        ],
      },
    };
    const found = foreignEntries(want, live, new Set(['spec.ports']));
    assert.deepEqual(removalPatch(found, want), {
      spec: {
        ports: [
          { port: 9999, protocol: 'TCP', $patch: 'delete' },
          { name: 'http', port: 80 },
        ],
      },
    });
  });
});
