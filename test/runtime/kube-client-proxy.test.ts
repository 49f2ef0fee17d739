/**
 * The way to the API server: through the kubeconfig's proxy-url, or HTTPS_PROXY from the environment
 * unless NO_PROXY covers the host. A CONNECT proxy in the test sees the tunnel, or does not.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { configMap, configMaps } from './support/config.ts';
import { ConnectProxy } from './support/connect-proxy.ts';
import { FakeClock } from './support/fake-clock.ts';
import { writeKubeconfig } from './support/kubeconfig.ts';
import { makePki, type TestPki } from './support/pki.ts';
import { ScriptedServer } from './support/scripted-server.ts';

let pki: TestPki;
let server: ScriptedServer;
let proxy: ConnectProxy;
const saved = { ...process.env };

before(async () => {
  pki = await makePki();
});
after(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});
beforeEach(async () => {
  server = await ScriptedServer.start({ cert: pki.serverA.cert, key: pki.serverA.key });
  server.on('GET', /configmaps/, (_req, reply) => reply.json(configMap('a', '1')));
  proxy = await ConnectProxy.start();
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'])
    delete process.env[name];
});
afterEach(async () => {
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await proxy.close();
  await server.close();
});

async function getThrough(options: { proxyUrl?: string } = {}): Promise<void> {
  const files = await writeKubeconfig(server.url, { ca: pki.caA, ...options });
  const clock = new FakeClock();
  const client = new KubeClient(await files.load(clock), { userAgent: 'runtime-test/0', clock });
  try {
    await client.get(configMaps, { namespace: 'default', name: 'a' });
  } finally {
    await client.close();
    await rm(files.dir, { recursive: true, force: true });
  }
}

const target = () => `127.0.0.1:${server.port}`;

describe('KubeClient: proxies', { timeout: 20_000 }, () => {
  test("the kubeconfig's proxy-url: the request goes through a CONNECT tunnel", async () => {
    await getThrough({ proxyUrl: proxy.url });
    assert.deepEqual(proxy.tunnels, [target()]);
    assert.equal(server.requests.length, 1);
  });

  test('HTTPS_PROXY from the environment: the request goes through the tunnel', async () => {
    process.env.HTTPS_PROXY = proxy.url;
    await getThrough();
    assert.deepEqual(proxy.tunnels, [target()]);
  });

  test('HTTPS_PROXY with NO_PROXY covering the host: straight to the server', async () => {
    process.env.HTTPS_PROXY = proxy.url;
    process.env.NO_PROXY = '127.0.0.1';
    await getThrough();
    assert.deepEqual(proxy.tunnels, []);
    assert.equal(server.requests.length, 1);
  });

  test('no proxy configured: straight to the server', async () => {
    await getThrough();
    assert.deepEqual(proxy.tunnels, []);
  });
});
