/**
 * KubeClient.watch against a scripted stream: events arrive whole and in order however the bytes
 * are cut (mid-line, mid-UTF-8 character), an ERROR event ends the watch with the Status it carries,
 * bookmarks pass through, and a watch that receives nothing for its idle timeout ends with a
 * WatchIdleError instead of waiting for TCP keep-alive. The line splitter itself is also checked
 * against every way of cutting a stream (property test), as the response's UTF-8 decoder feeds it.
 */
import assert from 'node:assert/strict';
import { StringDecoder } from 'node:string_decoder';
import { afterEach, beforeEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { type ApiError, classify, WatchIdleError } from '../../src/runtime/client/errors.ts';
import { KubeClient, type WatchEvent } from '../../src/runtime/client/kube-client.ts';
import { WatchLineSplitter } from '../../src/runtime/client/watch-stream.ts';
import { configMap, configMaps, restConfig } from './support/config.ts';
import { eventually, FakeClock, later, settled } from './support/fake-clock.ts';
import { ScriptedServer, WatchStream } from './support/scripted-server.ts';

const collection = '/api/v1/namespaces/default/configmaps';
let server: ScriptedServer;
let clock: FakeClock;
let client: KubeClient;

beforeEach(async () => {
  server = await ScriptedServer.start();
  clock = new FakeClock();
  client = new KubeClient(restConfig(server.url), { userAgent: 'runtime-test/0', clock });
});
afterEach(async () => {
  await client.close();
  await server.close();
});

type Cm = ReturnType<typeof configMap>;

/** Starts a watch; the returned stream is the server's side of it, once the request arrived. */
async function startWatch(options: { idleTimeoutMs?: number; signal?: AbortSignal } = {}) {
  let stream: WatchStream | undefined;
  server.once('GET', collection, (_req, reply) => {
    stream = reply.watch();
  });
  const events: WatchEvent<Cm>[] = [];
  const done = later(
    client.watch<Cm>(
      configMaps,
      { namespace: 'default', resourceVersion: '10', timeoutSeconds: 300, ...options },
      (e) => events.push(e),
    ),
  );
  await eventually(() => stream !== undefined, 'the watch request');
  return { stream: stream as WatchStream, events, done };
}

/** Three events whose text holds 2-, 3- and 4-byte UTF-8 characters. */
const international = [
  WatchStream.line('ADDED', configMap('grüße', '11', { text: 'Grüße' })),
  WatchStream.line('MODIFIED', configMap('grüße', '12', { text: '日本語のテキスト' })),
  WatchStream.line('DELETED', configMap('grüße', '13', { text: 'party 🎉 time' })),
].join('');

describe('KubeClient.watch: the stream', { timeout: 10_000 }, () => {
  test('sends watch=1, allowWatchBookmarks, the resourceVersion and timeoutSeconds', async () => {
    const { stream, done } = await startWatch();
    stream.end();
    await done;
    assert.deepEqual(server.requests[0]?.query, {
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: '10',
      timeoutSeconds: '300',
    });
  });

  test('events cut mid-line and inside multi-byte characters arrive whole, in order', async () => {
    const bytes = Buffer.from(international, 'utf8');
    // Cut inside each multi-byte character (after its first byte), and in the middle of each line.
    const cuts: number[] = [];
    for (const ch of ['ü', '日', '🎉']) {
      const at = bytes.indexOf(Buffer.from(ch, 'utf8'));
      cuts.push(at + 1, at + Buffer.byteLength(ch) - 1);
    }
    let newline = bytes.indexOf(10);
    while (newline >= 0) {
      cuts.push(newline - 7, newline, newline + 1);
      newline = bytes.indexOf(10, newline + 1);
    }
    const { stream, events, done } = await startWatch();
    await stream.writeCut(international, cuts);
    stream.end();
    await done;
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.resourceVersion, e.object.data.text]),
      [
        ['ADDED', '11', 'Grüße'],
        ['MODIFIED', '12', '日本語のテキスト'],
        ['DELETED', '13', 'party 🎉 time'],
      ],
    );
  });

  test('a stream written one byte at a time arrives whole', async () => {
    const text = WatchStream.line('ADDED', configMap('ü🎉', '11'));
    const { stream, events, done } = await startWatch();
    await stream.writeCut(
      text,
      Array.from({ length: Buffer.byteLength(text) }, (_, i) => i),
    );
    stream.end();
    await done;
    assert.equal(events.length, 1);
    assert.equal(events[0]?.object.metadata.name, 'ü🎉');
  });

  test('a last event without a trailing newline is still delivered', async () => {
    const { stream, events, done } = await startWatch();
    await stream.write(JSON.stringify({ type: 'ADDED', object: configMap('a', '11') }));
    stream.end();
    await done;
    assert.equal(events.length, 1);
  });

  test('BOOKMARK events pass through with their resourceVersion', async () => {
    const { stream, events, done } = await startWatch();
    await stream.event('ADDED', configMap('a', '11'));
    await stream.bookmark('15');
    stream.end();
    await done;
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.resourceVersion]),
      [
        ['ADDED', '11'],
        ['BOOKMARK', '15'],
      ],
    );
  });

  test('an ERROR event ends the watch with an ApiError carrying its Status (410 Expired: gone)', async () => {
    const { stream, events, done } = await startWatch();
    await stream.event('ADDED', configMap('a', '11'));
    await stream.error(410, 'Expired', 'too old resource version: 10 (4000)');
    await assert.rejects(done, (err: ApiError) => {
      assert.equal(err.status, 410);
      assert.equal(err.reason, 'Expired');
      assert.equal(err.gone, true);
      assert.equal(classify(err).kind, 'gone');
      return true;
    });
    assert.equal(events.length, 1, 'events before the ERROR were delivered');
    await eventually(() => stream.closed, 'the client to close the stream');
  });

  test('an ERROR event with another code keeps that code (500 stays a server error)', async () => {
    const { stream, done } = await startWatch();
    await stream.error(500, 'InternalError', 'etcd cluster is unavailable or misconfigured');
    await assert.rejects(done, (err: ApiError) => err.status === 500 && classify(err).kind === 'server');
  });

  test('a 410 answer to the watch request itself is an ApiError that says gone', async () => {
    server.once('GET', collection, (_req, reply) => reply.fail(410, 'Expired', 'too old resource version'));
    await assert.rejects(
      client.watch(configMaps, { namespace: 'default', resourceVersion: '1' }, () => {}),
      (err: ApiError) => err.gone,
    );
  });

  test('a connection reset mid-stream rejects as unreachable, after delivering what came before', async () => {
    const { stream, events, done } = await startWatch();
    await stream.event('ADDED', configMap('a', '11'));
    await stream.write('{"type":"MODIFIED","obj');
    stream.reset();
    await assert.rejects(done, (err: ApiError) => err.status === 0 && classify(err).kind === 'unreachable');
    assert.equal(events.length, 1);
  });

  test("aborting the caller's signal ends the watch quietly", async () => {
    const abort = new AbortController();
    const { stream, done } = await startWatch({ signal: abort.signal });
    await stream.event('ADDED', configMap('a', '11'));
    abort.abort();
    await done;
    await eventually(() => stream.closed, 'the connection to close');
  });
});

