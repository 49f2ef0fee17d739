import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordChanges } from '../support/record-changes.ts';

test('recordChanges keeps only samples that differ from the last one kept, stamped in seconds', async () => {
  const samples: ({ n: number } | undefined | 'throw')[] = [
    { n: 1 },
    { n: 1 },
    undefined,
    { n: 2 },
    'throw',
    { n: 2 },
    { n: 1 },
  ];
  const stop = new AbortController();
  let i = 0;
  const changes = await recordChanges<{ n: number }>(
    async () => {
      const next = samples[i++];
      if (i >= samples.length) stop.abort();
      if (next === 'throw') throw new Error('no answer');
      return next;
    },
    stop.signal,
    1,
  );
  assert.deepEqual(
    changes.map(({ n }) => n),
    [1, 2, 1],
  );
  assert.ok(changes.every((c, k) => c.at >= 0 && (k === 0 || c.at >= (changes[k - 1]?.at ?? 0))));
});

test('recordChanges returns nothing when stopped before the first sample', async () => {
  const stop = new AbortController();
  stop.abort();
  assert.deepEqual(await recordChanges(async () => ({ n: 1 }), stop.signal), []);
});
