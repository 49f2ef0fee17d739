/**
 * The client's write fence (what keeps a replica whose lease may have lapsed from writing) is asked
 * when the request goes out, not only when it was made: between the two the client may wait for a
 * credential (an exec plugin can take seconds) or for its rate limit, and the lease can lapse meanwhile.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { NotLeaderError } from '../../src/runtime/client/errors.ts';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import type { RestConfig } from '../../src/runtime/client/rest-config.ts';

test('a write whose credential arrives after the fence closed is refused, and never sent', async () => {
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let credential: (value: string) => void = () => {};
  const config: RestConfig = {
    server: `http://127.0.0.1:${port}`,
    namespace: undefined,
    source: 'test',
    tls: async () => ({}),
    // A credential plugin that is slow to answer.
    authorization: () => new Promise<string>((resolve) => (credential = resolve)),
  };
  let leading = true;
  const client = new KubeClient(config, {
    userAgent: 'test',
    fence: (what) => {
      if (!leading) throw new NotLeaderError(what);
    },
  });
  try {
    const write = client.request('POST', '/api/v1/namespaces/ns/configmaps', { body: { metadata: {} } });
    await new Promise((r) => setImmediate(r));
    leading = false; // the lease may have lapsed while the credential was being fetched
    credential('Bearer token');
    await assert.rejects(write, NotLeaderError);
    assert.deepEqual(received, [], 'nothing reached the server');
  } finally {
    await client.close();
    server.close();
  }
});