describe('KubeClient.watch: the idle timeout', { timeout: 10_000 }, () => {
  test('a stream silent for idleTimeoutMs ends with a WatchIdleError, not before', async () => {
    const { stream, events, done } = await startWatch({ idleTimeoutMs: 90_000 });
    await stream.event('ADDED', configMap('a', '11'));
    await eventually(() => events.length === 1, 'the event (which re-arms the watchdog)');
    await clock.advance(89_999);
    assert.equal(await settled(done), false);
    await clock.advance(1);
    await assert.rejects(
      done,
      (err: Error) => err instanceof WatchIdleError && classify(err).kind === 'unreachable',
    );
    await eventually(() => stream.closed, 'the dead connection to be closed');
  });

  test('a bookmark every 60 s keeps a quiet watch alive past the idle timeout', async () => {
    const { stream, events, done } = await startWatch({ idleTimeoutMs: 90_000 });
    for (let i = 0; i < 4; i++) {
      await clock.advance(60_000);
      await stream.bookmark(String(20 + i));
      await eventually(() => events.length === i + 1, `bookmark ${i + 1}`);
    }
    assert.equal(await settled(done), false, 'four minutes, never idle');
    stream.end();
    await done;
  });

  test('a request whose answer never comes (headers included) is idle too', async () => {
    server.once('GET', collection, () => {}); // accepted, never answered
    const done = later(
      client.watch(configMaps, { namespace: 'default', resourceVersion: '1', idleTimeoutMs: 5000 }, () => {}),
    );
    await server.waitFor('GET', collection);
    await clock.advance(5000);
    await assert.rejects(done, WatchIdleError);
  });
});

describe('WatchLineSplitter behind a UTF-8 decoder', () => {
  test('any cutting of a stream of events yields the same lines', () => {
    const lines = international.split('\n').filter((l) => l !== '');
    const bytes = Buffer.from(international, 'utf8');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          const decoder = new StringDecoder('utf8');
          const splitter = new WatchLineSplitter();
          const out: string[] = [];
          let from = 0;
          for (const cut of [...cuts].sort((a, b) => a - b)) {
            out.push(...splitter.push(decoder.write(bytes.subarray(from, cut))));
            from = cut;
          }
          out.push(...splitter.push(decoder.write(bytes.subarray(from)) + decoder.end()));
          out.push(...splitter.end());
          assert.deepEqual(out, lines);
        },
      ),
    );
  });

  test('blank lines (keep-alive newlines) are skipped', () => {
    const splitter = new WatchLineSplitter();
    assert.deepEqual(splitter.push('\n\n{"a":1}\n \n{"b"'), ['{"a":1}']);
    assert.deepEqual(splitter.end(), ['{"b"']);
  });
});
