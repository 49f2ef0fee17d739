/**
 * The generated manifests match their TypeScript source (a stale CRD or Role YAML fails here), and
 * the ElasticWeb CRD has the shape kubectl users and the API server expect.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { generatedManifests } from '../../hack/manifests/manifests.ts';
import { elasticWebCrd } from '../../src/api/v1/crd.ts';

type Schema = Record<string, unknown> & {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
};

const repoRoot = new URL('../../', import.meta.url);

const crd = elasticWebCrd();
const version = crd.spec.versions[0];
assert.ok(version);
const root = version.schema.openAPIV3Schema as unknown as Schema;
const specSchema = root.properties?.spec as Schema;
const statusSchema = root.properties?.status as Schema;

/** Every sub-schema with its path. */
function* walk(schema: Schema, path: string): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, child] of Object.entries(schema.properties ?? {})) yield* walk(child, `${path}.${name}`);
  if (schema.items) yield* walk(schema.items, `${path}[]`);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
    yield* walk(schema.additionalProperties, `${path}{}`);
  for (const key of ['anyOf', 'allOf', 'oneOf'] as const) {
    const list = schema[key];
    if (Array.isArray(list))
      for (const [i, s] of list.entries()) yield* walk(s as Schema, `${path}<${key}${i}>`);
  }
}

describe('generated manifests', () => {
  const manifests = Object.entries(generatedManifests());

  test('there is at least the CRD', () => {
    assert.ok(manifests.some(([path]) => path.startsWith('config/crd/bases/')));
  });

  for (const [path, content] of manifests) {
    test(`${path} is up to date with its source (run npm run manifests if not)`, () => {
      const committed = readFileSync(new URL(path, repoRoot), 'utf8');
      assert.equal(committed, content);
    });
  }

  test('the CRD file holds exactly elasticWebCrd()', () => {
    const [path] = manifests.find(([p]) => p.startsWith('config/crd/bases/')) ?? [];
    assert.ok(path);
    assert.deepEqual(parse(readFileSync(new URL(path, repoRoot), 'utf8')), JSON.parse(JSON.stringify(crd)));
  });
});

