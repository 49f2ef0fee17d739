/**
 * Credentials that rotate, over HTTPS with throw-away certificates: a token file re-read after a 401,
 * a client certificate rewritten on disk picked up after the refresh interval (a minute on the clock)
 * or at once after a 401, and a CA rotated on disk picked up after a failed TLS handshake. The
 * configuration is read by loadRestConfig from a kubeconfig, as the operator reads it.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { type ApiError, classify } from '../../src/runtime/client/errors.ts';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { configMap, configMaps } from './support/config.ts';
import { drive, FakeClock } from './support/fake-clock.ts';
import { writeKubeconfig as writeFiles } from './support/kubeconfig.ts';
import { fingerprint, makePki, type TestPki } from './support/pki.ts';
import { ScriptedServer } from './support/scripted-server.ts';

let pki: TestPki;
let server: ScriptedServer;
let clock: FakeClock;
const clients: KubeClient[] = [];
const dirs: string[] = [];

before(async () => {
  pki = await makePki();
});
beforeEach(async () => {
  server = await ScriptedServer.start({
    cert: pki.serverA.cert,
    key: pki.serverA.key,
    ca: pki.caA.cert,
    requestCert: true,
  });
  clock = new FakeClock();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
after(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});

/** A kubeconfig in a temporary directory, removed after the test. */
async function writeKubeconfig(...args: Parameters<typeof writeFiles>): ReturnType<typeof writeFiles> {
  const files = await writeFiles(...args);
  dirs.push(files.dir);
  return files;
}

function client(
  config: Awaited<ReturnType<Awaited<ReturnType<typeof writeKubeconfig>>['load']>>,
): KubeClient {
  const c = new KubeClient(config, { userAgent: 'runtime-test/0', clock });
  clients.push(c);
  return c;
}

const get = (c: KubeClient) => c.get(configMaps, { namespace: 'default', name: 'a' });
const path = '/api/v1/namespaces/default/configmaps/a';

describe('credentials: a rotated token', { timeout: 20_000 }, () => {
  test('a 401 makes the client read the token file again and retry once with the new token', async () => {
    let accepted = new Set(['old']);
    server.on('GET', path, (req, reply) => {
      const token = req.authorization?.replace(/^Bearer /, '') ?? '';
      if (accepted.has(token)) reply.json(configMap('a', '1'));
      else reply.fail(401, 'Unauthorized', 'Unauthorized');
    });
    const files = await writeKubeconfig(server.url, { ca: pki.caA, token: 'old' });
    const c = client(await files.load(clock));
    await get(c);
    await files.setToken('new');
    accepted = new Set(['new']); // the old token was revoked
    await get(c);
    assert.deepEqual(
      server.requests.map((r) => r.authorization),
      ['Bearer old', 'Bearer old', 'Bearer new'],
    );
  });

  test('the token file is read again after a minute on the clock, with no 401 needed', async () => {
    server.on('GET', path, (_req, reply) => reply.json(configMap('a', '1')));
    const files = await writeKubeconfig(server.url, { ca: pki.caA, token: 'one' });
    const c = client(await files.load(clock));
    await get(c);
    await files.setToken('two');
    await get(c);
    await clock.advance(60_001);
    await get(c);
    assert.deepEqual(
      server.requests.map((r) => r.authorization),
      ['Bearer one', 'Bearer one', 'Bearer two'],
    );
  });

  test('a token refused after a refresh too is the 401 error, after exactly one retry', async () => {
    server.on('GET', path, (_req, reply) => reply.fail(401, 'Unauthorized', 'Unauthorized'));
    const files = await writeKubeconfig(server.url, { ca: pki.caA, token: 'bad' });
    await assert.rejects(get(client(await files.load(clock))), (err: ApiError) => err.status === 401);
    assert.equal(server.requests.length, 2);
  });
});

describe('credentials: a rotated client certificate', { timeout: 20_000 }, () => {
  test('is presented on new connections once the refresh interval has passed', async () => {
    server.on('GET', path, (_req, reply) => reply.json(configMap('a', '1')));
    const files = await writeKubeconfig(server.url, { ca: pki.caA, clientCert: pki.client1 });
    const c = client(await files.load(clock));
    await get(c);
    await files.setClientCert(pki.client2);
    await get(c);
    await clock.advance(60_000);
    await get(c);
    const [one, two] = [await fingerprint(pki.client1.cert), await fingerprint(pki.client2.cert)];
    assert.deepEqual(
      server.requests.map((r) => r.clientCert),
      [one, one, two],
      'the old one until the files are read again, then the new one',
    );
    assert.equal(server.connections, 2, 'a new connection pool for the new certificate');
  });

  test('a 401 (the old certificate revoked) makes the client read it again at once', async () => {
    const one = await fingerprint(pki.client1.cert);
    let revoked = false;
    server.on('GET', path, (req, reply) => {
      if (revoked && req.clientCert === one) reply.fail(401, 'Unauthorized', 'Unauthorized');
      else reply.json(configMap('a', '1'));
    });
    const files = await writeKubeconfig(server.url, { ca: pki.caA, clientCert: pki.client1 });
    const c = client(await files.load(clock));
    await get(c);
    await files.setClientCert(pki.client2);
    revoked = true;
    await get(c);
    assert.deepEqual(
      server.requests.map((r) => r.clientCert),
      [one, one, await fingerprint(pki.client2.cert)],
    );
  });
});

describe('credentials: a rotated CA', { timeout: 20_000 }, () => {
  test('after the server moved to a certificate from a new CA, a failed handshake reads the CA file again', async () => {
    server.on('GET', path, (_req, reply) => reply.json(configMap('a', '1')));
    const files = await writeKubeconfig(server.url, { ca: pki.caA });
    const c = client(await files.load(clock));
    await get(c);
    server.setCertificate({ cert: pki.serverB.cert, key: pki.serverB.key });
    server.dropConnections();
    await files.setCa(pki.caB.cert);
    // (The kept-alive connection the server dropped may meet the request first: a reset, retried.)
    await drive(clock, get(c));
    assert.equal(server.requests.length, 2, 'the second request got through, with no restart');
  });

  test('with the CA file not rotated, the handshake failure is reported (unreachable) after one fresh try', async () => {
    server.on('GET', path, (_req, reply) => reply.json(configMap('a', '1')));
    const files = await writeKubeconfig(server.url, { ca: pki.caA });
    const c = client(await files.load(clock));
    await get(c);
    server.setCertificate({ cert: pki.serverB.cert, key: pki.serverB.key });
    server.dropConnections();
    await assert.rejects(drive(clock, get(c)), (err: ApiError) => {
      assert.equal(err.status, 0);
      assert.match(err.message, /certificate|verify/i);
      assert.equal(classify(err).kind, 'unreachable');
      return true;
    });
    assert.equal(server.requests.length, 1);
  });
});
