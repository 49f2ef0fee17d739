/**
 * LeaderElector on a fake clock against a scripted Lease: acquire, renew every retry period, a
 * renewal that stalls is cut at the renew deadline and leadership is lost by then, mayWrite() counts
 * from when the last successful renewal *started*, a wall-clock step changes nothing, a candidate
 * waits a whole lease duration from its own observation, and release hands the lease over.
 * Timings are controller-runtime's: lease 15 s, renew deadline 10 s, retry every 2 s.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, type TestContext, test } from 'node:test';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { LeaderElector } from '../../src/runtime/leaderelection/leader-elector.ts';
import { restConfig, silentLog } from './support/config.ts';
import { eventually, FakeClock, later, settled } from './support/fake-clock.ts';
import { LeaseServer } from './support/lease-server.ts';
import { ScriptedServer } from './support/scripted-server.ts';

let server: ScriptedServer;
let leases: LeaseServer;
let clock: FakeClock;
const clients: KubeClient[] = [];
const stops: AbortController[] = [];

beforeEach(async () => {
  server = await ScriptedServer.start();
  leases = new LeaseServer(server);
  clock = new FakeClock();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop.abort();
  leases.release();
  for (const c of clients.splice(0)) await c.close();
  await server.close();
});

/** An elector as the manager makes one: its own client, no server-asked retries. */
function elector(t: TestContext, identity = 'me', changes: boolean[] = []): LeaderElector {
  t.mock.method(Math, 'random', () => 0); // no jitter: candidates retry every 2 s exactly
  const client = new KubeClient(restConfig(server.url), {
    userAgent: 'runtime-test/0',
    maxServerRetries: 0,
    maxSockets: 2,
    clock,
  });
  clients.push(client);
  return new LeaderElector({
    client,
    namespace: 'kube-system',
    name: 'widget-lock',
    identity,
    fieldManager: 'widget-operator',
    log: silentLog,
    clock,
    onLeadingChange: (leading) => changes.push(leading),
  });
}

function signal(): AbortSignal {
  const stop = new AbortController();
  stops.push(stop);
  return stop.signal;
}

/** How many retry-period waits the electors have armed so far (Math.random() is 0: exactly 2 s). */
const waits = () => clock.requested.filter((ms) => ms === 2000).length;

/**
 * Lets `periods` retry periods pass, one at a time, each time waiting (in real time) until the round
 * it started is over and the next wait is armed: the requests of a round take no fake time.
 */
async function rounds(periods = 1): Promise<void> {
  for (let i = 0; i < periods; i++) {
    const armed = waits();
    await clock.advance(2000);
    await eventually(() => waits() > armed, 'the round to end and the next wait to be armed');
  }
}

/** Lets a retry period pass and waits for the renewal it starts to be written. */
async function renewal(n: number): Promise<void> {
  await rounds();
  assert.equal(leases.writes().length, n, `write ${n}`);
}

describe('LeaderElector: acquire and renew', { timeout: 10_000 }, () => {
  test('takes a free lease at once (a create), then renews it every retry period with the wall time', async (t) => {
    const changes: boolean[] = [];
    const e = elector(t, 'me', changes);
    assert.equal(await e.acquire(signal()), true);
    assert.equal(e.leading, true);
    assert.equal(e.mayWrite(), true);
    assert.deepEqual(changes, [true]);
    const created = leases.writes()[0];
    assert.equal(created?.spec.holderIdentity, 'me');
    assert.equal(created?.spec.leaseDurationSeconds, 15);
    assert.equal(server.requests.at(-1)?.query.fieldManager, 'widget-operator');

    const held = later(e.holdUntilLost(signal()));
    await eventually(() => waits() === 1, 'the first wait');
    await clock.advance(1999);
    assert.equal(leases.writes().length, 1, 'no renewal before the retry period');
    await renewal(2);
    await renewal(3);
    const renewed = leases.writes()[2];
    assert.equal(renewed?.spec.renewTime, clock.wall().toISOString().replace('Z', '000Z'));
    assert.equal(renewed?.spec.acquireTime, created?.spec.acquireTime, 'the acquire time stays');
    assert.equal(renewed?.spec.leaseTransitions, 0);
    assert.equal(await settled(held), false);
  });

  test('someone else holding the lease ends leadership at the next renewal', async (t) => {
    const changes: boolean[] = [];
    const e = elector(t, 'me', changes);
    await e.acquire(signal());
    const held = later(e.holdUntilLost(signal()));
    await eventually(() => waits() === 1, 'the first wait');
    leases.heldBy('someone-else');
    await clock.advance(2000);
    assert.equal(await held, true);
    assert.equal(e.leading, false);
    assert.equal(e.mayWrite(), false);
    assert.deepEqual(changes, [true, false]);
  });

  test('refuses timings where the renew deadline is not shorter than the lease', () => {
    assert.throws(
      () =>
        new LeaderElector({
          client: {} as KubeClient,
          namespace: 'n',
          name: 'l',
          identity: 'me',
          fieldManager: 'f',
          log: silentLog,
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
        }),
      /renew deadline must be shorter/,
    );
  });
});

