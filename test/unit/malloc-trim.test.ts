/**
 * The malloc_trim addon (src/native/): hack/build/native.ts compiles it, loadMallocTrim loads it, and
 * in a real process it hands back free pages that glibc's free() keeps: memory freed between live
 * chunks of its heap, which free() alone never returns (only a heap's top).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { loadMallocTrim, mallocTrimAddonInDist } from '../../src/native/malloc-trim.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;

describe('malloc_trim addon', () => {
  const dist = mkdtempSync(join(tmpdir(), 'elasticweb-native-'));
  const addon = join(dist, mallocTrimAddonInDist);
  before(async () => {
    await run(process.execPath, [new URL('../../hack/build/native.ts', import.meta.url).pathname, dist]);
    assert.ok(
      existsSync(addon),
      'hack/build/native.ts built nothing: no C compiler? (make test installs gcc with the real node packages)',
    );
  });
  after(() => rmSync(dist, { recursive: true, force: true }));

  test('a missing addon is reported, not thrown', () => {
    const loaded = loadMallocTrim(join(dist, 'nowhere.node'));
    assert.ok('unavailable' in loaded && /was not built/.test(loaded.unavailable));
  });

  test('built and loaded, it returns to the system the pages free() left between live chunks', async () => {
    // A child fills glibc's main heap with 96 KiB Buffers (below its 128 KiB mmap threshold), frees
    // every other one (holes between live chunks), and reads RSS before and after trim().
    const child = `
      import { readFileSync } from 'node:fs';
      import { loadMallocTrim } from ${JSON.stringify(new URL('../../src/native/malloc-trim.ts', import.meta.url).href)};
      const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const loaded = loadMallocTrim(${JSON.stringify(addon)});
      if (!('trim' in loaded)) throw new Error(loaded.unavailable);
      let buffers = Array.from({ length: 800 }, () => Buffer.allocUnsafeSlow(96 * 1024).fill(1));
      buffers = buffers.filter((_, i) => i % 2 === 1);
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 500)); // V8 may free backing stores on a helper thread
      globalThis.gc();
      const freed = rss();
      await new Promise((r) => setTimeout(r, 500));
      const later = rss();
      const released = loaded.trim();
      const trimmed = rss();
      console.log(JSON.stringify({ freed, later, released, trimmed, kept: buffers.length }));
    `;
    const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', child], {
      timeout: 30_000,
      env: { ...process.env, MALLOC_ARENA_MAX: '2' },
    });
    const out = JSON.parse(stdout.trim()) as {
      freed: number;
      later: number;
      released: boolean;
      trimmed: number;
    };
    const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
    // 400 holes of 96 KiB: 37.5 MiB freed, all but a page or so of each returnable.
    assert.ok(
      out.later - out.freed > -4 * MiB,
      `free() alone gave little back: ${mib(out.freed)} then ${mib(out.later)}`,
    );
    assert.equal(out.released, true, 'malloc_trim says it released memory');
    assert.ok(
      out.later - out.trimmed >= 25 * MiB,
      `trim() gave back at least 25 MiB: ${mib(out.later)} -> ${mib(out.trimmed)}`,
    );
  });
});
