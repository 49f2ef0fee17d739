/**
 * The traffic tests' load client (hack/traffic/load.ts): every refusal is a counted failure, never
 * tried again, and answers are tallied by the server that gave them.
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

test('with nothing listening, each request fails at once as refused, and is counted', async () => {
  const port = await freePort();
  const load = await runLoad({ url: `http://127.0.0.1:${port}/`, steps: [{ rps: 20, seconds: 0.5 }] });
  assert.equal(load.sent, 10);
  assert.equal(load.failed, 10);
  assert.equal(load.errors.ECONNREFUSED, 10);
  assert.equal(load.failures.length, 10);
  assert.match(describeLoad('x', load), /failed=10 \(ECONNREFUSED=10\)/);
});

test('a server that answers: every request ok, tallied by the server header', async () => {
  const server = createServer((_req, res) => res.setHeader('X-Pod', 'web-1').end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const load = await runLoad({
      url: `http://127.0.0.1:${port}/`,
      steps: [{ rps: 20, seconds: 0.5 }],
      serverHeader: 'X-Pod',
    });
    assert.equal(load.ok, 10);
    assert.deepEqual(load.byServer, { 'web-1': 10 });
    const last = load.lastAnswerBy['web-1'] as number;
    assert.ok(last >= 0.45 && last < 2, `the last answer came at the end of the load (${last} s)`);
    assert.equal(load.failed, 0);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
