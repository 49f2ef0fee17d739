/**
 * Writes the generated manifests (the CRD; later the RBAC role) from their TypeScript source of truth.
 *   npm run manifests           write them
 *   npm run manifests -- --check  exit 1 if a committed file differs from what would be written
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedManifests } from './manifests.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [path, content] of Object.entries(generatedManifests())) {
  const file = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    console.error(`${path} is out of date: run npm run manifests`);
    stale++;
  } else {
    writeFileSync(file, content);
    console.log(`wrote ${path}`);
  }
}
process.exit(stale > 0 ? 1 : 0);
