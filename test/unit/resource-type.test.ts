/** How the client addresses objects: URL paths, cache keys and API groups. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  apps,
  coordination,
  core,
  groupOf,
  keyOf,
  parseKey,
  type ResourceType,
  resourcePath,
} from '../../src/runtime/client/resource-type.ts';

const elasticwebs: ResourceType = {
  apiVersion: 'elasticweb.example.com/v1',
  kind: 'ElasticWeb',
  plural: 'elasticwebs',
  namespaced: true,
};

describe('groupOf', () => {
  test('the core group is "" and others are the part before the slash', () => {
    assert.equal(groupOf('v1'), '');
    assert.equal(groupOf('apps/v1'), 'apps');
    assert.equal(groupOf('coordination.k8s.io/v1'), 'coordination.k8s.io');
    assert.equal(groupOf('elasticweb.example.com/v1beta1'), 'elasticweb.example.com');
  });
});

describe('resourcePath', () => {
  test('core types live under /api, others under /apis', () => {
    assert.equal(resourcePath(core.services, 'default', 'web'), '/api/v1/namespaces/default/services/web');
    assert.equal(
      resourcePath(apps.deployments, 'default', 'web'),
      '/apis/apps/v1/namespaces/default/deployments/web',
    );
    assert.equal(
      resourcePath(coordination.leases, 'kube-system', 'lock'),
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/lock',
    );
  });

  test('without a name it is the collection; without a namespace, the collection across all namespaces', () => {
    assert.equal(resourcePath(apps.deployments, 'team-a'), '/apis/apps/v1/namespaces/team-a/deployments');
    assert.equal(resourcePath(apps.deployments), '/apis/apps/v1/deployments');
    assert.equal(resourcePath(elasticwebs), '/apis/elasticweb.example.com/v1/elasticwebs');
  });

  test('cluster-scoped types never get a namespace segment', () => {
    assert.equal(resourcePath(core.namespaces, 'ignored', 'team-a'), '/api/v1/namespaces/team-a');
    assert.equal(resourcePath(core.namespaces), '/api/v1/namespaces');
  });

  test('a subresource follows the object name, and is ignored without a name', () => {
    assert.equal(
      resourcePath(elasticwebs, 'default', 'shop', 'status'),
      '/apis/elasticweb.example.com/v1/namespaces/default/elasticwebs/shop/status',
    );
    assert.equal(
      resourcePath(elasticwebs, 'default', undefined, 'status'),
      '/apis/elasticweb.example.com/v1/namespaces/default/elasticwebs',
    );
  });

  test('namespace and name are URL-encoded', () => {
    assert.equal(resourcePath(core.services, 'a b', 'x/y?z'), '/api/v1/namespaces/a%20b/services/x%2Fy%3Fz');
  });
});

describe('keyOf and parseKey', () => {
  test('a namespaced key is "namespace/name"; a cluster-scoped one is "name"', () => {
    assert.equal(keyOf({ namespace: 'default', name: 'web' }), 'default/web');
    assert.equal(keyOf({ name: 'team-a' }), 'team-a');
    assert.equal(keyOf({ namespace: '', name: 'team-a' }), 'team-a');
    assert.deepEqual(parseKey('default/web'), { namespace: 'default', name: 'web' });
    assert.deepEqual(parseKey('team-a'), { name: 'team-a' });
  });

  test('parseKey undoes keyOf for any Kubernetes namespace and name', () => {
    const dns1123 = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,60}[a-z0-9])?$/);
    fc.assert(
      fc.property(fc.option(dns1123, { nil: undefined }), dns1123, (namespace, name) => {
        const key = namespace === undefined ? { name } : { namespace, name };
        assert.deepEqual(parseKey(keyOf(key)), key);
      }),
    );
  });

  test('distinct objects have distinct keys', () => {
    const part = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10})?$/);
    fc.assert(
      fc.property(part, part, part, part, (ns1, n1, ns2, n2) => {
        fc.pre(ns1 !== ns2 || n1 !== n2);
        assert.notEqual(keyOf({ namespace: ns1, name: n1 }), keyOf({ namespace: ns2, name: n2 }));
      }),
    );
  });
});
