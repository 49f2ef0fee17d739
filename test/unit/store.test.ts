/**
 * The informer's store with read-your-writes: a write of ours wins over the watched copy only while
 * the watch has not shown that write or anything newer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareResourceVersions, Store } from '../../src/runtime/cache/store.ts';

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec: { qps: number };
}
const obj = (resourceVersion: string, qps: number): Obj => ({
  metadata: { name: 'a', namespace: 'ns', resourceVersion },
  spec: { qps },
});
const key = 'ns/a';

describe('Store read-your-writes', () => {
  test('our write is read until the watch shows it', () => {
    const store = new Store<Obj>();
    store.applied(obj('100', 1));
    store.recordWrite(obj('101', 1));
    assert.equal(store.get(key)?.metadata.resourceVersion, '101');
    store.applied(obj('101', 1));
    assert.equal(store.unseenWrites, 0);
  });

  test('a newer watched event supersedes our write even if our own event was never seen', () => {
    const store = new Store<Obj>();
    store.applied(obj('100', 1));
    store.recordWrite(obj('101', 1));
    store.applied(obj('102', 2));
    assert.equal(store.get(key)?.spec.qps, 2);
    assert.equal(store.unseenWrites, 0);
  });

  test('a write whose response arrives after the watch showed it and a newer change is not recorded', () => {
    // The watch delivers our write (101) and someone else's change (102) before the write's own
    // response is read: recording 101 then would hide 102 until the write expires, and with no
    // further event nobody would reconcile the change (a lost update).
    const store = new Store<Obj>();
    store.applied(obj('100', 1));
    store.applied(obj('101', 1));
    store.applied(obj('102', 2));
    store.recordWrite(obj('101', 1));
    assert.equal(store.get(key)?.spec.qps, 2);
    assert.equal(store.unseenWrites, 0);
  });

  test('resourceVersions that are not positive integers are compared for equality only', () => {
    const store = new Store<Obj>();
    store.applied(obj('b', 1));
    store.recordWrite(obj('a', 2));
    assert.equal(store.get(key)?.spec.qps, 2, 'an opaque write is trusted, as before');
  });
});

describe('compareResourceVersions (KEP-5504)', () => {
  test('positive integers compare by value, whatever their length', () => {
    assert.equal(compareResourceVersions('9', '10'), -1);
    assert.equal(compareResourceVersions('10', '9'), 1);
    assert.equal(compareResourceVersions('123456789012345678901', '123456789012345678901'), 0);
    assert.equal(compareResourceVersions('123456789012345678902', '123456789012345678901'), 1);
  });
  test('anything else is not comparable', () => {
    for (const [a, b] of [
      ['0', '1'],
      ['01', '2'],
      ['a', '1'],
      ['', '1'],
      ['1', '-1'],
    ] as const) {
      assert.equal(compareResourceVersions(a, b), undefined, `${a} vs ${b}`);
    }
  });
});
