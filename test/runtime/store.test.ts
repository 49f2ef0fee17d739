/**
 * The Store's read-your-writes: an object our write returned shadows the watched copy until the
 * watch delivers that very resourceVersion; a relist or a deletion clears it; a write the watch never
 * shows expires after its TTL (on the clock). Pure: no server.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Store } from '../../src/runtime/cache/store.ts';
import { configMap } from './support/config.ts';
import { FakeClock } from './support/fake-clock.ts';

type Cm = ReturnType<typeof configMap>;

function store(writeTtlMs = 60_000) {
  const clock = new FakeClock();
  return { clock, store: new Store<Cm>({ clock, writeTtlMs }) };
}

const rv = (o: Cm | undefined) => o?.metadata.resourceVersion;

describe('Store: read-your-writes', () => {
  test('a recorded write shadows the watched copy until the event with its resourceVersion arrives', () => {
    const { store: s } = store();
    s.applied(configMap('a', '1'));
    s.recordWrite(configMap('a', '5'));
    assert.equal(rv(s.get('default/a')), '5', 'our write, before the watch has it');
    assert.equal(rv(s.watched('default/a')), '1');
    assert.equal(s.unseenWrites, 1);
    s.applied(configMap('a', '4')); // an older change, still on its way
    assert.equal(rv(s.get('default/a')), '5', 'an event for an older version does not undo our write');
    s.applied(configMap('a', '5'));
    assert.equal(rv(s.get('default/a')), '5');
    assert.equal(s.unseenWrites, 0, 'the watch caught up: nothing shadowed any more');
    s.applied(configMap('a', '6'));
    assert.equal(rv(s.get('default/a')), '6', 'later changes show as usual');
  });

  test('a write of an object the watch has not seen at all is readable, and listed', () => {
    const { store: s } = store();
    s.applied(configMap('a', '1'));
    s.recordWrite(configMap('b', '2'));
    assert.equal(rv(s.get('default/b')), '2');
    assert.deepEqual(
      s
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ['a', 'b'],
    );
    assert.equal(s.size, 1, 'size counts watched objects only');
  });

  test('a write that changed nothing (the resourceVersion the watch has) is not recorded', () => {
    const { store: s } = store();
    s.applied(configMap('a', '3'));
    s.recordWrite(configMap('a', '3'));
    assert.equal(s.unseenWrites, 0);
  });

  test('a write whose answer comes after its own event and a newer one does not hide the newer one', () => {
    // Our write's response and the watch travel on different connections: the watch may deliver
    // the written version, and another manager's change right after it (a Deployment's status),
    // before the write's answer is read and recorded.
    const { store: s } = store();
    s.applied(configMap('a', '1'));
    s.applied(configMap('a', '5')); // our write, seen by the watch first
    s.applied(configMap('a', '6')); // someone else's change after it
    s.recordWrite(configMap('a', '5'));
    assert.equal(rv(s.get('default/a')), '6');
    assert.equal(s.unseenWrites, 0);
  });

  test('a write whose answer comes after the object was deleted does not bring it back', () => {
    const { store: s } = store();
    s.applied(configMap('a', '5')); // our write, seen by the watch first
    s.deleted('default/a');
    s.recordWrite(configMap('a', '5'));
    assert.equal(s.get('default/a'), undefined);
    assert.deepEqual(s.list(), []);
  });

  test('a relist clears every unseen write: the list holds them or something newer', () => {
    const { store: s } = store();
    s.applied(configMap('a', '1'));
    s.recordWrite(configMap('a', '5'));
    s.recordWrite(configMap('b', '6'));
    const before = s.replace([configMap('a', '7')]);
    assert.deepEqual([...before.keys()], ['default/a'], 'replace returns the watched objects it replaced');
    assert.equal(s.unseenWrites, 0);
    assert.equal(rv(s.get('default/a')), '7');
    assert.equal(s.get('default/b'), undefined);
  });

  test('a deletion clears the unseen write of that object', () => {
    const { store: s } = store();
    s.applied(configMap('a', '1'));
    s.recordWrite(configMap('a', '5'));
    assert.equal(rv(s.deleted('default/a')), '1', 'deleted() returns the last watched copy');
    assert.equal(s.get('default/a'), undefined);
    assert.equal(s.unseenWrites, 0);
  });

  test('a write the watch never shows expires after the TTL, on the clock', async () => {
    const { store: s, clock } = store(60_000);
    s.applied(configMap('a', '1'));
    s.recordWrite(configMap('a', '5'));
    await clock.advance(60_000);
    assert.equal(rv(s.get('default/a')), '5', 'still ours at exactly the TTL');
    await clock.advance(1);
    assert.equal(rv(s.get('default/a')), '1', 'past the TTL the watched copy is back');
    assert.equal(s.unseenWrites, 0);
  });
});
