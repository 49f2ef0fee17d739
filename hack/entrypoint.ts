/**
 * How the image starts the operator, read from the Dockerfile's ENTRYPOINT and its final stage's ENV
 * lines, so that the benchmark, the tests and `make run` start it with the same node flags and
 * environment as production, from one place.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

export interface Entrypoint {
  /** Flags for node itself, e.g. --max-semi-space-size=2. */
  nodeArgs: string[];
  /** The built script, relative to the repository (as to the image's /app). */
  script: string;
  /** The environment the image's final stage sets (ENV lines after the last FROM), e.g. MALLOC_ARENA_MAX. */
  env: Record<string, string>;
}

export function imageEntrypoint(dockerfile = join(root, 'Dockerfile')): Entrypoint {
  const lines = readFileSync(dockerfile, 'utf8').split('\n');
  const line = lines.find((l) => l.startsWith('ENTRYPOINT '));
  if (!line) throw new Error(`${dockerfile} has no ENTRYPOINT`);
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  const [node, ...rest] = argv;
  if (!node?.endsWith('/node')) throw new Error(`the ENTRYPOINT does not start node: ${line}`);
  const script = rest.at(-1);
  if (!script?.endsWith('.js')) throw new Error(`the ENTRYPOINT does not end with the script: ${line}`);
  return { nodeArgs: rest.slice(0, -1), script, env: finalStageEnv(lines) };
}

/** `ENV KEY=value [KEY=value ...]` lines after the last FROM (unquoted values: all this Dockerfile uses). */
function finalStageEnv(lines: string[]): Record<string, string> {
  const lastFrom = lines.findLastIndex((l) => l.startsWith('FROM '));
  const env: Record<string, string> = {};
  for (const l of lines.slice(lastFrom + 1)) {
    if (!l.startsWith('ENV ')) continue;
    for (const pair of l.slice('ENV '.length).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0 || /["'\\$]/.test(pair))
        throw new Error(`an ENV line this reader does not understand: ${l}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The source file the built script comes from (dist/x.js <- src/x.ts), for runs without a build. */
export function sourceOf(script: string): string {
  return script.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
}
