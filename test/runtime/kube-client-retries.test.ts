/**
 * KubeClient's own retries, and nothing more: what the server asks for (429 or a 5xx with
 * Retry-After, bounded in time and count), a read whose connection was reset (never a write), and
 * the write fence that refuses writes once the lease may have lapsed. Time is a FakeClock: every
 * wait of the client goes through it, so "not before 3 s" is checked exactly.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type ApiError, classify, NotLeaderError } from '../../src/runtime/client/errors.ts';
import {
  KubeClient,
  type KubeClientOptions,
  type RequestRecord,
} from '../../src/runtime/client/kube-client.ts';
import { configMap, configMaps, restConfig } from './support/config.ts';
import { eventually, FakeClock, later, settled } from './support/fake-clock.ts';
import { ScriptedServer } from './support/scripted-server.ts';

const path = '/api/v1/namespaces/default/configmaps/a';
let server: ScriptedServer;
let clock: FakeClock;

beforeEach(async () => {
  server = await ScriptedServer.start();
  clock = new FakeClock();
});
afterEach(async () => {
  await server.close();
});

function client(options: Partial<KubeClientOptions> = {}): KubeClient {
  return new KubeClient(restConfig(server.url), { userAgent: 'runtime-test/0', clock, ...options });
}

const get = (c: KubeClient) => later(c.get(configMaps, { namespace: 'default', name: 'a' }));

/** Waits for the client to arm its next wait on the clock (it has read the answer). */
async function waiting(): Promise<void> {
  await eventually(() => clock.pending > 0, 'the client to wait on the clock');
}

describe('KubeClient: retries the server asks for', { timeout: 10_000 }, () => {
  test('a 429 with Retry-After: 3 is retried after 3 s on the clock, not before, and its answer returned', async () => {
    const retries: [RequestRecord, number][] = [];
    server.once('GET', path, (_req, reply) =>
      reply.fail(429, 'TooManyRequests', 'slow down', { retryAfter: 3 }),
    );
    server.on('GET', path, (_req, reply) => reply.json(configMap('a', '7')));
    const c = client({ onRetry: (record, wait) => retries.push([record, wait]) });
    const result = get(c);
    await waiting();
    await clock.advance(2999);
    assert.equal(await settled(result), false);
    assert.equal(server.requests.length, 1, 'no retry before the 3 s the server asked for');
    await clock.advance(1);
    const got = (await result) as { metadata: { resourceVersion: string } };
    assert.equal(got.metadata.resourceVersion, '7');
    assert.equal(server.requests.length, 2);
    assert.deepEqual(
      retries.map(([r, w]) => [r.status, r.verb, w]),
      [[429, 'get', 3]],
    );
  });

  test('a 503 with Retry-After is retried; a 500 without Retry-After is the answer at once', async () => {
    server.once('GET', path, (_req, reply) =>
      reply.fail(503, 'ServiceUnavailable', 'busy', { retryAfter: 1 }),
    );
    server.once('GET', path, (_req, reply) =>
      reply.fail(500, 'InternalError', 'etcdserver: request timed out'),
    );
    const c = client();
    const result = get(c);
    await waiting();
    await clock.advance(1000);
    await assert.rejects(result, (err: ApiError) => err.status === 500 && /etcdserver/.test(err.message));
    assert.equal(server.requests.length, 2);
  });

  test('Retry-After is bounded: 3600 waits 30 s, 0 waits 1 s', async () => {
    server.once('GET', path, (_req, reply) =>
      reply.fail(429, 'TooManyRequests', 'later', { retryAfter: 3600 }),
    );
    server.once('GET', path, (_req, reply) => reply.fail(429, 'TooManyRequests', 'now', { retryAfter: 0 }));
    server.on('GET', path, (_req, reply) => reply.json(configMap('a', '1')));
    const c = client();
    const result = get(c);
    await waiting();
    await clock.advance(29_999);
    assert.equal(server.requests.length, 1, 'still waiting just before 30 s');
    await clock.advance(1);
    await eventually(() => server.requests.length === 2 && clock.pending > 0, 'the second try and its wait');
    await clock.advance(999);
    assert.equal(server.requests.length, 2, 'Retry-After: 0 still waits a second');
    await clock.advance(1);
    await result;
    assert.equal(server.requests.length, 3);
  });

  test('after maxServerRetries retries the last answer is the error', async () => {
    server.on('GET', path, (_req, reply) => reply.fail(429, 'TooManyRequests', 'no', { retryAfter: 1 }));
    const c = client({ maxServerRetries: 2 });
    const result = get(c);
    for (let i = 1; i <= 2; i++) {
      await eventually(() => server.requests.length === i && clock.pending > 0, `try ${i}`);
      await clock.advance(1000);
    }
    await assert.rejects(result, (err: ApiError) => err.status === 429 && classify(err).kind === 'throttled');
    assert.equal(server.requests.length, 3, 'the first try and two retries');
  });

  test('maxServerRetries 0 (the lease client): the first 429 is the answer', async () => {
    server.on('GET', path, (_req, reply) => reply.fail(429, 'TooManyRequests', 'no', { retryAfter: 1 }));
    await assert.rejects(get(client({ maxServerRetries: 0 })), (err: ApiError) => err.status === 429);
    assert.equal(server.requests.length, 1);
  });

  test('a request of its own with maxServerRetries 0 takes the first 504 with Retry-After as the answer; the next retries again', async () => {
    server.on('GET', path, (_req, reply) =>
      reply.fail(504, 'Timeout', 'Timeout: Too large resource version: 9, current: 5', { retryAfter: 1 }),
    );
    const c = client();
    const once = later(c.request('GET', path, { maxServerRetries: 0 }));
    await assert.rejects(once, (err: ApiError) => err.status === 504 && classify(err).kind === 'gone');
    assert.equal(server.requests.length, 1, 'not retried');
    const retried = get(c);
    await eventually(() => server.requests.length === 2 && clock.pending > 0, 'the default to retry');
    await clock.advance(1000);
    await eventually(() => server.requests.length === 3, 'a retry after the 1 s asked for');
    for (let i = 0; i < 9; i++) {
      await eventually(() => clock.pending > 0, 'the next wait');
      await clock.advance(1000);
    }
    await assert.rejects(retried);
  });
});

