/**
 * The Manager as a whole, against a scripted API server on a fake clock:
 *  - a webhook's 500 on one object, followed by requests that succeed, leaves that object's backoff
 *    alone; an outage of the API server (its /readyz fails) ends with the keys that failed in it
 *    retried;
 *  - with leader election, renewals start at acquire (not once caches synced) and go on while
 *    running reconciles drain; pending events are sent before the lease is released;
 *  - a standby exports no leader-only series; the names in requests are the ones passed in;
 *  - once quiet after its heap grew, it runs one memory-reducing collection and counts it; stop ends
 *    the checks.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Controller, type Reconciler, type Request } from '../../src/runtime/controller/controller.ts';
import { Manager, type ManagerOptions } from '../../src/runtime/manager/manager.ts';
import { Metrics } from '../../src/runtime/metrics/metrics.ts';
import { ItemExponentialFailureRateLimiter } from '../../src/runtime/workqueue/rate-limiters.ts';
import { configMaps, restConfig, silentLog } from './support/config.ts';
import { eventually, FakeClock } from './support/fake-clock.ts';
import { LeaseServer } from './support/lease-server.ts';
import { ScriptedServer } from './support/scripted-server.ts';

let server: ScriptedServer;
let clock: FakeClock;
let readyz: number;
const managers: Manager[] = [];

beforeEach(async () => {
  server = await ScriptedServer.start();
  clock = new FakeClock();
  readyz = 200;
  server.on('GET', '/readyz', (_req, reply) => reply.send(readyz, readyz === 200 ? 'ok' : '[-]etcd failed'));
});
afterEach(async () => {
  for (const m of managers.splice(0)) await Promise.race([m.stop(), new Promise((r) => setTimeout(r, 500))]);
  await server.close();
});

const deployments = { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true };
const webhookDown =
  'Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "https://down.example.com/validate": dial tcp: connect: connection refused';

function manager(options: Partial<ManagerOptions> = {}): Manager {
  const m = new Manager({
    restConfig: restConfig(server.url),
    log: silentLog,
    name: 'widget-operator',
    version: '2.0.0',
    metricsBindAddress: '0',
    healthProbeBindAddress: '0',
    metrics: new Metrics({ processMetrics: false }),
    clock,
    // Off unless a test scripts it: with --expose-gc its 2 s checks would join the fake clock's timers.
    idleMemoryRelease: false,
    ...options,
  });
  managers.push(m);
  return m;
}

/** A controller of `m` whose reconciler is `reconcile`; failures wait a minute (only a release brings them back sooner). */
function controllerOf(
  m: Manager,
  reconcile: Reconciler['reconcile'],
): { controller: Controller; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const controller = new Controller({
    name: 'widget',
    reconciler: {
      reconcile: (request: Request, context) => {
        const key = `${request.namespace}/${request.name}`;
        calls.set(key, (calls.get(key) ?? 0) + 1);
        return reconcile(request, context);
      },
    },
    client: m.client,
    recorder: m.recorder,
    log: m.log,
    metrics: m.metrics,
    clock,
    rateLimiter: new ItemExponentialFailureRateLimiter(60_000, 60_000),
  });
  m.add(controller);
  return { controller, calls };
}

/**
 * Lets one retry period pass once the elector sleeps, and waits for the renewal it starts to be
 * written: `n` Lease writes in all, then the next sleep armed.
 */
async function renewal(leases: LeaseServer, n: number): Promise<void> {
  const sleeps = () => clock.requested.filter((ms) => ms === 2000).length;
  await eventually(() => sleeps() === n - 1, 'the elector to sleep');
  await clock.advance(2000);
  await eventually(() => leases.writes().length === n, `Lease write ${n}`);
}

