/**
 * AccessReviewer against a fake API server that answers TokenReviews and SubjectAccessReviews from
 * two tables: the status codes, the review bodies it sends, the per-token cache (one review pair per
 * token per minute, concurrent scrapes included), failures not cached, and no token in the logs.
 * test/e2e/metrics-auth.test.ts does the same against a real API server.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { ResourceType } from '../../src/runtime/client/resource-type.ts';
import { createLogger } from '../../src/runtime/log/logger.ts';
import {
  AccessReviewer,
  bearerToken,
  type ReviewClient,
} from '../../src/runtime/metrics/secure/access-reviewer.ts';

interface Call {
  kind: string;
  body: { spec: Record<string, unknown> };
  fieldManager: string;
}

/** Tokens -> users, and the users RBAC lets get /metrics. */
function fakeApiServer(tokens: Record<string, string>, readers: string[]) {
  const calls: Call[] = [];
  let down = false;
  const client: ReviewClient = {
    async create<T>(type: ResourceType, namespace: string | undefined, body: unknown, fieldManager: string) {
      assert.equal(namespace, undefined, 'reviews are cluster-scoped');
      const b = body as Call['body'];
      calls.push({ kind: type.kind, body: b, fieldManager });
      if (down)
        throw new Error('POST /apis/authentication.k8s.io/v1/tokenreviews: no response: ECONNREFUSED');
      if (type.plural === 'tokenreviews') {
        const user = tokens[b.spec.token as string];
        return (
          user
            ? {
                status: {
                  authenticated: true,
                  user: { username: user, uid: `uid-${user}`, groups: ['system:authenticated'] },
                },
              }
            : { status: { authenticated: false, error: 'invalid bearer token' } }
        ) as T;
      }
      assert.equal(type.plural, 'subjectaccessreviews');
      return { status: { allowed: readers.includes(b.spec.user as string) } } as T;
    },
  };
  return {
    client,
    calls,
    setDown(value: boolean) {
      down = value;
    },
  };
}

const promToken = 'eyJhbGciOiJSUzI1NiJ9.prometheus-token-payload.signature-part';
const otherToken = 'eyJhbGciOiJSUzI1NiJ9.other-token-payload.other-signature';
const users = {
  [promToken]: 'system:serviceaccount:monitoring:prometheus',
  [otherToken]: 'system:serviceaccount:apps:web',
};

function reviewer(
  api: ReturnType<typeof fakeApiServer>,
  extra: Partial<ConstructorParameters<typeof AccessReviewer>[0]> = {},
) {
  return new AccessReviewer({ client: api.client, fieldManager: 'my-operator', ...extra });
}

describe('bearerToken', () => {
  test('takes the token of a Bearer header, any case, and nothing else', () => {
    assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
    assert.equal(bearerToken('bearer   abc '), 'abc');
    for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a b', 'abc'])
      assert.equal(bearerToken(h), undefined, String(h));
  });
});

describe('AccessReviewer decisions', () => {
  test('no token or a non-bearer header: 401 without asking the API server', async () => {
    const api = fakeApiServer(users, []);
    const r = reviewer(api);
    assert.equal((await r.check(undefined)).status, 401);
    assert.equal((await r.check('Basic dXNlcjpwYXNz')).status, 401);
    assert.equal(api.calls.length, 0);
  });

  test('a token the API server does not authenticate: 401 after one TokenReview, no SubjectAccessReview', async () => {
    const api = fakeApiServer(users, []);
    const d = await reviewer(api).check('Bearer not-a-real-token');
    assert.equal(d.status, 401);
    assert.deepEqual(
      api.calls.map((c) => c.kind),
      ['TokenReview'],
    );
  });

  test('an authenticated user RBAC does not allow: 403 naming the user', async () => {
    const api = fakeApiServer(users, []);
    const d = await reviewer(api).check(`Bearer ${otherToken}`);
    assert.equal(d.status, 403);
    assert.equal(d.user, 'system:serviceaccount:apps:web');
    assert.match(d.reason, /system:serviceaccount:apps:web may not get \/metrics/);
  });

  test('an allowed user: 200; the reviews carry the token, then the user, groups, uid and get /metrics', async () => {
    const api = fakeApiServer(users, ['system:serviceaccount:monitoring:prometheus']);
    const d = await reviewer(api).check(`Bearer ${promToken}`);
    assert.deepEqual(d, {
      status: 200,
      reason: 'allowed',
      user: 'system:serviceaccount:monitoring:prometheus',
    });
    const [tr, sar] = api.calls;
    assert.equal(tr?.kind, 'TokenReview');
    assert.deepEqual(tr?.body.spec, { token: promToken });
    assert.equal(sar?.kind, 'SubjectAccessReview');
    assert.deepEqual(sar?.body.spec, {
      user: 'system:serviceaccount:monitoring:prometheus',
      uid: 'uid-system:serviceaccount:monitoring:prometheus',
      groups: ['system:authenticated'],
      extra: undefined,
      nonResourceAttributes: { path: '/metrics', verb: 'get' },
    });
    assert.ok(api.calls.every((c) => c.fieldManager === 'my-operator'));
  });

  test('audiences, path and verb are passed through when set', async () => {
    const api = fakeApiServer(users, ['system:serviceaccount:monitoring:prometheus']);
    await reviewer(api, { audiences: ['metrics'], path: '/custom', verb: 'list' }).check(
      `Bearer ${promToken}`,
    );
    assert.deepEqual(api.calls[0]?.body.spec.audiences, ['metrics']);
    assert.deepEqual(api.calls[1]?.body.spec.nonResourceAttributes, { path: '/custom', verb: 'list' });
  });
});

