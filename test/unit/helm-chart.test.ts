/**
 * The committed Helm chart (dist/chart) is what `make helm` makes from the kustomize tree today:
 * regenerated into a temporary folder, every file is byte-for-byte the committed one. A chart edited
 * by hand, or a config/ change without `make helm`, fails here. test/e2e/helm.test.ts installs it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { chartFiles } from '../../hack/helm/chart.ts';
import { chartDir, filesUnder, staleFiles, writeChart } from '../../hack/helm/generate.ts';
import { leaves, valuesTree } from '../../hack/helm/values.ts';

describe('dist/chart', () => {
  const fresh = mkdtempSync(join(tmpdir(), 'elasticweb-chart-'));
  after(() => rmSync(fresh, { recursive: true, force: true }));
  const files = chartFiles();
  writeChart(fresh, files);

  test('a fresh generation has the same files as the committed chart (run make helm if not)', () => {
    assert.deepEqual(filesUnder(chartDir), filesUnder(fresh));
  });

  for (const path of Object.keys(files).sort()) {
    test(`${path} is up to date (run make helm if not)`, () => {
      assert.equal(readFileSync(join(chartDir, path), 'utf8'), readFileSync(join(fresh, path), 'utf8'));
    });
  }

  test('the check notices a hand edit, a missing file and an extra one', () => {
    const copy = mkdtempSync(join(tmpdir(), 'elasticweb-chart-edited-'));
    try {
      writeChart(copy, files);
      assert.deepEqual(staleFiles(copy, files), []);
      writeFileSync(join(copy, 'values.yaml'), `${files['values.yaml']}# edited\n`);
      rmSync(join(copy, 'Chart.yaml'));
      writeFileSync(join(copy, 'templates/extra.yaml'), 'kind: ConfigMap\n');
      assert.deepEqual(staleFiles(copy, files), ['Chart.yaml', 'templates/extra.yaml', 'values.yaml']);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('the CRD is in crds/, every other object a template, and no Namespace', () => {
    const paths = Object.keys(files);
    assert.deepEqual(
      paths.filter((p) => p.startsWith('crds/')),
      ['crds/elasticwebs.elasticweb.example.com.yaml'],
    );
    assert.ok(!paths.some((p) => /namespace-/.test(p)));
    for (const kind of ['deployment', 'serviceaccount', 'clusterrole', 'servicemonitor', 'prometheusrule'])
      assert.ok(
        paths.some((p) => p.startsWith(`templates/${kind}-`)),
        kind,
      );
  });

  test('docs/observability.md lists every value', () => {
    const docs = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
    const tree = valuesTree({
      image: { repository: '', tag: '' },
      replicas: 1,
      leaderElection: true,
      resources: {},
      metricsPort: 0,
      metricsSecure: true,
      maxConcurrentReconciles: 1,
      logLevel: '',
      logFormat: '',
      runbookBaseURL: '',
    });
    for (const [path] of leaves(tree))
      assert.ok(docs.includes(`\`${path}\``), `${path} is in the values table`);
  });
});
