/**
 * EventRecorder against a scripted Events API on a fake clock: a repeated event within ten minutes
 * is a PATCH of the count; a PATCH that meets 404 (the Event expired or was deleted) creates it anew;
 * when the first create failed, the repeat creates instead of patching what does not exist; and a
 * per-object spam filter (burst 25, then one per 300 s) bounds what one object can send.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { EventRecorder, type InvolvedObject } from '../../src/runtime/events/recorder.ts';
import { restConfig, silentLog } from './support/config.ts';
import { EventServer } from './support/event-server.ts';
import { FakeClock } from './support/fake-clock.ts';
import { ScriptedServer } from './support/scripted-server.ts';

let server: ScriptedServer;
let events: EventServer;
let clock: FakeClock;
let client: KubeClient;
let recorder: EventRecorder;

beforeEach(async () => {
  server = await ScriptedServer.start();
  events = new EventServer(server);
  clock = new FakeClock();
  client = new KubeClient(restConfig(server.url), { userAgent: 'runtime-test/0', clock });
  recorder = new EventRecorder({
    client,
    component: 'widget-operator',
    instance: 'widget-operator-host1',
    fieldManager: 'widget-operator',
    log: silentLog,
    clock,
  });
});
afterEach(async () => {
  await client.close();
  await server.close();
});

const widget = (name = 'w1', uid = `uid-${name}`): InvolvedObject => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name, namespace: 'default', uid, resourceVersion: '7' },
});

describe('EventRecorder: aggregation', { timeout: 10_000 }, () => {
  test('the first event is created with its object, source and count 1', async () => {
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'the webhook is down');
    await recorder.flush();
    const [created] = [...events.events.values()];
    assert.equal(created?.involvedObject.uid, 'uid-w1');
    assert.equal(created?.involvedObject.kind, 'Widget');
    assert.equal(created?.reason, 'ApplyFailed');
    assert.equal(created?.count, 1);
    assert.equal(created?.source?.component, 'widget-operator');
    assert.equal(created?.reportingInstance, 'widget-operator-host1');
    assert.equal(created?.firstTimestamp, clock.wall().toISOString());
    assert.match(created?.metadata.name ?? '', /^w1\.[0-9a-f]+$/);
    assert.equal(server.requests[0]?.query.fieldManager, 'widget-operator');
  });

  test('the same event again within ten minutes patches the count of the same Event', async () => {
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'the webhook is down');
    await recorder.flush();
    await clock.advance(60_000);
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'the webhook is down');
    await recorder.flush();
    assert.deepEqual(events.calls(), ['POST 1', 'PATCH 2']);
    const [only] = [...events.events.values()];
    assert.equal(events.events.size, 1);
    assert.equal(only?.count, 2);
    assert.equal(only?.lastTimestamp, clock.wall().toISOString());
  });

  test('another message, reason or object is another Event', async () => {
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'one');
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'two');
    recorder.event(widget(), 'Normal', 'Created', 'one');
    recorder.event(widget('w2'), 'Warning', 'ApplyFailed', 'one');
    await recorder.flush();
    assert.deepEqual(events.calls(), ['POST 1', 'POST 1', 'POST 1', 'POST 1']);
  });

  test('after ten minutes the same event is a new Event', async () => {
    recorder.event(widget(), 'Normal', 'Scaled', 'to 3');
    await recorder.flush();
    await clock.advance(10 * 60_000);
    recorder.event(widget(), 'Normal', 'Scaled', 'to 3');
    await recorder.flush();
    assert.deepEqual(events.calls(), ['POST 1', 'POST 1']);
    assert.equal(events.events.size, 2);
  });

  test('a PATCH that meets 404 (the Event expired or was deleted) creates it anew, under a new name', async () => {
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'down');
    await recorder.flush();
    events.events.clear(); // the Event's TTL ran out on the server
    await clock.advance(1000);
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'down');
    await recorder.flush();
    assert.deepEqual(events.calls(), ['POST 1', 'PATCH 2', 'POST 2']);
    assert.equal(events.events.size, 1);
    await clock.advance(1000);
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'down');
    await recorder.flush();
    assert.deepEqual(events.calls().slice(3), ['PATCH 3'], 'and the new one is patched after');
  });

  test('when the first create failed, the repeat creates the Event instead of patching nothing', async () => {
    events.failCreates = 1;
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'down');
    await recorder.flush();
    assert.equal(events.events.size, 0);
    recorder.event(widget(), 'Warning', 'ApplyFailed', 'down');
    await recorder.flush();
    assert.deepEqual(events.calls(), ['POST 1', 'POST 2']);
    assert.equal([...events.events.values()][0]?.count, 2, 'the count includes the one that failed');
  });
});

describe('EventRecorder: names', { timeout: 10_000 }, () => {
  test('events of one object in the same millisecond get distinct names (none lost to a 409)', async () => {
    recorder = new EventRecorder({
      client,
      component: 'widget-operator',
      instance: 'widget-operator-host1',
      fieldManager: 'widget-operator',
      log: silentLog,
      clock, // stands still: every event is recorded in the same millisecond
      spamBurst: 1000,
    });
    for (let i = 0; i < 500; i++) recorder.event(widget(), 'Normal', `Step${i}`, 'm');
    await recorder.flush();
    const names = server
      .matching('POST', events.collection)
      .map((r) => (r.json as { metadata: { name: string } }).metadata.name);
    assert.equal(new Set(names).size, 500, 'every name distinct');
    assert.equal(events.events.size, 500, 'every Event created');
  });
});

describe('EventRecorder: the spam filter', { timeout: 10_000 }, () => {
  test('lets 25 events of one object and reason through, then one every 300 s; other reasons and objects are not affected', async () => {
    const sent = () =>
      server.matching('POST', events.collection).map((r) => (r.json as { message: string }).message);
    for (let i = 0; i < 30; i++) recorder.event(widget(), 'Normal', 'Scaled', `to ${i}`);
    recorder.event(widget(), 'Warning', 'MetricUnavailable', 'no data');
    recorder.event(widget('w2'), 'Normal', 'Scaled', 'w2');
    await recorder.flush();
    assert.equal(sent().length, 27, "25 Scaled of w1, w1's warning, 1 of w2");
    assert.ok(sent().includes('no data'), 'a flood of Scaled does not silence the warning');
    assert.equal(recorder.dropped, 5);
    await clock.advance(299_000);
    recorder.event(widget(), 'Normal', 'Scaled', 'late');
    await clock.advance(1000);
    recorder.event(widget(), 'Normal', 'Scaled', 'later');
    recorder.event(widget(), 'Normal', 'Scaled', 'too soon');
    await recorder.flush();
    assert.deepEqual(sent().slice(27), ['later'], 'one more after 300 s');
    assert.equal(recorder.dropped, 7);
  });

  test('repeats of one event count against the filter too (a reconcile loop cannot flood)', async () => {
    for (let i = 0; i < 100; i++) recorder.event(widget(), 'Warning', 'ApplyFailed', 'down');
    await recorder.flush();
    assert.equal(server.requests.length, 25);
    assert.equal(recorder.dropped, 75);
  });
});
