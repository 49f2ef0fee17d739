/**
 * The leader elector's time bounds, with a scripted client and a clock the test moves: a renewal
 * never writes the Lease once its budget (what is left of the renew deadline) is spent, even when the
 * process was frozen between reading the Lease and writing it and the abort timer has not fired yet.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeClient } from '../../src/runtime/client/kube-client.ts';
import type { Clock } from '../../src/runtime/clock.ts';
import { LeaderElector } from '../../src/runtime/leaderelection/leader-elector.ts';
import { createLogger } from '../../src/runtime/log/logger.ts';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec: Record<string, unknown>;
}

/** A clock whose now() the test sets; timers fire at once (sleeps take no time). */
function steppedClock() {
  let now = 0;
  const clock: Clock = {
    now: () => now,
    wall: () => new Date(1_800_000_000_000 + now),
    setTimer(fn) {
      const handle = setImmediate(fn);
      return { cancel: () => clearImmediate(handle) };
    },
  };
  return { clock, advance: (ms: number) => (now += ms) };
}

/** A client holding one Lease; `onGet` runs before each read answers. */
function leaseClient(onGet: () => void) {
  let lease: Lease | undefined;
  let version = 1;
  const writes: { method: string; at: string }[] = [];
  const client = {
    async getOrUndefined() {
      onGet();
      return lease ? structuredClone(lease) : undefined;
    },
    async request(method: string, _path: string, options: { body: Lease }) {
      writes.push({ method, at: String(options.body.spec.renewTime) });
      lease = { ...options.body, metadata: { ...options.body.metadata, resourceVersion: String(++version) } };
      return structuredClone(lease);
    },
  };
  return { client: client as unknown as KubeClient, writes };
}

describe('LeaderElector', () => {
  test('a renewal frozen between its read and its write past the renew deadline does not write', async () => {
    const { clock, advance } = steppedClock();
    let freezeOnGet = false;
    const { client, writes } = leaseClient(() => {
      // The process is stopped (SIGSTOP, a long pause) after sending the read, for 11 s.
      if (freezeOnGet) advance(11_000);
    });
    const elector = new LeaderElector({
      client,
      namespace: 'ns',
      name: 'lease',
      identity: 'me',
      fieldManager: 'test',
      log: createLogger({ level: 'silent' }),
      clock,
    });
    assert.equal(await elector.acquire(new AbortController().signal), true);
    assert.equal(writes.length, 1, 'acquired with one write');
    freezeOnGet = true;
    const lost = await elector.holdUntilLost(new AbortController().signal);
    assert.equal(lost, true, 'the lease is lost');
    assert.equal(writes.length, 1, 'no Lease write once the renew deadline had passed');
    assert.equal(elector.mayWrite(), false);
  });

  test('a renewal within its budget writes', async () => {
    const { clock, advance } = steppedClock();
    const { client, writes } = leaseClient(() => advance(100));
    const elector = new LeaderElector({
      client,
      namespace: 'ns',
      name: 'lease',
      identity: 'me',
      fieldManager: 'test',
      log: createLogger({ level: 'silent' }),
      clock,
    });
    assert.equal(await elector.acquire(new AbortController().signal), true);
    const stop = new AbortController();
    const holding = elector.holdUntilLost(stop.signal);
    while (writes.length < 3) await new Promise((r) => setImmediate(r));
    stop.abort();
    assert.equal(await holding, false);
    assert.equal(elector.mayWrite(), true);
  });
});
