/** The binary min-heap behind the work queue's delayed keys. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MinHeap } from '../../src/runtime/workqueue/min-heap.ts';

const byNumber = (a: number, b: number) => a - b;

describe('MinHeap', () => {
  test('an empty heap has size 0 and peek() and pop() give undefined', () => {
    const heap = new MinHeap(byNumber);
    assert.equal(heap.size, 0);
    assert.equal(heap.peek(), undefined);
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.size, 0);
  });

  test('popping everything gives the items in sorted order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 300 }), (items) => {
        const heap = new MinHeap(byNumber);
        for (const item of items) heap.push(item);
        assert.equal(heap.size, items.length);
        const popped: number[] = [];
        for (let item = heap.pop(); item !== undefined; item = heap.pop()) popped.push(item);
        assert.deepEqual(
          popped,
          [...items].sort((a, b) => a - b),
        );
        assert.equal(heap.size, 0);
      }),
    );
  });

  test('with pushes and pops interleaved, peek() and pop() always give the smallest item held', () => {
    const op = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constant('pop' as const));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const heap = new MinHeap(byNumber);
        const model: number[] = [];
        for (const o of ops) {
          if (o === 'pop') {
            model.sort((a, b) => a - b);
            assert.equal(heap.peek(), model[0]);
            assert.equal(heap.pop(), model.shift());
          } else {
            heap.push(o);
            model.push(o);
          }
          assert.equal(heap.size, model.length);
          assert.equal(heap.peek(), model.length === 0 ? undefined : Math.min(...model));
        }
      }),
    );
  });

  test('the comparator decides the order, e.g. objects by a due time', () => {
    const heap = new MinHeap<{ due: number; key: string }>((a, b) => a.due - b.due);
    heap.push({ due: 30, key: 'c' });
    heap.push({ due: 10, key: 'a' });
    heap.push({ due: 20, key: 'b' });
    assert.deepEqual([heap.pop()?.key, heap.pop()?.key, heap.pop()?.key], ['a', 'b', 'c']);
  });
});
