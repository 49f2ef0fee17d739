import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseFlags } from '../../src/cmd/flags.ts';
import { inCluster, loadRestConfig } from '../../src/runtime/client/rest-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'rest-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(file: string, content: Record<string, unknown>): string {
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const config = (user: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [
    { name: 'c', cluster: { server: 'https://127.0.0.1:6443/', 'certificate-authority': 'ca.pem' } },
  ],
  users: [{ name: 'u', user }],
  contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'team' } }],
  'current-context': 'ctx',
  ...extra,
});

writeFileSync(join(dir, 'ca.pem'), 'CA');

describe('loadRestConfig', () => {
  test('--kubeconfig wins, relative files resolve next to the kubeconfig, trailing slashes go', async () => {
    const path = kubeconfig('token.yaml', config({ token: 'abc' }));
    const c = await loadRestConfig(path, { KUBECONFIG: '/nowhere' });
    assert.equal(c.server, 'https://127.0.0.1:6443');
    assert.equal(String((await c.tls()).ca), 'CA');
    assert.equal(c.namespace, 'team');
    assert.equal(await c.authorization(), 'Bearer abc');
  });

  test('$KUBECONFIG lists files; the first definition of a name and the first current-context win', async () => {
    const first = kubeconfig('first.yaml', config({ token: 'first' }));
    const second = kubeconfig(
      'second.yaml',
      config(
        { token: 'second' },
        { 'current-context': 'other', contexts: [{ name: 'other', context: { cluster: 'c', user: 'u' } }] },
      ),
    );
    const c = await loadRestConfig(undefined, {
      KUBECONFIG: `${join(dir, 'missing.yaml')}:${first}:${second}`,
    });
    assert.equal(await c.authorization(), 'Bearer first');
    assert.equal(c.source, `${first}:${second}`);
  });

  test('a $KUBECONFIG list that reaches it through the --kubeconfig flag is merged too', async () => {
    const first = kubeconfig('first-of-list.yaml', config({ token: 'first' }));
    const env = { KUBECONFIG: `${join(dir, 'missing.yaml')}:${first}` };
    const c = await loadRestConfig(parseFlags([], env).kubeconfig, env);
    assert.equal(await c.authorization(), 'Bearer first');
  });

  test('a token file is re-read when asked again (it rotates)', async () => {
    writeFileSync(join(dir, 'token'), 'one\n');
    const c = await loadRestConfig(kubeconfig('file.yaml', config({ tokenFile: 'token' })), {});
    assert.equal(await c.authorization(), 'Bearer one');
    writeFileSync(join(dir, 'token'), 'two\n');
    assert.equal(await c.authorization(), 'Bearer one', 'cached for a minute');
    assert.equal(await c.authorization(true), 'Bearer two', 'refreshed after a 401');
  });

  test('client certificates and basic auth', async () => {
    const certs = await loadRestConfig(
      kubeconfig(
        'cert.yaml',
        config({
          'client-certificate-data': Buffer.from('CERT').toString('base64'),
          'client-key-data': Buffer.from('KEY').toString('base64'),
        }),
      ),
      {},
    );
    assert.equal(String((await certs.tls()).cert), 'CERT');
    assert.equal(String((await certs.tls()).key), 'KEY');
    assert.equal(await certs.authorization(), undefined);
    const basic = await loadRestConfig(
      kubeconfig('basic.yaml', config({ username: 'a', password: 'b' })),
      {},
    );
    assert.equal(await basic.authorization(), `Basic ${Buffer.from('a:b').toString('base64')}`);
  });

  test('clear errors: no kubeconfig at all, a missing context', async () => {
    await assert.rejects(loadRestConfig(undefined, { HOME: dir }), /no kubeconfig: pass --kubeconfig/);
    await assert.rejects(
      loadRestConfig(kubeconfig('nocontext.yaml', config({}, { 'current-context': 'gone' })), {}),
      /current context "gone" not found/,
    );
  });

  test("a cluster's proxy-url is kept for the client to connect through", async () => {
    const proxied = config({});
    (proxied.clusters[0] as { cluster: Record<string, unknown> }).cluster['proxy-url'] = 'http://proxy:3128';
    assert.equal((await loadRestConfig(kubeconfig('proxy.yaml', proxied), {})).proxyUrl, 'http://proxy:3128');
  });
});

describe('inCluster', () => {
  test('uses the ServiceAccount CA, token and namespace; brackets an IPv6 host', async () => {
    const sa = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(sa, 'ca.crt'), 'CLUSTER-CA');
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'namespace'), 'elasticweb-system\n');
    const c = inCluster('fd00::1', '443', sa);
    assert.equal(c.server, 'https://[fd00::1]:443');
    assert.equal(String((await c.tls()).ca), 'CLUSTER-CA');
    assert.equal(c.namespace, 'elasticweb-system');
    assert.equal(await c.authorization(), 'Bearer sa-token');
  });
});
