/**
 * How the image starts the operator, read from the Dockerfile's ENTRYPOINT, so that the benchmark,
 * the tests and `make run` start it with the same node flags as production, from one line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

export interface Entrypoint {
  /** Flags for node itself, e.g. --max-semi-space-size=2. */
  nodeArgs: string[];
  /** The built script, relative to the repository (as to the image's /app). */
  script: string;
}

export function imageEntrypoint(dockerfile = join(root, 'Dockerfile')): Entrypoint {
  const line = readFileSync(dockerfile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '));
  if (!line) throw new Error(`${dockerfile} has no ENTRYPOINT`);
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  const [node, ...rest] = argv;
  if (!node?.endsWith('/node')) throw new Error(`the ENTRYPOINT does not start node: ${line}`);
  const script = rest.at(-1);
  if (!script?.endsWith('.js')) throw new Error(`the ENTRYPOINT does not end with the script: ${line}`);
  return { nodeArgs: rest.slice(0, -1), script };
}

/** The source file the built script comes from (dist/x.js <- src/x.ts), for runs without a build. */
export function sourceOf(script: string): string {
  return script.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
}
