/**
 * node hack/build/native.ts [dist]
 *
 * Compiles the operator's one native addon, src/native/malloc-trim.c, into
 * dist/native/malloc-trim.node with the system's C compiler and the Node-API headers of the npm
 * package `node-api-headers` (Node-API is ABI-stable: one build serves every Node 24 on the same
 * platform). src/native/malloc-trim.ts says what it is for and loads it.
 *
 * Off Linux, or without a C compiler (`cc`), it builds nothing and says so: the operator then runs
 * without the trim, as on a C library that has none (musl builds it, and trim() does nothing). The
 * image's build stage and `make test` install gcc (Dockerfile; hack/cluster/real-node/packages.sh).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mallocTrimAddonInDist } from '../../src/native/malloc-trim.ts';

const root = join(import.meta.dirname, '..', '..');
const dist = process.argv[2] ?? join(root, 'dist');
const compiler = process.env.CC ?? 'cc';
const source = join(root, 'src/native/malloc-trim.c');
const out = join(dist, mallocTrimAddonInDist);

if (process.platform !== 'linux') {
  // malloc_trim is glibc's; elsewhere there is nothing to call (and macOS would need other link flags).
  console.warn(`[native] ${process.platform}: no malloc_trim to build; the operator runs without it`);
} else if (spawnSync(compiler, ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.warn(
    `[native] no C compiler (${compiler}): ${out} not built; the operator runs without malloc_trim`,
  );
} else {
  const headers = join(
    dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')),
    'include',
  );
  mkdirSync(dirname(out), { recursive: true });
  execFileSync(
    compiler,
    ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-I', headers, '-o', out, source],
    { stdio: 'inherit' },
  );
}
