/**
 * The container image, as far as it can be checked without building it: the Dockerfile follows
 * the conventions (multi-stage, production dependencies only, Node 24, UID 65532, the operator as
 * entry point), every file it copies exists and passes .dockerignore, and the entry point starts
 * from a copy of exactly what the image would hold: the built dist/, the package file and the
 * production dependencies.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { imageEntrypoint, sourceOf } from '../../hack/entrypoint.ts';
import { mallocTrimAddonInDist } from '../../src/native/malloc-trim.ts';

const root = new URL('../..', import.meta.url).pathname;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const run = promisify(execFile);

const instructions = dockerfile
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('Dockerfile', () => {
  test('is multi-stage on Node 24, installs production dependencies only, runs as 65532', () => {
    // The bases are build arguments (a machine with no registry passes local ones); their
    // defaults are the public images a Docker user gets.
    const args = Object.fromEntries(
      instructions.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=') as [string, string]),
    );
    assert.match(args.BUILD_IMAGE ?? '', /^node:24[^ ]*$/);
    assert.match(args.RUNTIME_IMAGE ?? '', /^gcr\.io\/distroless\/nodejs24-debian\d+:nonroot$/);
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    const arg = (name: string) => `\${${name}}`;
    assert.deepEqual(froms, [
      `FROM ${arg('BUILD_IMAGE')} AS build`,
      `FROM ${arg('BUILD_IMAGE')} AS deps`,
      `FROM ${arg('RUNTIME_IMAGE')}`,
    ]);
    assert.ok(instructions.some((l) => /^RUN npm ci .*--omit=dev/.test(l)));
    assert.ok(instructions.includes('RUN npm run build'));
    assert.ok(instructions.includes('USER 65532:65532'));
    const entry = imageEntrypoint();
    assert.equal(entry.script, 'dist/cmd/elasticweb-operator.js');
    assert.deepEqual(entry.nodeArgs, ['--max-semi-space-size=8', '--max-opt=2', '--expose-gc']);
    assert.deepEqual(entry.env, { NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' });
  });

  test("the environment read for the image is its final stage's ENV lines only", () => {
    const dir = mkdtempSync(join(tmpdir(), 'elasticweb-dockerfile-'));
    try {
      const file = join(dir, 'Dockerfile');
      const entry = 'ENTRYPOINT ["/nodejs/bin/node", "--x", "dist/y.js"]';
      writeFileSync(
        file,
        ['FROM a AS build', 'ENV BUILD_ONLY=1', 'FROM b', 'ENV A=1 B=two', entry].join('\n'),
      );
      assert.deepEqual(imageEntrypoint(file).env, { A: '1', B: 'two' });
      // A form it does not parse is refused rather than read wrong.
      writeFileSync(file, ['FROM b', 'ENV A="one two"', entry].join('\n'));
      assert.throws(() => imageEntrypoint(file), /ENV line this reader does not understand/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('npm start runs the sources with the same node flags as the image', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const entry = imageEntrypoint();
    assert.equal(pkg.scripts.start, `node ${[...entry.nodeArgs, sourceOf(entry.script)].join(' ')}`);
  });

  test('every file it copies exists and is not excluded by .dockerignore', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').filter(Boolean);
    assert.equal(ignore[0], '*', '.dockerignore starts from nothing and lists what goes in');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    assert.ok(copies.length >= 2);
    for (const copy of copies) {
      const sources = copy.split(/\s+/).slice(1, -1);
      for (const source of sources) {
        assert.ok(existsSync(join(root, source)), `${source} exists`);
        assert.ok(allowed.includes(source.replace(/\/$/, '')), `${source} passes .dockerignore`);
      }
    }
  });
});

describe('the entry point with production dependencies alone', () => {
  let image: string;
  before(async () => {
    image = mkdtempSync(join(tmpdir(), 'elasticweb-image-'));
    // What the build stage makes: npm run build (types stripped, entry point bundled, the malloc_trim
    // addon compiled), into the image's dist/.
    await run(join(root, 'node_modules/.bin/tsc'), [
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(image, 'dist'),
    ]);
    await run(process.execPath, [join(root, 'hack/build/bundle.ts'), join(image, 'dist')]);
    await run(process.execPath, [join(root, 'hack/build/native.ts'), join(image, 'dist')]);
    cpSync(join(root, 'package.json'), join(image, 'package.json'));
    // What `npm ci --omit=dev` would install: npm lists the production dependency tree.
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root });
    const dirs = stdout
      .split('\n')
      .filter((p) => p.includes('/node_modules/'))
      .map((p) => relative(root, p));
    assert.ok(dirs.length > 10, 'npm lists the production dependencies');
    assert.ok(
      !dirs.some((d) => /node_modules\/(typescript|@biomejs|fast-check|node)$/.test(d)),
      'no dev tools',
    );
    for (const dir of dirs) cpSync(join(root, dir), join(image, dir), { recursive: true });
  });
  after(() => rmSync(image, { recursive: true, force: true }));

  const entry = imageEntrypoint();
  const start = (...args: string[]) => startWith([], ...args);
  /** Starts the entry point as the image does, with `nodeArgs` added to node's own flags. */
  const startWith = (nodeArgs: string[], ...args: string[]) =>
    run(process.execPath, [...entry.nodeArgs, ...nodeArgs, join(image, entry.script), ...args], {
      cwd: image,
      env: { PATH: process.env.PATH, HOME: image },
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  test('the entry point is one bundled file, and --help loads it and lists the flags', async () => {
    const script = readFileSync(join(image, entry.script), 'utf8');
    assert.doesNotMatch(script, /^import .* from ["']\.{1,2}\//m, "no import of the project's own modules");
    assert.match(script, /CachedClient = class/, 'the runtime is inside it');
    const { code, out } = await start('--help');
    assert.equal(code, 0, out);
    assert.match(out, /--metrics-bind-address/);
    assert.match(out, /--leader-elect/);
  });

  test("loading it does not load Node's copy of undici (8.4 MiB resident; hack/build/bundle.ts)", async () => {
    // Printed at exit, after the whole bundle has been evaluated: the Node modules it loaded.
    const report = join(image, 'report-modules.cjs');
    writeFileSync(
      report,
      "process.on('exit', () => console.log('LOADED ' + JSON.stringify(process.moduleLoadList)));\n",
    );
    const { code, out } = await startWith(['--require', report], '--help');
    assert.equal(code, 0, out);
    const loaded = JSON.parse(/^LOADED (.*)$/m.exec(out)?.[1] ?? '[]') as string[];
    assert.ok(
      loaded.includes('NativeModule http'),
      `the report saw the bundle load node:http: ${loaded.length} modules`,
    );
    assert.deepEqual(
      loaded.filter((m) => /undici|http2|zlib|webstreams/.test(m)),
      [],
      'an ES module import of node:http would load them',
    );
  });

  test('without a cluster it says why and exits 1 (text logs load their formatter)', async () => {
    const { code, out } = await start('--log-format=text', '--kubeconfig=/nonexistent/kubeconfig');
    assert.equal(code, 1, out);
    assert.match(out, /kubeconfig not found: \/nonexistent\/kubeconfig/);
    assert.doesNotMatch(out, /ERR_MODULE_NOT_FOUND/);
  });

  test('the bundle finds the malloc_trim addon in dist/native/, and says so when it is not there', async () => {
    const args = ['--kubeconfig=/nonexistent/kubeconfig'];
    const withAddon = await start(...args);
    assert.match(withAddon.out, /kubeconfig not found/, withAddon.out);
    assert.doesNotMatch(withAddon.out, /without malloc_trim/, 'loaded from the bundle in dist/cmd/');
    const addon = join(image, 'dist', mallocTrimAddonInDist);
    renameSync(addon, `${addon}.away`);
    try {
      const without = await start(...args);
      assert.match(without.out, /idle release without malloc_trim/, without.out);
      assert.match(without.out, /malloc-trim\.node was not built/, without.out);
    } finally {
      renameSync(`${addon}.away`, addon);
    }
  });

  test('a kubeconfig with an exec credential plugin loads @kubernetes/client-node', async () => {
    const kubeconfig = join(image, 'exec.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [
          {
            name: 'u',
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: 'sh',
                args: [
                  '-c',
                  'echo \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}\'',
                ],
                interactiveMode: 'Never',
              },
            },
          },
        ],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const probe = join(image, 'probe.mjs');
    writeFileSync(
      probe,
      `import { loadRestConfig } from './dist/runtime/index.js';
const c = await loadRestConfig(${JSON.stringify(kubeconfig)});
console.log(c.source, await c.authorization());`,
    );
    const r = await run(process.execPath, [probe], { cwd: image });
    assert.match(r.stdout, /credential plugin\) Bearer t/);
  });
});