describe('elasticWebCrd', () => {
  test('names: kind ElasticWeb, plural elasticwebs, short name ew, namespaced', () => {
    assert.equal(crd.metadata.name, 'elasticwebs.elasticweb.example.com');
    assert.equal(crd.spec.group, 'elasticweb.example.com');
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual(crd.spec.names, {
      kind: 'ElasticWeb',
      listKind: 'ElasticWebList',
      plural: 'elasticwebs',
      singular: 'elasticweb',
      shortNames: ['ew'],
    });
  });

  test('one version, v1, served and stored, with the status subresource', () => {
    assert.equal(crd.spec.versions.length, 1);
    assert.equal(version.name, 'v1');
    assert.equal(version.served, true);
    assert.equal(version.storage, true);
    assert.deepEqual(version.subresources, { status: {} });
  });

  test('kubectl get shows Image, Total-QPS, Real-QPS, Observed-QPS, Ready, Age; -o wide adds Port, Mode and Single-Pod-QPS', () => {
    const columns = version.additionalPrinterColumns as { name: string; priority?: number }[];
    assert.deepEqual(
      columns.filter((c) => (c.priority ?? 0) === 0).map((c) => c.name),
      ['Image', 'Total-QPS', 'Real-QPS', 'Observed-QPS', 'Ready', 'Age'],
    );
    assert.deepEqual(
      columns.filter((c) => c.priority === 1).map((c) => c.name),
      ['Port', 'Mode', 'Single-Pod-QPS'],
    );
    assert.equal(columns.length, 9);
  });

  test('every printer column points at a field of the schema with a matching type', () => {
    for (const column of version.additionalPrinterColumns as {
      name: string;
      type: string;
      jsonPath: string;
    }[]) {
      if (column.jsonPath.startsWith('.metadata.')) {
        assert.equal(column.type, 'date', column.name);
        continue;
      }
      const [section, field] = column.jsonPath.slice(1).split('.');
      const schema = root.properties?.[section as string]?.properties?.[field as string];
      assert.ok(schema, `${column.name}: ${column.jsonPath} is in the schema`);
      assert.equal(schema.type, column.type, `${column.name}: column type`);
    }
  });

  test('spec requires image and singlePodsQPS, and the object requires spec', () => {
    assert.deepEqual(root.required, ['spec']);
    assert.deepEqual([...((specSchema.required as string[]) ?? [])].sort(), ['image', 'singlePodsQPS']);
  });

  test('every property of spec and status has a description (kubectl explain shows it)', () => {
    const missing: string[] = [];
    for (const [top, schema] of [
      ['spec', specSchema],
      ['status', statusSchema],
    ] as const) {
      for (const [path, s] of walk(schema, top)) {
        // Alternatives, map values and list items are not properties; the properties inside items are.
        if (/<|\{\}|\[\]$/.test(path)) continue;
        if (!s.description) missing.push(path);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('the schema has no TypeBox-only keywords: no patternProperties, const, $id, $ref, and anyOf only for int-or-string', () => {
    const problems: string[] = [];
    for (const [path, s] of walk(root, 'openAPIV3Schema')) {
      for (const key of [
        'patternProperties',
        'const',
        '$id',
        '$ref',
        '$schema',
        'allOf',
        'oneOf',
        'not',
        'examples',
      ]) {
        if (key in s) problems.push(`${path}: ${key}`);
      }
      if ('anyOf' in s && s['x-kubernetes-int-or-string'] !== true) problems.push(`${path}: anyOf`);
      for (const key of Object.keys(s))
        if (key.startsWith('$') || key.startsWith('~')) problems.push(`${path}: ${key}`);
    }
    assert.deepEqual(problems, []);
  });

  test('the schema is structural: every node has a type unless it is int-or-string, and no node has both properties and additionalProperties', () => {
    const problems: string[] = [];
    for (const [path, s] of walk(root, 'openAPIV3Schema')) {
      if (path.includes('<anyOf')) continue;
      if (s.type === undefined && s['x-kubernetes-int-or-string'] !== true) problems.push(`${path}: no type`);
      if (s.properties && s.additionalProperties)
        problems.push(`${path}: properties and additionalProperties`);
    }
    assert.deepEqual(problems, []);
  });

  test('defaults lie within their own bounds', () => {
    for (const [path, s] of walk(specSchema, 'spec')) {
      if (!('default' in s) || typeof s.default !== 'number') continue;
      if (typeof s.minimum === 'number') assert.ok(s.default >= s.minimum, path);
      if (typeof s.maximum === 'number') assert.ok(s.default <= s.maximum, path);
    }
    assert.equal(specSchema.properties?.containerPort?.default, 80);
    assert.equal(specSchema.properties?.maxReplicas?.default, 100);
  });

  test('the quantity pattern accepts what the API server accepts and refuses garbage', () => {
    const requests = specSchema.properties?.resources?.properties?.requests as Schema;
    const quantity = requests.additionalProperties as Schema;
    const pattern = new RegExp(quantity.pattern as string);
    for (const ok of ['100m', '0.5', '.5', '512Mi', '1Gi', '1e3', '1E-3', '+1', '2'])
      assert.match(ok, pattern, ok);
    for (const bad of ['', 'abc', '1 Gi', '1KI', '1K', '--1']) assert.doesNotMatch(bad, pattern, bad);
  });

  test('the name rule allows DNS-1035 labels of at most 63 characters only', () => {
    const rule = (root['x-kubernetes-validations'] as { rule: string }[] | undefined)?.[0]?.rule ?? '';
    const regex = /matches\('([^']+)'\)/.exec(rule)?.[1];
    assert.ok(regex, `a matches() in ${rule}`);
    assert.match(rule, /size\(\) <= 63/);
    const re = new RegExp(regex);
    for (const ok of ['web', 'my-web-1', 'a']) assert.match(ok, re, ok);
    for (const bad of ['1web', 'my.web', 'Web', 'web-', '-web']) assert.doesNotMatch(bad, re, bad);
  });
});
