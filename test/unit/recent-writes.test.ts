import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecentWrites } from '../../src/runtime/cache/recent-writes.ts';

describe('RecentWrites', () => {
  const obj = (name: string, rv: string) => ({
    metadata: { name, namespace: 'ns', uid: name, resourceVersion: rv },
  });

  test('remembers a write until the informer shows any event for that key', () => {
    const recent = new RecentWrites<ReturnType<typeof obj>>();
    const handler = recent.forgetOnEvents((o) => `Deployment/${o.metadata.namespace}/${o.metadata.name}`);
    recent.remember('Deployment/ns/a', obj('a', '2'));
    recent.remember('Deployment/ns/b', obj('b', '5'));
    assert.equal(recent.get('Deployment/ns/a')?.metadata.resourceVersion, '2');
    handler.onAdd?.(obj('a', '2'));
    assert.equal(recent.get('Deployment/ns/a'), undefined, 'the cache caught up');
    assert.ok(recent.get('Deployment/ns/b'), 'other keys stay');
    handler.onUpdate?.(obj('b', '4'), obj('b', '5'));
    handler.onDelete?.(obj('c', '1'));
    assert.equal(recent.size, 0);
  });

  test('entries expire after 30 s, so a lost event cannot pin a stale object', (t) => {
    t.mock.timers.enable({ apis: ['Date'] });
    const recent = new RecentWrites<string>();
    recent.remember('k', 'v');
    t.mock.timers.tick(29_000);
    assert.equal(recent.get('k'), 'v');
    t.mock.timers.tick(2_000);
    assert.equal(recent.get('k'), undefined);
    assert.equal(recent.size, 0);
  });
});
