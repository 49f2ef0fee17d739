/**
 * The alerting rules as promtool needs them: the PrometheusRule in config/prometheus/alerts.yaml is
 * the one source; its spec.groups are written as a plain rule file next to a copy of the promtool
 * tests, in a temporary folder, so the rules tested are always the rules shipped.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const root = new URL('../..', import.meta.url).pathname;
export const alertsFile = join(root, 'config/prometheus/alerts.yaml');
export const promtoolTests = join(root, 'test/alerts/alerts.test.yaml');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroups {
  groups: { name: string; rules: AlertRule[] }[];
}

/** spec.groups of the PrometheusRule. */
export function ruleGroups(): RuleGroups {
  const rule = parse(readFileSync(alertsFile, 'utf8')) as { kind: string; spec: RuleGroups };
  if (rule.kind !== 'PrometheusRule') throw new Error(`${alertsFile} is not a PrometheusRule`);
  return { groups: rule.spec.groups };
}

export function alertRules(groups = ruleGroups()): AlertRule[] {
  return groups.groups.flatMap((g) => g.rules);
}

/** Runs promtool; resolves with its exit code and output (never rejects on a non-zero exit). */
export function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile('promtool', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, output: stdout + stderr });
    });
  });
}

/**
 * Writes `groups` to rules.yaml and the promtool tests beside it, runs `promtool test rules`, and
 * removes the folder.
 */
export async function testRules(groups: RuleGroups): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'elasticweb-alerts-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify(groups));
    copyFileSync(promtoolTests, join(dir, 'alerts.test.yaml'));
    return await promtool('test', 'rules', join(dir, 'alerts.test.yaml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `promtool check rules` on the extracted groups. */
export async function checkRules(groups: RuleGroups): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'elasticweb-alerts-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify(groups));
    return await promtool('check', 'rules', join(dir, 'rules.yaml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
