/**
 * The list-then-watch loop (Watcher) as an Informer runs it, against a scripted API server on a
 * fake clock: a 410 at any point relists, a watch that ends at once backs off instead of spinning,
 * a watch that hears nothing (idle, or over its whole run) checks its resourceVersion with a
 * one-item list and watches on from it, or relists when the storage no longer has it (restored from
 * a backup), a list refused with "resource version too large" relists, a
 * transform that throws leaves one object out and keeps the rest, the backoff resets after success,
 * and after a relist the handlers hear exactly what changed.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, type TestContext, test } from 'node:test';
import { Informer } from '../../src/runtime/cache/informer.ts';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { configMap, configMaps, restConfig, silentLog } from './support/config.ts';
import { eventually, FakeClock, flush } from './support/fake-clock.ts';
import { ListWatch, listsAndWatches } from './support/list-watch.ts';
import { type Reply, ScriptedServer } from './support/scripted-server.ts';

type Cm = ReturnType<typeof configMap>;
const collection = '/api/v1/namespaces/default/configmaps';

let server: ScriptedServer;
let clock: FakeClock;
let client: KubeClient;
let script: ListWatch;
const stops: AbortController[] = [];

beforeEach(async () => {
  server = await ScriptedServer.start();
  clock = new FakeClock();
  client = new KubeClient(restConfig(server.url), { userAgent: 'runtime-test/0', clock });
  script = new ListWatch(server, collection);
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop.abort();
  await client.close();
  await server.close();
});

/** Starts an informer with a recording handler; jitter is taken out (Math.random() = 0.5). */
function start(t: TestContext, options: { transform?: (o: Cm) => Cm } = {}) {
  t.mock.method(Math, 'random', () => 0.5);
  const heard: string[] = [];
  let transformErrors = 0;
  const informer = new Informer<Cm>({
    client,
    type: configMaps,
    namespace: 'default',
    log: silentLog,
    clock,
    watchTimeoutSeconds: () => 300,
    onTransformError: () => transformErrors++,
    ...options,
  });
  informer.addHandler({
    onAdd: (o) => heard.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onUpdate: (old, o) =>
      heard.push(`update ${o.metadata.name}@${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
    onDelete: (o) => heard.push(`delete ${o.metadata.name}`),
  });
  const stop = new AbortController();
  stops.push(stop);
  const running = informer.run(stop.signal);
  return { informer, heard, running, stop, transformErrors: () => transformErrors };
}

const requests = () => listsAndWatches(server, collection);
/** Lists of everything (first lists and relists), without the one-item checks after a silent watch. */
const fullLists = () => requests().lists.filter((r) => r.query.resourceVersionMatch === undefined);
/** The one-item lists that check a silent watch's resourceVersion, by their query. */
const checks = () =>
  requests()
    .lists.filter((r) => r.query.resourceVersionMatch !== undefined)
    .map(({ query: { limit, resourceVersion, resourceVersionMatch } }) => ({
      limit,
      resourceVersion,
      resourceVersionMatch,
    }));
/** The API server's answer to a list at a resourceVersion its storage does not have. */
const tooLarge = (reply: Reply) =>
  reply.fail(504, 'Timeout', 'Timeout: Too large resource version: 1000215, current: 229', {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
  });
const names = (informer: Informer<Cm>) =>
  informer
    .list()
    .map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)
    .sort();

/** Waits until `n` lists and `m` watches were asked for. */
async function until(lists: number, watches: number): Promise<void> {
  await eventually(
    () => requests().lists.length >= lists && requests().watches.length >= watches,
    `${lists} lists and ${watches} watches (have ${requests().lists.length} and ${requests().watches.length})`,
  );
}

/** Waits until the watcher sleeps on a backoff of exactly `ms` (jitter is out: Math.random() is 0.5). */
async function backingOff(ms: number): Promise<void> {
  await eventually(() => clock.nextIn === ms, `a backoff of ${ms} ms (next timer in ${clock.nextIn})`);
}

/**
 * Lets the watcher go on to its next list: at once, or after the initial backoff if it takes one
 * (client-go does after every relist; this runtime only after a failed list).
 */
async function nextList(lists: number): Promise<void> {
  await eventually(
    () => requests().lists.length >= lists || clock.nextIn === 800,
    `list ${lists} or a backoff`,
  );
  if (requests().lists.length < lists) await clock.advance(800);
}

/** Real time passes with the fake clock standing still: nothing timed may happen. */
async function meanwhile(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 30));
  await flush();
}

describe('Watcher: 410 Gone at any point means relist', { timeout: 10_000 }, () => {
  const cases: [string, () => void][] = [
    [
      'the watch request answered 410',
      () =>
        script.watches.push({ answer: (r) => r.fail(410, 'Expired', 'too old resource version: 5 (90)') }),
    ],
    [
      'an ERROR 410 as the first event',
      () => script.watches.push((s) => s.error(410, 'Expired', 'too old resource version: 5 (90)')),
    ],
    [
      'an ERROR 410 after events',
      () =>
        script.watches.push(async (s) => {
          await s.event('MODIFIED', configMap('a', '6'));
          await s.event('ADDED', configMap('z', '7'));
          await s.error(410, 'Expired', 'too old resource version: 7 (90)');
        }),
    ],
  ];
  for (const [what, stage] of cases) {
    test(`${what}: the informer lists again and holds the new list`, async (t) => {
      script.lists.push({ items: [configMap('a', '5')], resourceVersion: '5' });
      stage();
      script.lists.push({ items: [configMap('b', '90')], resourceVersion: '90' });
      const { informer } = start(t);
      await until(2, 2);
      assert.deepEqual(names(informer), ['b@90']);
      assert.equal(
        requests().watches[1]?.query.resourceVersion,
        '90',
        'the next watch starts from the new list',
      );
      assert.equal(informer.stats.relists, 2);
    });
  }

  test('a list page answered 410 (its continue token expired) starts the list over from the first page', async (t) => {
    script.lists.push({ items: [configMap('a', '5')], resourceVersion: '5', continue: 'page2' });
    script.lists.push((reply) =>
      reply.fail(
        410,
        'Expired',
        'The provided continue parameter is too old to display a consistent list result.',
      ),
    );
    script.lists.push({ items: [configMap('a', '8'), configMap('b', '8')], resourceVersion: '8' });
    const { informer } = start(t);
    await until(2, 0);
    await nextList(3);
    await until(3, 1);
    assert.equal(requests().lists[1]?.query.continue, 'page2');
    assert.equal(requests().lists[2]?.query.continue, undefined, 'the relist starts from the first page');
    assert.deepEqual(names(informer), ['a@8', 'b@8']);
  });
});

describe('Watcher: watches that bring nothing', { timeout: 10_000 }, () => {
  test('a watch that ends at once without an event is retried after a growing backoff, not at once', async (t) => {
    script.lists.push({ items: [], resourceVersion: '5' });
    for (let i = 0; i < 10; i++) script.watches.push((s) => s.end());
    start(t);
    await until(1, 1);
    await backingOff(800);
    await meanwhile();
    assert.equal(requests().watches.length, 1, 'no second watch while the clock stands still');
    await clock.advance(800);
    await until(1, 2);
    await backingOff(1600);
    await clock.advance(1599);
    await meanwhile();
    assert.equal(requests().watches.length, 2, 'the second wait is longer (1.6 s)');
    await clock.advance(1);
    await until(1, 3);
    assert.equal(requests().lists.length, 1, 'an empty watch that ended at once is not a reason to relist');
  });

  test('a watch that runs its course silent, from a version the storage still has, is watched on from it: no relist', async (t) => {
    // What the API server does with a watch of a kind nobody changes: no bookmark (it bookmarks only
    // once its cache moved past the watch's version), an empty stream until the watch's timeout.
    script.lists.push({ items: [configMap('a', '5')], resourceVersion: '5' });
    script.watches.push(async (s) => {
      await clock.advance(60_000);
      s.end();
    });
    const { informer } = start(t);
    await until(2, 2);
    assert.deepEqual(checks(), [{ limit: '1', resourceVersion: '5', resourceVersionMatch: 'NotOlderThan' }]);
    assert.equal(fullLists().length, 1, 'no relist');
    assert.equal(requests().watches[1]?.query.resourceVersion, '5');
    assert.deepEqual(names(informer), ['a@5']);
    assert.equal(informer.stats.silentWatches, 1);
  });

  test('a watch that runs its course silent, from a version the storage lacks (restored from a backup), is followed by a relist', async (t) => {
    // The API server answers a watch from a resourceVersion it does not have with an empty stream
    // until the watch's timeout, and the check list with "too large resource version".
    script.lists.push({ items: [configMap('a', '1000215')], resourceVersion: '1000215' });
    script.watches.push(async (s) => {
      await clock.advance(60_000);
      s.end();
    });
    script.lists.push(tooLarge);
    script.lists.push({ items: [configMap('a', '229')], resourceVersion: '229' });
    const { informer } = start(t);
    await until(3, 2);
    assert.deepEqual(checks(), [
      { limit: '1', resourceVersion: '1000215', resourceVersionMatch: 'NotOlderThan' },
    ]);
    assert.deepEqual(names(informer), ['a@229']);
    assert.equal(requests().watches[1]?.query.resourceVersion, '229');
  });

  test('a watch silent past the idle timeout (90 s) is closed; its version still served, the next watch starts from it at once, without a relist', async (t) => {
    script.lists.push({ items: [configMap('a', '5')], resourceVersion: '5' });
    const { informer } = start(t);
    await until(1, 1);
    await clock.advance(89_999);
    await meanwhile();
    assert.equal(requests().lists.length, 1);
    await clock.advance(1);
    await eventually(() => script.open[0]?.closed === true, 'the silent watch to be closed');
    await until(2, 2); // no clock advance: no backoff, as nothing failed
    assert.deepEqual(checks(), [{ limit: '1', resourceVersion: '5', resourceVersionMatch: 'NotOlderThan' }]);
    assert.equal(fullLists().length, 1, 'no relist');
    assert.equal(requests().watches[1]?.query.resourceVersion, '5');
    await script.open[1]?.event('ADDED', configMap('b', '7'));
    await eventually(() => names(informer).length === 2, 'the next watch to deliver');
    assert.deepEqual(names(informer), ['a@5', 'b@7']);
  });

  test('a watch silent past the idle timeout, from a version the storage lacks: relist', async (t) => {
    script.lists.push({ items: [configMap('a', '1000215')], resourceVersion: '1000215' });
    script.lists.push(tooLarge);
    script.lists.push({ items: [configMap('a', '229')], resourceVersion: '229' });
    const { informer } = start(t);
    await until(1, 1);
    await clock.advance(90_000);
    await until(3, 2);
    assert.equal(fullLists().length, 2);
    assert.deepEqual(names(informer), ['a@229']);
    assert.equal(requests().watches[1]?.query.resourceVersion, '229');
  });

  test('a watch silent past the idle timeout whose check fails (API server unreachable) backs off, then watches again from the same version', async (t) => {
    script.lists.push({ items: [configMap('a', '5')], resourceVersion: '5' });
    script.lists.push((reply) => reply.fail(500, 'InternalError', 'etcd is down'));
    script.lists.push({ items: [configMap('a', '5')], resourceVersion: '5' });
    start(t);
    await until(1, 1);
    await clock.advance(90_000);
    await until(2, 1);
    await backingOff(800);
    await meanwhile();
    assert.equal(requests().watches.length, 1, 'no watch before the backoff ends');
    await clock.advance(800);
    await until(2, 2);
    assert.equal(fullLists().length, 1, 'no relist');
    assert.equal(requests().watches[1]?.query.resourceVersion, '5');
  });

  test('a watch that ends cleanly after events resumes from the last resourceVersion, without a relist', async (t) => {
    script.lists.push({ items: [configMap('a', '5')], resourceVersion: '5' });
    script.watches.push(async (s) => {
      await s.event('MODIFIED', configMap('a', '6'));
      await s.bookmark('9');
      s.end();
    });
    start(t);
    await until(1, 2);
    assert.equal(requests().watches[1]?.query.resourceVersion, '9');
    assert.equal(requests().lists.length, 1);
  });
});

describe('Watcher: "resource version too large"', { timeout: 10_000 }, () => {
  test('a list answered 504 ResourceVersionTooLarge is listed again, and the informer syncs', async (t) => {
    script.lists.push(tooLarge);
    script.lists.push({ items: [configMap('a', '229')], resourceVersion: '229' });
    const { informer } = start(t);
    await until(1, 0);
    await nextList(2);
    await until(2, 1);
    assert.equal(informer.hasSynced, true);
    assert.deepEqual(names(informer), ['a@229']);
  });

  test('a list that keeps answering "too large" is retried with a backoff, not in a tight loop', async (t) => {
    script.lists.push(tooLarge); // answered again and again: the last list answer repeats
    start(t);
    await until(1, 0);
    await meanwhile();
    assert.equal(requests().lists.length, 1, 'no second list while the clock stands still');
    await backingOff(800);
    await clock.advance(800);
    await until(2, 0);
    await meanwhile();
    assert.equal(requests().lists.length, 2);
  });
});

describe('Watcher: a transform that throws', { timeout: 10_000 }, () => {
  const picky = (o: Cm): Cm => {
    if (o.metadata.name.startsWith('bad')) throw new Error(`cannot slim ${o.metadata.name}`);
    return o;
  };

  test('leaves that object out, keeps the others, counts it, and neither retries nor relists', async (t) => {
    script.lists.push({
      items: [configMap('a', '5'), configMap('bad', '5'), configMap('c', '5')],
      resourceVersion: '5',
    });
    script.watches.push(async (s) => {
      await s.event('MODIFIED', configMap('bad', '6'));
      await s.event('ADDED', configMap('d', '7'));
    });
    const { informer, transformErrors, heard } = start(t, { transform: picky });
    await until(1, 1);
    await eventually(() => informer.size === 3, 'd to arrive');
    assert.equal(informer.hasSynced, true);
    assert.deepEqual(names(informer), ['a@5', 'c@5', 'd@7']);
    assert.equal(transformErrors(), 2, 'once in the list, once in the watch');
    assert.deepEqual(heard, ['add a@5', 'add c@5', 'add d@7']);
    await meanwhile();
    assert.equal(requests().lists.length, 1);
    assert.equal(requests().watches.length, 1);
  });
});

describe('Watcher: backoff', { timeout: 10_000 }, () => {
  test('doubles on each failure and starts over from 800 ms once a watch delivers again', async (t) => {
    script.lists.push({ items: [], resourceVersion: '5' });
    const broken = {
      answer: (r: import('./support/scripted-server.ts').Reply) =>
        r.fail(500, 'InternalError', 'etcd leader changed'),
    };
    script.watches.push(broken, broken, broken);
    script.watches.push(async (s) => {
      await s.event('ADDED', configMap('a', '6'));
      s.reset();
    });
    const { informer } = start(t);
    // Waits of 800, 1600 and 3200 ms: each exactly, no sooner.
    for (const [i, wait] of [800, 1600, 3200].entries()) {
      await until(1, i + 1);
      await backingOff(wait);
      await clock.advance(wait - 1);
      await meanwhile();
      assert.equal(requests().watches.length, i + 1, `still waiting ${wait - 1} ms after failure ${i + 1}`);
      await clock.advance(1);
    }
    await until(1, 4);
    await eventually(() => informer.size === 1, 'the event');
    await backingOff(800);
    await clock.advance(799);
    await meanwhile();
    assert.equal(requests().watches.length, 4);
    await clock.advance(1);
    await until(1, 5);
  });

  test('failingForMs counts from the first failure on the clock and is 0 again once connected', async (t) => {
    script.lists.push((reply) => reply.fail(503, 'ServiceUnavailable', 'apiserver is shutting down'));
    script.lists.push({ items: [], resourceVersion: '5' });
    const { informer } = start(t);
    await until(1, 0);
    await backingOff(800);
    await clock.advance(400);
    assert.equal(informer.failingForMs, 400);
    assert.equal(informer.hasSynced, false);
    await clock.advance(400);
    await until(2, 1);
    await eventually(() => informer.hasSynced, 'sync');
    assert.equal(informer.failingForMs, 0);
  });
});

describe('Informer: handlers after a relist', { timeout: 10_000 }, () => {
  test('hear add for the new, update for the changed, delete for the gone, and nothing for the unchanged', async (t) => {
    script.lists.push({
      items: [configMap('a', '1'), configMap('b', '1'), configMap('c', '1')],
      resourceVersion: '1',
    });
    script.watches.push((s) => s.error(410, 'Expired', 'too old resource version'));
    script.lists.push({
      items: [configMap('a', '1'), configMap('b', '2'), configMap('d', '2')],
      resourceVersion: '2',
    });
    const { informer, heard } = start(t);
    await until(2, 2);
    assert.deepEqual(heard, ['add a@1', 'add b@1', 'add c@1', 'update b@1->2', 'add d@2', 'delete c']);
    assert.deepEqual(names(informer), ['a@1', 'b@2', 'd@2']);
  });

  test('watch events: ADDED and MODIFIED update the cache, DELETED removes it and tells the last state', async (t) => {
    script.lists.push({ items: [configMap('a', '1')], resourceVersion: '1' });
    script.watches.push(async (s) => {
      await s.event('ADDED', configMap('b', '2'));
      await s.event('MODIFIED', configMap('a', '3'));
      await s.event('DELETED', configMap('b', '4'));
    });
    const { informer, heard } = start(t);
    await eventually(() => heard.length === 4, 'four events');
    assert.deepEqual(heard, ['add a@1', 'add b@2', 'update a@1->3', 'delete b']);
    assert.deepEqual(names(informer), ['a@3']);
  });

  test('a handler that throws neither stops the informer nor hides the event from the others', async (t) => {
    script.lists.push({ items: [configMap('a', '1')], resourceVersion: '1' });
    const { informer, heard } = start(t);
    informer.addHandler({
      onAdd: () => {
        throw new Error('faulty handler');
      },
    });
    // Added before the list arrives: both handlers are called for a.
    await eventually(() => informer.hasSynced, 'sync');
    assert.deepEqual(heard, ['add a@1']);
    await until(1, 1);
  });
});
