/**
 * ApiHealth: a failure that could be an outage only makes it ask the API server's own /readyz; the
 * outage starts when /readyz fails and ends (onRecovered, once) when it answers 200 again. So a
 * webhook's 500 while /readyz is fine starts nothing, whatever else succeeds or fails meanwhile.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { ApiHealth } from '../../src/runtime/manager/api-health.ts';
import { configMaps, restConfig, silentLog } from './support/config.ts';
import { eventually, FakeClock, flush } from './support/fake-clock.ts';
import { ScriptedServer } from './support/scripted-server.ts';

let server: ScriptedServer;
let clock: FakeClock;
let client: KubeClient;
let health: ApiHealth;
let recovered: number;
let readyz: number;

beforeEach(async () => {
  server = await ScriptedServer.start();
  clock = new FakeClock();
  recovered = 0;
  readyz = 200;
  server.on('GET', '/readyz', (_req, reply) => reply.send(readyz, readyz === 200 ? 'ok' : '[-]etcd failed'));
  server.on('PATCH', /deployments/, (_req, reply) =>
    reply.fail(
      500,
      'InternalError',
      'Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "https://down.example.com:443/validate?timeout=10s": dial tcp 10.96.0.20:443: connect: connection refused',
    ),
  );
  server.on('GET', /configmaps/, (_req, reply) => reply.json({ metadata: { name: 'a' } }));
  client = new KubeClient(restConfig(server.url), {
    userAgent: 'runtime-test/0',
    clock,
    onResponse: (record) => health.observe(record),
  });
  health = new ApiHealth({ client, log: silentLog, clock, onRecovered: () => recovered++ });
});
afterEach(async () => {
  await client.close();
  await server.close();
});

const probes = () => server.matching('GET', '/readyz').length;
const deployments = { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true };
const webhookWrite = () =>
  client.mergePatch(deployments, { namespace: 'default', name: 'd1' }, {}, 'widget-operator').catch(() => {});

describe('ApiHealth', { timeout: 10_000 }, () => {
  test("a webhook's 500 while /readyz is 200 asks /readyz and starts no outage", async () => {
    await webhookWrite();
    await eventually(() => probes() === 1, 'one probe');
    await flush();
    await client.get(configMaps, { namespace: 'default', name: 'a' });
    assert.equal(health.downForMs, 0);
    await clock.advance(60_000);
    assert.equal(health.downForMs, 0);
    assert.equal(recovered, 0, 'no outage, so no recovery to announce');
  });

  test('answers below 500 never ask /readyz', async () => {
    server.on('GET', /secrets/, (_req, reply) => reply.fail(404, 'NotFound', 'not found'));
    const secrets = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };
    await client.getOrUndefined(secrets, { namespace: 'default', name: 'x' });
    await client.get(configMaps, { namespace: 'default', name: 'a' });
    await flush();
    assert.equal(probes(), 0);
  });

  test('asks /readyz at most once per probe interval, however many failures come', async () => {
    for (let i = 0; i < 5; i++) await webhookWrite();
    await eventually(() => probes() >= 1, 'the probe');
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(probes(), 1);
    await clock.advance(1000);
    await webhookWrite();
    await eventually(() => probes() === 2, 'a second probe after the interval');
  });

  test('/readyz failing starts the outage; answering 200 again ends it and calls onRecovered once', async () => {
    readyz = 503;
    health.observe({
      method: 'GET',
      verb: 'list',
      path: '/api/v1/configmaps',
      status: 0,
      durationSeconds: 0,
    });
    await eventually(() => probes() === 1, 'the probe');
    await health.probe(); // the probe under way
    await clock.advance(5000);
    assert.equal(health.downForMs, 5000, 'down since the failed probe, on the clock');
    await health.probe(); // /readyz of the manager asks too (still 503)
    assert.equal(recovered, 0);
    readyz = 200;
    await clock.advance(1000);
    await health.probe();
    assert.equal(recovered, 1);
    assert.equal(health.downForMs, 0);
    await clock.advance(1000);
    await health.probe();
    assert.equal(recovered, 1, 'once per outage');
  });

  test('during an outage, a request that succeeds asks /readyz again: the outage ends with no one probing', async () => {
    readyz = 503;
    health.observe({
      method: 'GET',
      verb: 'list',
      path: '/api/v1/configmaps',
      status: 0,
      durationSeconds: 0,
    });
    await eventually(() => probes() === 1, 'the probe');
    await health.probe();
    readyz = 200;
    await clock.advance(1000);
    await client.get(configMaps, { namespace: 'default', name: 'a' }); // the API server answers again
    await eventually(() => recovered === 1, 'the outage to end');
    assert.equal(health.downForMs, 0);
    await client.get(configMaps, { namespace: 'default', name: 'a' });
    await clock.advance(1000);
    await client.get(configMaps, { namespace: 'default', name: 'a' });
    await flush();
    assert.equal(probes(), 2, 'answers ask /readyz only while an outage lasts');
  });

  test('/readyz not answering at all counts as down', async () => {
    server.on('GET', '/readyz', (_req, reply) => reply.reset());
    await health.probe();
    await clock.advance(1);
    assert.equal(health.downForMs, 1);
  });
});
