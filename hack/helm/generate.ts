/**
 * `make helm`: writes the Helm chart to dist/chart from the kustomize tree (hack/helm/chart.ts).
 *   node hack/helm/generate.ts              write dist/chart (files it no longer makes are removed)
 *   node hack/helm/generate.ts --out DIR    write it to DIR instead
 *   node hack/helm/generate.ts --check      exit 1 when dist/chart differs from what would be written
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { chartFiles } from './chart.ts';

const root = join(import.meta.dirname, '../..');
export const chartDir = join(root, 'dist/chart');

/** Every file under `dir`, relative to it. */
export function filesUnder(dir: string): string[] {
  let out: string[] = [];
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      out = out.concat(e.isDirectory() ? filesUnder(path).map((f) => join(e.name, f)) : [e.name]);
    }
  } catch {
    // no such folder yet
  }
  return out.sort();
}

/** Writes the chart to `dir`, removing what is there first. */
export function writeChart(dir: string, files = chartFiles()): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** Paths that differ between `dir` and a fresh generation (missing, extra or changed). */
export function staleFiles(dir: string, files = chartFiles()): string[] {
  const present = filesUnder(dir);
  const wanted = Object.keys(files).sort();
  const stale = new Set([
    ...present.filter((p) => !(p in files)),
    ...wanted.filter((p) => !present.includes(p)),
  ]);
  for (const p of wanted) {
    if (present.includes(p) && readFileSync(join(dir, p), 'utf8') !== files[p]) stale.add(p);
  }
  return [...stale].sort();
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const dir = outIndex >= 0 ? (args[outIndex + 1] as string) : chartDir;
  if (args.includes('--check')) {
    const stale = staleFiles(dir);
    for (const p of stale) console.error(`${relative(root, join(dir, p))} is out of date: run make helm`);
    process.exit(stale.length > 0 ? 1 : 0);
  }
  writeChart(dir);
  console.log(`wrote ${relative(root, dir) || dir} (${filesUnder(dir).length} files)`);
}
