/**
 * classify(): what each answer the API server really gives means. The messages are the API server's
 * own (several measured on the project's local cluster, as noted), so a change to a pattern that
 * breaks one of them shows up here, not in a cluster.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ApiError,
  classify,
  type ErrorKind,
  NotLeaderError,
  type StatusBody,
  WatchIdleError,
} from '../../src/runtime/client/errors.ts';

interface Row {
  what: string;
  status: number;
  body?: StatusBody;
  kind: ErrorKind;
  outage?: boolean;
}

const rows: Row[] = [
  {
    what: 'a validating webhook that is down (measured)',
    status: 500,
    body: {
      reason: 'InternalError',
      message:
        'Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "https://down-webhook.default.svc:443/validate?timeout=5s": dial tcp 10.96.12.34:443: connect: connection refused',
    },
    kind: 'webhook',
  },
  {
    what: 'a webhook that times out',
    status: 500,
    body: {
      reason: 'InternalError',
      message:
        'Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "https://slow.default.svc:443/validate?timeout=2s": context deadline exceeded',
    },
    kind: 'webhook',
  },
  {
    what: 'a ValidatingAdmissionPolicy that denies (measured, 422 Invalid)',
    status: 422,
    body: {
      reason: 'Invalid',
      message:
        "deployments.apps \"d3\" is forbidden: ValidatingAdmissionPolicy 'no-big' with binding 'no-big' denied request: replicas must be 0 here",
    },
    kind: 'denied',
  },
  {
    what: 'a validating webhook that denies',
    status: 403,
    body: {
      reason: 'Forbidden',
      message: 'admission webhook "deny.example.com" denied the request: no sidecars here',
    },
    kind: 'denied',
  },
  {
    what: 'apply to an object replaced under the same name (measured: 422, cause metadata.uid)',
    status: 422,
    body: {
      reason: 'Invalid',
      message:
        'Deployment.apps "d1" is invalid: metadata.uid: Invalid value: "0b7e5f9c-1a2b-4c3d-9e8f-001122334455": field is immutable',
      details: {
        name: 'd1',
        kind: 'Deployment',
        causes: [
          {
            reason: 'FieldValueInvalid',
            field: 'metadata.uid',
            message: 'Invalid value: "0b7e…": field is immutable',
          },
        ],
      },
    },
    kind: 'replaced',
  },
  {
    what: 'a delete or patch whose uid precondition failed',
    status: 409,
    body: {
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on deployments.apps "d1": Precondition failed: UID in precondition: 0b7e5f9c, UID in object meta: 7c1d2e3f',
    },
    kind: 'replaced',
  },
  {
    what: 'a list from a resourceVersion the storage does not have (measured: 504, cause ResourceVersionTooLarge)',
    status: 504,
    body: {
      reason: 'Timeout',
      message: 'Timeout: Too large resource version: 1000215, current: 229',
      details: {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      },
    },
    kind: 'gone',
  },
  {
    what: 'a watch from a compacted resourceVersion',
    status: 410,
    body: { reason: 'Expired', message: 'too old resource version: 5 (3000)' },
    kind: 'gone',
  },
  {
    what: 'an expired continue token',
    status: 410,
    body: {
      reason: 'Expired',
      message:
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
    },
    kind: 'gone',
  },
  {
    what: 'RBAC',
    status: 403,
    body: {
      reason: 'Forbidden',
      message:
        'deployments.apps is forbidden: User "system:serviceaccount:widgets:widget-operator" cannot create resource "deployments" in API group "apps" in the namespace "dev"',
    },
    kind: 'forbidden',
  },
  {
    what: 'validation',
    status: 422,
    body: {
      reason: 'Invalid',
      message:
        'Deployment.apps "d1" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      details: { causes: [{ reason: 'FieldValueInvalid', field: 'spec.replicas' }] },
    },
    kind: 'invalid',
  },
  {
    what: 'a malformed request',
    status: 400,
    body: { reason: 'BadRequest', message: 'the body of the request was in an unknown format' },
    kind: 'invalid',
  },
  {
    what: 'a stale resourceVersion on update',
    status: 409,
    body: {
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on leases.coordination.k8s.io "widget-lock": the object has been modified; please apply your changes to the latest version and try again',
    },
    kind: 'conflict',
  },
  {
    what: 'a name already taken',
    status: 409,
    body: { reason: 'AlreadyExists', message: 'deployments.apps "d1" already exists' },
    kind: 'conflict',
  },
  {
    what: 'not found',
    status: 404,
    body: { reason: 'NotFound', message: 'deployments.apps "d1" not found' },
    kind: 'notFound',
  },
  {
    what: 'throttled (after the client waited)',
    status: 429,
    body: { reason: 'TooManyRequests', message: 'Too many requests, please try again later.' },
    kind: 'throttled',
  },
  {
    what: "the API server's storage is down",
    status: 500,
    body: { reason: 'InternalError', message: 'Internal error occurred: etcdserver: request timed out' },
    kind: 'server',
    outage: true,
  },
  {
    what: 'an API server shutting down',
    status: 503,
    body: { reason: 'ServiceUnavailable', message: 'apiserver is shutting down' },
    kind: 'server',
    outage: true,
  },
  { what: 'no answer at all (connection refused)', status: 0, kind: 'unreachable', outage: true },
];

describe('classify: real API server answers', () => {
  for (const row of rows) {
    test(`${row.what} (${row.status}) -> ${row.kind}`, () => {
      const err = new ApiError({
        status: row.status,
        method: 'PATCH',
        path: '/apis/apps/v1/x',
        body: row.body,
        message: 'ECONNREFUSED',
      });
      const c = classify(err);
      assert.equal(c.kind, row.kind);
      assert.equal(c.outage, row.outage ?? false, 'outage');
      assert.equal(c.message, row.body?.message ?? 'ECONNREFUSED');
      assert.match(c.reason, /^[A-Z][A-Za-z]+$/, 'a CamelCase reason for conditions and events');
    });
  }
});

describe('classify: what is not an API answer', () => {
  test('NotLeaderError is fenced, not an outage', () => {
    const c = classify(new NotLeaderError('apply /apis/apps/v1/x'));
    assert.deepEqual([c.kind, c.reason, c.outage], ['fenced', 'NotLeader', false]);
  });

  test('a watch found idle is unreachable (an outage of the connection)', () => {
    assert.equal(classify(new WatchIdleError('/api/v1/configmaps', 90_000)).kind, 'unreachable');
  });

  test('anything else thrown is a bug, and so are non-errors', () => {
    assert.equal(classify(new TypeError("Cannot read properties of undefined (reading 'spec')")).kind, 'bug');
    assert.equal(classify('a string').kind, 'bug');
    assert.equal(classify(undefined).message, 'undefined');
  });
});
