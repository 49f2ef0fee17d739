/**
 * KubeClient reads a body cut anywhere: a list page whose bytes arrive in pieces, cut inside
 * multi-byte characters, is read whole and parsed as the server wrote it (bodies are decoded chunk
 * by chunk into strings, src/runtime/client/kube-client.ts readBody).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { KubeClient } from '../../src/runtime/client/kube-client.ts';
import { configMap, configMaps, listBody, restConfig } from './support/config.ts';
import { FakeClock } from './support/fake-clock.ts';
import { ScriptedServer } from './support/scripted-server.ts';

let server: ScriptedServer;

beforeEach(async () => {
  server = await ScriptedServer.start();
});
afterEach(async () => {
  await server.close();
});

test('a list page cut inside multi-byte characters is read whole', async () => {
  const texts = ['Grüße', '日本語のテキスト', 'party 🎉 time'];
  const items = texts.map((text, i) => configMap(`cm-${i}`, String(10 + i), { text }));
  const body = JSON.stringify(listBody(items, '42'));
  const bytes = Buffer.from(body, 'utf8');
  // Cut after the first byte of each multi-byte character, and before its last.
  const cuts = ['ü', '日', '🎉'].flatMap((ch) => {
    const at = bytes.indexOf(Buffer.from(ch, 'utf8'));
    return [at + 1, at + Buffer.byteLength(ch) - 1];
  });
  server.on('GET', '/api/v1/namespaces/default/configmaps', async (_req, reply) => {
    const stream = reply.watch(); // a chunked 200, written in the pieces we choose
    await stream.writeCut(body, cuts);
    stream.end();
  });
  const client = new KubeClient(restConfig(server.url), {
    userAgent: 'runtime-test/0',
    clock: new FakeClock(),
  });
  const list = await client.list<ReturnType<typeof configMap>>(configMaps, { namespace: 'default' });
  assert.equal(list.resourceVersion, '42');
  assert.deepEqual(
    list.items.map((i) => i.data.text),
    texts,
  );
  await client.close();
});
