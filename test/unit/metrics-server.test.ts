/**
 * The secure metrics server: status codes of answerMetricsRequest, then a real HTTPS server on
 * loopback (with a fake access check) serving metrics, and certificate rotation: a new pair from the
 * source, or new files in the cert directory, is served to new connections without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { createLogger } from '../../src/runtime/log/logger.ts';
import type { AccessDecision } from '../../src/runtime/metrics/secure/access-reviewer.ts';
import { CertDirSource } from '../../src/runtime/metrics/secure/cert-dir-source.ts';
import { answerMetricsRequest, serveSecureMetrics } from '../../src/runtime/metrics/secure/metrics-server.ts';
import { startSecureMetrics } from '../../src/runtime/metrics/secure/secure-metrics.ts';
import { selfSignedCertificate } from '../../src/runtime/metrics/secure/self-signed.ts';
import { SelfSignedSource, type TlsSource } from '../../src/runtime/metrics/secure/tls-source.ts';

/** Allows the header "Bearer good", forbids "Bearer other", rejects the rest. */
const access = {
  async check(authorization: string | undefined): Promise<AccessDecision> {
    if (authorization === 'Bearer good') return { status: 200, reason: 'allowed', user: 'prom' };
    if (authorization === 'Bearer other')
      return { status: 403, reason: 'web may not get /metrics', user: 'web' };
    return { status: 401, reason: 'no' };
  },
};
let renders = 0;
const render = async () => {
  renders++;
  return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' };
};

describe('answerMetricsRequest', () => {
  const ask = (method: string, url: string, authorization?: string) =>
    answerMetricsRequest({ method, url, authorization }, { access, render });

  test('401 without a valid token (with a Bearer challenge), 403 when not allowed, 200 with the metrics', async () => {
    const before = renders;
    const unauthorized = await ask('GET', '/metrics');
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.headers['www-authenticate'], 'Bearer');
    const forbidden = await ask('GET', '/metrics', 'Bearer other');
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body, /web may not get \/metrics/);
    assert.equal(renders, before, 'nothing is rendered for a refused request');
    const ok = await ask('GET', '/metrics?x=1', 'Bearer good');
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'up 1\n');
    assert.match(ok.headers['content-type'] ?? '', /version=0.0.4/);
  });

  test('404 for other paths and verbs; HEAD is served like GET', async () => {
    assert.equal((await ask('GET', '/', 'Bearer good')).status, 404);
    assert.equal((await ask('POST', '/metrics', 'Bearer good')).status, 404);
    assert.equal((await ask('HEAD', '/metrics', 'Bearer good')).status, 200);
  });

  test('503 when the access check cannot reach the API server', async () => {
    const res = await answerMetricsRequest(
      { method: 'GET', url: '/metrics', authorization: 'Bearer good' },
      { access: { check: () => Promise.reject(new Error('ECONNREFUSED')) }, render },
    );
    assert.equal(res.status, 503);
  });
});

/** A TlsSource the test rotates by hand. */
class ManualSource implements TlsSource {
  pair = selfSignedCertificate();
  listeners: ((p: { cert: string; key: string }) => void)[] = [];
  current() {
    return this.pair;
  }
  onChange(listener: (p: { cert: string; key: string }) => void) {
    this.listeners.push(listener);
  }
  rotate() {
    this.pair = selfSignedCertificate();
    for (const l of this.listeners) l(this.pair);
  }
  close() {}
}

/** The certificate a fresh TLS connection to `port` is served (PEM-free: its DER, base64). */
function servedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().raw.toString('base64'));
      socket.destroy();
    });
    socket.on('error', reject);
  });
}
const derOf = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');

describe('serveSecureMetrics', () => {
  const source = new ManualSource();
  let port = 0;
  let close: () => void = () => {};
  after(() => close());

  test('serves over HTTPS on the bind address with the status codes above', async () => {
    const served = await serveSecureMetrics({ address: '127.0.0.1:0', tls: source, access, render });
    assert.ok(served);
    close = () => {
      served.server.closeAllConnections();
      served.server.close();
    };
    port = Number(served.address.split(':').at(-1));
    const agent = new Agent({ connect: { ca: source.pair.cert, servername: 'localhost' } });
    const get = async (authorization?: string) => {
      const res = await request(`https://127.0.0.1:${port}/metrics`, {
        dispatcher: agent,
        headers: authorization ? { authorization } : {},
      });
      return { status: res.statusCode, body: await res.body.text() };
    };
    try {
      assert.equal((await get()).status, 401);
      assert.equal((await get('Bearer other')).status, 403);
      assert.deepEqual(await get('Bearer good'), { status: 200, body: 'up 1\n' });
    } finally {
      await agent.close();
    }
  });

  test('plain HTTP on the HTTPS port gets no metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { authorization: 'Bearer good' },
    }).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.notEqual(res, 200);
  });

  test('a rotated key pair is served to new connections without a restart', async () => {
    const first = await servedCertificate(port);
    assert.equal(first, derOf(source.pair.cert));
    source.rotate();
    const second = await servedCertificate(port);
    assert.notEqual(second, first);
    assert.equal(second, derOf(source.pair.cert));
  });

  test('"0" disables it', async () => {
    assert.equal(await serveSecureMetrics({ address: '0', tls: source, access, render }), undefined);
  });
});

