/**
 * The traffic tests' load client (hack/traffic/load.ts): a refused connection is tried again only as
 * many times as asked, and every such retry is counted, so a test can never hide a refusal.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { describeLoad, runLoad } from '../../hack/traffic/load.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

test('with nothing listening, each request is refused, retried once (counted), then failed', async () => {
  const port = await freePort();
  const load = await runLoad({
    url: `http://127.0.0.1:${port}/`,
    steps: [{ rps: 20, seconds: 0.5 }],
    retryRefused: 1,
  });
  assert.equal(load.sent, 10);
  assert.equal(load.failed, 10);
  assert.equal(load.errors.ECONNREFUSED, 10);
  assert.equal(load.refusedRetried.length, 10, 'one retry per request, each counted');
  assert.match(describeLoad('x', load), /refused-then-retried=10/);
});

test('without retryRefused, a refusal fails at once and nothing is retried', async () => {
  const port = await freePort();
  const load = await runLoad({ url: `http://127.0.0.1:${port}/`, steps: [{ rps: 20, seconds: 0.25 }] });
  assert.equal(load.failed, load.sent);
  assert.deepEqual(load.refusedRetried, []);
});

test('a server that answers: no retry, every request ok', async () => {
  const server = createServer((_req, res) => res.setHeader('X-Pod', 'web-1').end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const load = await runLoad({
      url: `http://127.0.0.1:${port}/`,
      steps: [{ rps: 20, seconds: 0.5 }],
      retryRefused: 1,
      serverHeader: 'X-Pod',
    });
    assert.equal(load.ok, 10);
    assert.deepEqual(load.byServer, { 'web-1': 10 });
    const last = load.lastAnswerBy['web-1'] as number;
    assert.ok(last >= 0.45 && last < 2, `the last answer came at the end of the load (${last} s)`);
    assert.equal(load.failed, 0);
    assert.deepEqual(load.refusedRetried, []);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