describe('KubeClient: connections reset under a request', { timeout: 10_000 }, () => {
  test('a GET whose connection is reset is retried and succeeds', async () => {
    server.once('GET', path, (_req, reply) => reply.reset());
    server.on('GET', path, (_req, reply) => reply.json(configMap('a', '3')));
    const result = get(client());
    await waiting();
    await clock.advance(50);
    await result;
    assert.equal(server.requests.length, 2);
  });

  test('a GET gives up after 3 retries of resets, with a status-0 (unreachable) error', async () => {
    server.on('GET', path, (_req, reply) => reply.reset());
    const result = get(client());
    for (let i = 1; i <= 3; i++) {
      await eventually(() => server.requests.length === i && clock.pending > 0, `reset ${i}`);
      await clock.advance(50 * i);
    }
    await assert.rejects(result, (err: ApiError) => err.status === 0 && classify(err).kind === 'unreachable');
    assert.equal(server.requests.length, 4);
  });

  test('a POST whose connection is reset is not retried (it may have been applied)', async () => {
    server.on('POST', '/api/v1/namespaces/default/configmaps', (_req, reply) => reply.reset());
    const c = client();
    await assert.rejects(
      c.create(configMaps, 'default', configMap('a', ''), 'test'),
      (err: ApiError) => err.status === 0,
    );
    await clock.advance(1000);
    assert.equal(server.requests.length, 1);
  });
});

describe('KubeClient: the write fence', { timeout: 10_000 }, () => {
  test('refuses every write before sending it, and lets reads, lists and watches through', async () => {
    let allowed = false;
    const fence = (what: string) => {
      if (!allowed) throw new NotLeaderError(what);
    };
    server.on('GET', path, (_req, reply) => reply.json(configMap('a', '1')));
    server.on('GET', '/api/v1/namespaces/default/configmaps', (req, reply) => {
      if (req.query.watch) reply.watch().end();
      else reply.json({ metadata: { resourceVersion: '1' }, items: [] });
    });
    const c = client({ fence });
    const key = { namespace: 'default', name: 'a' };
    const body = configMap('a', '');
    for (const write of [
      () => c.create(configMaps, 'default', body, 'test'),
      () => c.apply(configMaps, body, 'test'),
      () => c.mergePatch(configMaps, key, {}, 'test'),
      () => c.jsonPatch(configMaps, key, [], 'test', 'status'),
      () => c.strategicMergePatch(configMaps, key, {}, 'test'),
      () => c.replace(configMaps, body, 'test'),
      () => c.delete(configMaps, key),
    ]) {
      await assert.rejects(
        write(),
        (err: Error) => err instanceof NotLeaderError && classify(err).kind === 'fenced',
      );
    }
    await c.get(configMaps, key);
    await c.list(configMaps, { namespace: 'default' });
    await c.watch(configMaps, { namespace: 'default', resourceVersion: '1' }, () => {});
    assert.deepEqual(
      server.requests.map((r) => r.method),
      ['GET', 'GET', 'GET'],
      'only the reads reached the server',
    );
    allowed = true;
    server.on('POST', '/api/v1/namespaces/default/configmaps', (_req, reply) =>
      reply.json(configMap('a', '2'), 201),
    );
    await c.create(configMaps, 'default', body, 'test');
    assert.equal(server.matching('POST', /configmaps/).length, 1, 'writes go through once allowed');
  });

  test('is asked again after a Retry-After wait: a lease lost meanwhile stops the retry', async () => {
    let allowed = true;
    const fence = (what: string) => {
      if (!allowed) throw new NotLeaderError(what);
    };
    server.on('POST', '/api/v1/namespaces/default/configmaps', (_req, reply) =>
      reply.fail(429, 'TooManyRequests', 'later', { retryAfter: 5 }),
    );
    const result = later(client({ fence }).create(configMaps, 'default', configMap('a', ''), 'test'));
    await waiting();
    allowed = false;
    await clock.advance(5000);
    await assert.rejects(result, NotLeaderError);
    assert.equal(server.requests.length, 1, 'the retry was never sent');
  });
});