describe('AccessReviewer cache', () => {
  test('one review pair per token per minute, however often it scrapes', async () => {
    let now = 0;
    const api = fakeApiServer(users, ['system:serviceaccount:monitoring:prometheus']);
    const r = reviewer(api, { now: () => now });
    for (let s = 0; s < 60; s += 15) {
      now = s * 1000;
      assert.equal((await r.check(`Bearer ${promToken}`)).status, 200);
    }
    assert.equal(api.calls.length, 2, 'four scrapes in a minute: one TokenReview, one SubjectAccessReview');
    assert.equal(r.reviews, 2);
    now = 60_000;
    await r.check(`Bearer ${promToken}`);
    assert.equal(api.calls.length, 4, 'after a minute the token is reviewed again');
  });

  test('denials are cached too (an unauthorized scraper cannot make each scrape cost a review pair)', async () => {
    const api = fakeApiServer(users, []);
    const r = reviewer(api);
    for (let i = 0; i < 10; i++) {
      assert.equal((await r.check(`Bearer ${otherToken}`)).status, 403);
      assert.equal((await r.check('Bearer garbage')).status, 401);
    }
    assert.equal(api.calls.length, 3);
  });

  test('each token has its own decision', async () => {
    const api = fakeApiServer(users, ['system:serviceaccount:monitoring:prometheus']);
    const r = reviewer(api);
    assert.equal((await r.check(`Bearer ${promToken}`)).status, 200);
    assert.equal((await r.check(`Bearer ${otherToken}`)).status, 403);
    assert.equal((await r.check(`Bearer ${promToken}`)).status, 200);
    assert.equal(r.cachedTokens, 2);
  });

  test('concurrent scrapes with one token cost one review pair', async () => {
    const api = fakeApiServer(users, ['system:serviceaccount:monitoring:prometheus']);
    const r = reviewer(api);
    const all = await Promise.all(Array.from({ length: 25 }, () => r.check(`Bearer ${promToken}`)));
    assert.ok(all.every((d) => d.status === 200));
    assert.equal(api.calls.length, 2);
  });

  test('when the API server cannot answer, check throws and nothing is cached', async () => {
    const api = fakeApiServer(users, ['system:serviceaccount:monitoring:prometheus']);
    const r = reviewer(api);
    api.setDown(true);
    await assert.rejects(r.check(`Bearer ${promToken}`), /ECONNREFUSED/);
    assert.equal(r.cachedTokens, 0);
    api.setDown(false);
    assert.equal((await r.check(`Bearer ${promToken}`)).status, 200);
  });

  test('the cache holds at most maxEntries tokens', async () => {
    const api = fakeApiServer(users, []);
    const r = reviewer(api, { maxEntries: 8 });
    for (let i = 0; i < 100; i++) await r.check(`Bearer junk-${i}`);
    assert.equal(r.cachedTokens, 8);
  });
});

describe('AccessReviewer logs', () => {
  test('at trace level, no token nor any part of one appears in the logs', async () => {
    const out = new PassThrough();
    let logged = '';
    out.on('data', (chunk) => {
      logged += chunk;
    });
    const log = createLogger({ level: 'trace', destination: out });
    const api = fakeApiServer(users, ['system:serviceaccount:monitoring:prometheus']);
    const r = reviewer(api, { log });
    await r.check(`Bearer ${promToken}`);
    await r.check(`Bearer ${otherToken}`);
    await r.check('Bearer garbage-token-value');
    api.setDown(true);
    await r.check('Bearer another-garbage-value').catch(() => {});
    log.flush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(logged, /metrics access reviewed/, 'decisions are logged');
    assert.match(logged, /system:serviceaccount:monitoring:prometheus/, 'with the user');
    for (const token of [promToken, otherToken, 'garbage-token-value', 'another-garbage-value']) {
      for (const part of token.split('.')) assert.ok(!logged.includes(part), `"${part}" is not logged`);
    }
  });
});
