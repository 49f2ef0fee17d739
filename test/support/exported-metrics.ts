/**
 * The metric names the operator exports, read from the code rather than listed by hand: the runtime's
 * registry (controller-runtime names, process and Node.js metrics) and the per-object text gauges the
 * controllers declare. Used to check that alerts and dashboards query names that exist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '../../src/runtime/index.ts';

const root = new URL('../..', import.meta.url).pathname;

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** Every series name a scrape can hold (histograms with their _bucket, _sum and _count). */
export async function exportedMetricNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const metrics = new Metrics();
  for (const { name, type } of await metrics.registry.getMetricsAsJSON()) {
    if (String(type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  for (const file of sourceFiles(join(root, 'src/controllers'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/new TextGauge\(\s*'([\w:]+)'/g))
      names.add(m[1] as string);
  }
  return names;
}