describe('CertDirSource', () => {
  const dir = mkdtempSync(join(tmpdir(), 'metrics-certs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (pair: { cert: string; key: string }) => {
    writeFileSync(join(dir, 'tls.crt'), pair.cert);
    writeFileSync(join(dir, 'tls.key'), pair.key);
  };

  test('a missing pair fails at start, naming the file', () => {
    assert.throws(() => new CertDirSource(dir), /tls\.crt/);
  });

  test('a certificate with the wrong key fails at start', () => {
    write({ cert: selfSignedCertificate().cert, key: selfSignedCertificate().key });
    assert.throws(() => new CertDirSource(dir), /do not load/);
  });

  test('loads the pair, picks up a new one, and keeps the old one while the files are half-written', async () => {
    const a = selfSignedCertificate();
    write(a);
    const source = new CertDirSource(dir, { pollMs: 60_000 });
    try {
      assert.equal(source.current().cert, a.cert);
      const seen: string[] = [];
      source.onChange((p) => seen.push(p.cert));
      assert.equal(source.reload(), false, 'unchanged files are not a change');

      const b = selfSignedCertificate();
      writeFileSync(join(dir, 'tls.crt'), b.cert); // certificate first, key not yet
      assert.equal(source.reload(), false);
      assert.equal(source.current().cert, a.cert, 'the previous pair is still served');
      writeFileSync(join(dir, 'tls.key'), b.key);
      // The directory watch notices on its own (the explicit reload above was only for the half-written state).
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(seen, [b.cert], 'the watch delivered the new pair once');
      assert.equal(source.current().cert, b.cert);
    } finally {
      source.close();
    }
  });

  test('without change events, the poll picks up a new pair', async () => {
    const c = selfSignedCertificate();
    const source = new CertDirSource(dir, { pollMs: 100, watch: false });
    const seen: string[] = [];
    source.onChange((p) => seen.push(p.cert));
    write(c);
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    source.close();
    assert.deepEqual(seen, [c.cert]);
  });
});

describe('SelfSignedSource', () => {
  test('replaces its certificate once 80% of the validity has passed', async () => {
    const source = new SelfSignedSource({ validForMs: 500, checkEveryMs: 20 });
    try {
      const first = source.current().cert;
      const seen: string[] = [];
      source.onChange((p) => seen.push(p.cert));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(seen, [], 'not renewed early');
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(seen.length, 1);
      assert.notEqual(seen[0], first);
      assert.equal(source.current().cert, seen[0]);
    } finally {
      source.close();
    }
  });
});

describe('startSecureMetrics', () => {
  const allowAll = {
    async create<T>(type: { plural: string }, _ns: string | undefined, body: unknown): Promise<T> {
      const spec = (body as { spec: { token?: string } }).spec;
      return (
        type.plural === 'tokenreviews'
          ? { status: { authenticated: spec.token === 'good', user: { username: 'prom' } } }
          : { status: { allowed: true } }
      ) as T;
    },
  };
  const log = createLogger({ level: 'silent' });

  test('serves the certificate of --metrics-cert-dir, and reviews tokens with the client it is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metrics-certs-'));
    const pair = selfSignedCertificate();
    writeFileSync(join(dir, 'tls.crt'), pair.cert);
    writeFileSync(join(dir, 'tls.key'), pair.key);
    const served = await startSecureMetrics({
      address: '127.0.0.1:0',
      certDir: dir,
      client: allowAll,
      fieldManager: 'test',
      render,
      log,
    });
    assert.ok(served);
    try {
      const port = Number(served.address.split(':').at(-1));
      assert.equal(await servedCertificate(port), derOf(pair.cert));
      const agent = new Agent({ connect: { ca: pair.cert, servername: 'localhost' } });
      const status = async (token: string) =>
        (
          await request(`https://127.0.0.1:${port}/metrics`, {
            dispatcher: agent,
            headers: { authorization: `Bearer ${token}` },
          })
        ).statusCode;
      assert.equal(await status('good'), 200);
      assert.equal(await status('bad'), 401);
      assert.equal(
        served.reviewer.reviews,
        3,
        'good: a TokenReview and a SubjectAccessReview; bad: a TokenReview',
      );
      await agent.close();
    } finally {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a cert dir without a certificate fails the start; address "0" starts nothing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'metrics-certs-'));
    try {
      await assert.rejects(
        startSecureMetrics({
          address: '127.0.0.1:0',
          certDir: empty,
          client: allowAll,
          fieldManager: 't',
          render,
          log,
        }),
        /tls\.crt/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    assert.equal(
      await startSecureMetrics({ address: '0', client: allowAll, fieldManager: 't', render, log }),
      undefined,
    );
  });
});