describe('LeaderElector: the renew deadline', { timeout: 10_000 }, () => {
  test('a renewal that stalls is cut at the renew deadline, and leadership is lost by then', async (t) => {
    const changes: boolean[] = [];
    const e = elector(t, 'me', changes);
    await e.acquire(signal()); // at 0
    const held = later(e.holdUntilLost(signal()));
    await eventually(() => waits() === 1, 'the first wait');
    await renewal(2); // renewed at 2 s
    leases.stall = true; // from now on the API server accepts requests and never answers
    await clock.advance(2000); // 4 s: a renewal starts; it may take only until 12 s
    await server.waitFor('GET', leases.path, 3);
    await clock.advance(7999);
    assert.equal(await settled(held), false);
    assert.equal(e.mayWrite(), true, '9.999 s after the last renewal started');
    await clock.advance(1); // 12 s: a renew deadline after the last renewal started
    assert.equal(e.mayWrite(), false);
    await eventually(() => !e.leading, 'the stalled renewal to be cut and leadership lost', 1000);
    assert.equal(await held, true);
    assert.deepEqual(changes, [true, false]);
  });

  test('mayWrite() turns false a renew deadline after the last successful renewal *started*', async (t) => {
    const e = elector(t);
    await e.acquire(signal());
    void later(e.holdUntilLost(signal()));
    await eventually(() => waits() === 1, 'the first wait');
    // The renewal at +2 s is slow: its GET is answered only at +5 s. It counts from +2 s.
    leases.stall = true;
    await clock.advance(2000);
    await server.waitFor('GET', leases.path, 2);
    await clock.advance(3000);
    leases.release();
    await eventually(() => leases.writes().length === 2 && waits() === 2, 'the slow renewal to end');
    leases.stall = true; // and nothing gets through after it
    await clock.advance(6999); // 9999 ms since the slow renewal started
    assert.equal(e.mayWrite(), true);
    await clock.advance(1); // 10 s since it started, though it succeeded only 7 s ago
    assert.equal(e.mayWrite(), false);
  });

  test('a wall-clock step (an hour either way) changes nothing: renewals go on, mayWrite() stays true', async (t) => {
    const e = elector(t);
    await e.acquire(signal());
    const held = later(e.holdUntilLost(signal()));
    await eventually(() => waits() === 1, 'the first wait');
    clock.stepWall(3_600_000);
    await renewal(2);
    assert.equal(e.mayWrite(), true);
    clock.stepWall(-7_200_000);
    await renewal(3);
    await renewal(4);
    assert.equal(e.mayWrite(), true);
    assert.equal(await settled(held), false);
    assert.equal(leases.writes()[3]?.spec.holderIdentity, 'me');
  });
});

