/**
 * The architecture, checked: imports flow one way (cmd -> controllers -> api, and everything ->
 * runtime), the runtime is a package with one entry point (src/runtime/index.ts) that nothing outside
 * it reaches past, and the runtime knows nothing of ElasticWeb (no import out of it, no name of ours).
 * Only the runtime's own unit tests (test/unit, test/runtime) may import its internals.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';

const root = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir))) {
    if (entry === 'node_modules' || entry === 'results') continue;
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (entry.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Relative import targets of a file, resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g)].map(
    (m) => m[1] as string,
  );
  const dynamic = [...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] as string);
  return [...specs, ...dynamic]
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(root, resolve(root, dirname(file), s)));
}

const inside = (file: string, dir: string) => file === dir || file.startsWith(`${dir}/`);

describe('import boundaries', () => {
  test('code outside the runtime imports it only through src/runtime/index.ts', () => {
    const outside = [...sources('src'), ...sources('hack'), ...sources('bench'), ...sources('test')].filter(
      (f) => !inside(f, 'src/runtime') && !inside(f, 'test/unit') && !inside(f, 'test/runtime'),
    );
    const deep = outside.flatMap((f) =>
      importsOf(f)
        .filter((target) => inside(target, 'src/runtime') && target !== 'src/runtime/index.ts')
        .map((target) => `${f} -> ${target}`),
    );
    assert.deepEqual(deep, []);
  });

  test('the runtime imports nothing outside itself, and names nothing of ElasticWeb', () => {
    const files = sources('src/runtime');
    assert.ok(files.length > 20, 'the runtime has its files');
    const leaving = files.flatMap((f) =>
      importsOf(f)
        .filter((target) => !inside(target, 'src/runtime'))
        .map((target) => `${f} -> ${target}`),
    );
    assert.deepEqual(leaving, []);
    const named = files.filter((f) => {
      // String literals only: comments may give ElasticWeb as an example.
      const code = readFileSync(join(root, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      return /['"`][^'"`\n]*elasticweb[^'"`\n]*['"`]/i.test(code);
    });
    assert.deepEqual(named, []);
  });

  test('one way: api imports neither controllers nor cmd; controllers do not import cmd', () => {
    const offending = [
      ...sources('src/api').flatMap((f) =>
        importsOf(f)
          .filter((t) => inside(t, 'src/controllers') || inside(t, 'src/cmd'))
          .map((t) => `${f} -> ${t}`),
      ),
      ...sources('src/controllers').flatMap((f) =>
        importsOf(f)
          .filter((t) => inside(t, 'src/cmd'))
          .map((t) => `${f} -> ${t}`),
      ),
    ];
    assert.deepEqual(offending, []);
  });

  test('native code is a leaf: the entry point loads it, the build writes it', () => {
    const leaving = sources('src/native').flatMap((f) =>
      importsOf(f)
        .filter((t) => inside(t, 'src') && !inside(t, 'src/native'))
        .map((t) => `${f} -> ${t}`),
    );
    assert.deepEqual(leaving, []);
    const loaders = [...sources('src'), ...sources('hack'), ...sources('bench')].filter(
      (f) => !inside(f, 'src/native') && importsOf(f).some((t) => inside(t, 'src/native')),
    );
    assert.deepEqual(loaders, ['src/cmd/elasticweb-operator.ts', 'hack/build/native.ts']);
  });

  test('the checks see imports at all (a parser that found none would pass everything)', () => {
    assert.ok(importsOf('src/cmd/elasticweb-operator.ts').includes('src/runtime/index.ts'));
    assert.ok(importsOf('src/runtime/index.ts').includes('src/runtime/manager/manager.ts'));
  });
});