/** Real time passes (the fake clock stands still): enough for anything released at once to run. */
const meanwhile = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('Manager: failures and outages', { timeout: 10_000 }, () => {
  test("a webhook's 500 on one object, then requests that succeed, leave that object's backoff alone", async () => {
    server.on('PATCH', /deployments\/a$/, (_req, reply) => reply.fail(500, 'InternalError', webhookDown));
    server.on('GET', /configmaps/, (_req, reply) =>
      reply.json({ metadata: { name: 'b', resourceVersion: '1' } }),
    );
    const m = manager();
    const { controller, calls } = controllerOf(m, async (request) => {
      if (request.name === 'a') await m.api.mergePatch(deployments, request, { spec: {} }, 'widget-operator');
      else await m.api.get(configMaps, request);
      return undefined;
    });
    await m.start();
    controller.enqueue({ namespace: 'ns', name: 'a' });
    await eventually(() => calls.get('ns/a') === 1, 'a failed once');
    for (const name of ['b', 'c', 'd']) controller.enqueue({ namespace: 'ns', name });
    await eventually(() => calls.get('ns/d') === 1, 'three successes after it');
    await eventually(() => server.matching('GET', '/readyz').length === 1, 'the 500 made it ask /readyz');
    await meanwhile();
    assert.equal(calls.get('ns/a'), 1, 'still waiting out its backoff');
  });

  test('an outage (/readyz failing) ends when /readyz answers 200: the keys that failed in it are retried', async () => {
    let down = true;
    server.on('PATCH', /deployments/, (req, reply) => {
      if (req.path.endsWith('/w')) return reply.fail(500, 'InternalError', webhookDown);
      if (down) return reply.reset(); // no answer: unreachable
      reply.json({ metadata: { name: 'a' } });
    });
    // Not ready as soon as the API server has been down 1 ms: the test sees the outage begin.
    const m = manager({ healthProbeBindAddress: '127.0.0.1:0', unreachableAfterMs: 1 });
    const { controller, calls } = controllerOf(m, async (request) => {
      await m.api.mergePatch(deployments, request, { spec: {} }, 'widget-operator');
      return undefined;
    });
    readyz = 503;
    await m.start();
    controller.enqueue({ namespace: 'ns', name: 'a' });
    controller.enqueue({ namespace: 'ns', name: 'w' });
    await eventually(() => calls.get('ns/a') === 1 && calls.get('ns/w') === 1, 'both failed');
    await eventually(() => server.matching('GET', '/readyz').length > 0, 'the failure to ask /readyz');
    // Its 503 begins the outage once read; a millisecond of it is enough to be not ready.
    for (let i = 0; i < 500 && m.ready; i++) {
      await clock.advance(1);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.equal(m.ready, false, 'the outage began');
    down = false;
    readyz = 200;
    await clock.advance(1000);
    // What the kubelet does every few seconds: ask the manager's /readyz, which asks the API server's.
    const answer = await fetch(`http://${m.healthAddress}/readyz`);
    assert.equal(answer.status, 200);
    await clock.advance(1); // released keys are due a millisecond later (see retryAfterOutage)
    await eventually(() => calls.get('ns/a') === 2, 'a retried at once after the outage');
    await meanwhile();
    assert.equal(calls.get('ns/w'), 1, 'the webhook-refused key keeps its backoff');
  });
});

describe('Manager: leader election and stopping', { timeout: 10_000 }, () => {
  test('renews from the moment it acquires, while the caches are still syncing', async () => {
    const leases = new LeaseServer(server);
    server.on('GET', '/api/v1/configmaps', () => {}); // the list never comes: caches never sync
    const m = manager({ leaderElection: { namespace: 'kube-system', id: 'widget-lock' } });
    m.informer(configMaps);
    await m.start();
    await eventually(() => m.leading, 'leading');
    for (let n = 2; n <= 4; n++) await renewal(leases, n);
    assert.equal(m.informers[0]?.hasSynced, false);
  });

  test('stop: renewals go on while reconciles drain, events are sent, then the lease is released', async () => {
    const leases = new LeaseServer(server);
    const heldEvents: (() => void)[] = [];
    server.on('POST', '/api/v1/namespaces/ns/events', (req, reply) => {
      heldEvents.push(() => reply.json(req.json, 201));
    });
    let finish: () => void = () => {};
    const m = manager({ leaderElection: { namespace: 'kube-system', id: 'widget-lock' } });
    const { controller, calls } = controllerOf(m, async (request, context) => {
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      context.recorder.event(
        { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { ...request, uid: 'u1' } },
        'Normal',
        'Reconciled',
        'done',
      );
      return undefined;
    });
    await m.start();
    await eventually(() => m.leading, 'leading');
    controller.enqueue({ namespace: 'ns', name: 'a' });
    await eventually(() => calls.get('ns/a') === 1, 'the reconcile is running');

    const stopped = m.stop();
    for (let n = 2; n <= 3; n++) await renewal(leases, n); // while draining
    finish();
    await eventually(() => heldEvents.length === 1, 'the event of the last reconcile');
    await clock.advance(2000);
    await meanwhile();
    assert.ok(
      leases.writes().every((l) => l.spec.holderIdentity !== ''),
      'not released while an event is still being sent',
    );
    heldEvents[0]?.();
    await stopped;
    assert.equal(leases.lease?.spec.holderIdentity, '', 'released last');
    assert.equal(m.leading, false);
  });

  test('a standby exports no leader-only series', async () => {
    const leases = new LeaseServer(server);
    leases.heldBy('the-leader');
    const m = manager({ leaderElection: { namespace: 'kube-system', id: 'widget-lock' } });
    m.metrics.addTextSource(() => 'widget_ready_replicas{name="w1"} 3\n', { leaderOnly: true });
    await m.start();
    await server.waitFor('GET', leases.path);
    assert.equal(m.leading, false);
    const body = (await m.metrics.render()).body;
    assert.doesNotMatch(body, /widget_ready_replicas/);
    assert.match(body, /leader_election_master_status\{name="widget-lock"\} 0/);
  });

  test('the names in every request are the ones passed in, never a built-in one', async () => {
    const leases = new LeaseServer(server);
    server.on('POST', '/api/v1/namespaces/ns/events', (req, reply) => reply.json(req.json, 201));
    const m = manager({ leaderElection: { namespace: 'kube-system', id: 'widget-lock' } });
    await m.start();
    await eventually(() => m.leading, 'leading');
    m.recorder.event(
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { namespace: 'ns', name: 'w', uid: 'u' } },
      'Normal',
      'Hello',
      'hi',
    );
    await m.recorder.flush();
    const lease = leases.writes()[0];
    assert.equal(lease?.spec.holderIdentity?.includes('_'), true, 'identity: host_uuid');
    for (const r of server.requests) {
      assert.match(String(r.headers['user-agent']), /^widget-operator\/2\.0\.0 /);
      if (r.method !== 'GET') assert.equal(r.query.fieldManager, 'widget-operator', `${r.method} ${r.path}`);
      assert.doesNotMatch(JSON.stringify([r.headers, r.query, r.body]), /elasticweb/i);
    }
    const event = server.matching('POST', /events/)[0]?.json as {
      source: { component: string };
      reportingInstance: string;
    };
    assert.equal(event.source.component, 'widget-operator');
    assert.match(event.reportingInstance, /^widget-operator-/);
  });

  test('writes are fenced: a replica that is not the leader sends none', async () => {
    const leases = new LeaseServer(server);
    leases.heldBy('the-leader');
    const m = manager({ leaderElection: { namespace: 'kube-system', id: 'widget-lock' } });
    await m.start();
    await server.waitFor('GET', leases.path);
    await assert.rejects(
      m.client.create(configMaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'x', namespace: 'ns' },
      }),
      /may have lost its leader lease/,
    );
    assert.equal(server.matching('POST', /configmaps/).length, 0);
  });
});

describe('Manager: idle memory release', { timeout: 10_000 }, () => {
  test('once quiet after its heap grew, one collection, counted in its metrics; none after stop', async () => {
    const MiB = 1024 * 1024;
    let heap = 20 * MiB;
    let collections = 0;
    const m = manager({
      idleMemoryRelease: {
        gc: (() => {
          collections++;
          heap = 14 * MiB;
        }) as NodeJS.GCFunction,
        heapCommitted: () => heap,
        utilization: () => 0,
        trimNative: () => true, // the C allocator gave pages back
      },
    });
    await m.start();
    heap = 45 * MiB; // the first list and reconciles grew it
    await clock.advance(2000);
    assert.equal(collections, 1);
    const body = (await m.metrics.render()).body;
    assert.match(body, /^nodejs_gc_idle_collections_total 1$/m);
    assert.match(body, new RegExp(`^nodejs_gc_idle_reclaimed_bytes_total ${31 * MiB}$`, 'm'));
    assert.match(body, /^nodejs_gc_idle_native_trims_total 1$/m);
    await m.stop();
    heap = 90 * MiB;
    await clock.advance(120_000);
    assert.equal(collections, 1, 'no check runs after stop');
  });
});