describe('LeaderElector: candidates', { timeout: 10_000 }, () => {
  test('wait a whole lease duration from their own observation, whatever renewTime says', async (t) => {
    // A renewTime a year old: another machine's clock, never compared with ours.
    leases.heldBy('other', '2025-12-01T12:00:00.000000Z');
    const e = elector(t);
    const acquired = later(e.acquire(signal()));
    await eventually(() => waits() === 1, 'the first try');
    for (let at = 2000; at <= 14_000; at += 2000) {
      await rounds();
      assert.equal(e.leading, false, `not taken ${at} ms after the first observation`);
    }
    await clock.advance(2000); // 16 s: the lease was not renewed for 15 s as we saw it
    assert.equal(await acquired, true);
    const taken = leases.writes().at(-1);
    assert.equal(taken?.spec.holderIdentity, 'me');
    assert.equal(taken?.spec.leaseTransitions, 4, 'a transition is counted');
  });

  test('start their wait over when the holder renews', async (t) => {
    leases.heldBy('other');
    const e = elector(t);
    const acquired = later(e.acquire(signal()));
    await eventually(() => waits() === 1, 'the first try');
    await rounds(4);
    leases.heldBy('other'); // renewed at 8 s: a new resourceVersion, seen at 10 s
    await rounds(8);
    assert.equal(e.leading, false, '14 s after the renewal was seen (24 s after the first observation)');
    await clock.advance(2000);
    assert.equal(await acquired, true, '16 s after');
  });

  test('after a wall-clock step forward, still wait the whole lease duration', async (t) => {
    leases.heldBy('other');
    const e = elector(t);
    const acquired = later(e.acquire(signal()));
    await eventually(() => waits() === 1, 'the first try');
    clock.stepWall(3_600_000);
    await rounds(7);
    assert.equal(e.leading, false, 'an hour later by the wall clock, 14 s by ours');
    await clock.advance(2000);
    assert.equal(await acquired, true);
  });

  test('a conflict (another candidate wrote first) is not an error, just not us this round', async (t) => {
    const e = elector(t);
    server.once('POST', /\/leases$/, (_req, reply) => {
      leases.heldBy('quicker');
      reply.fail(409, 'AlreadyExists', 'leases.coordination.k8s.io "widget-lock" already exists');
    });
    const acquired = later(e.acquire(signal()));
    await eventually(() => waits() === 1, 'the first try');
    await rounds();
    assert.equal(e.leading, false);
    assert.equal(await settled(acquired), false);
  });
});

describe('LeaderElector: release', { timeout: 10_000 }, () => {
  test('empties the holder with a 1 s lease, so a standby takes over at its next try', async (t) => {
    const changes: boolean[] = [];
    const leader = elector(t, 'leader', changes);
    await leader.acquire(signal());
    const standby = elector(t, 'standby');
    const taken = later(standby.acquire(signal()));
    await eventually(() => waits() === 1, "the standby's first try");
    await leader.release();
    assert.deepEqual(changes, [true, false]);
    assert.equal(leader.leading, false);
    assert.equal(leader.mayWrite(), false);
    const released = leases.writes().at(-1);
    assert.equal(released?.spec.holderIdentity, '');
    assert.equal(released?.spec.leaseDurationSeconds, 1);
    await clock.advance(2000);
    assert.equal(await taken, true, 'taken at the next try, not a lease duration later');
  });

  test('waits for a renewal in flight, so that its write carries the Lease as that renewal left it', async (t) => {
    const e = elector(t);
    await e.acquire(signal());
    const stop = new AbortController();
    const held = later(e.holdUntilLost(stop.signal));
    await eventually(() => waits() === 1, 'the first wait');
    leases.stallMethods.add('PUT'); // the next renewal's write is slow
    await clock.advance(2000);
    await server.waitFor('PUT', leases.path, 1);
    stop.abort(); // the manager stops renewing and releases, while that renewal is still in flight
    const released = e.release();
    await new Promise((resolve) => setTimeout(resolve, 30));
    leases.release(); // the renewal's write lands first (a new resourceVersion)
    await released;
    assert.equal(await held, false);
    assert.equal(leases.lease?.spec.holderIdentity, '', 'released: a standby can take over at once');
    assert.equal(leases.lease?.spec.leaseDurationSeconds, 1);
  });

  test('does nothing when not leading', async (t) => {
    const e = elector(t);
    await e.release();
    assert.equal(server.requests.length, 0);
  });
});
