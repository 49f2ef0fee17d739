/**
 * Where helm is, building it first when missing (hack/helm/build.sh owns the version and the cache;
 * a cold build takes minutes and prints its progress to stderr).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const buildScript = join(import.meta.dirname, 'build.sh');
const pathIn = (output: string) => /^HELM=(.+)$/m.exec(output)?.[1];

let cached: Promise<string> | undefined;

export function ensureHelm(): Promise<string> {
  cached ??= (async () => {
    const { stdout } = await promisify(execFile)('bash', [buildScript, '--print']);
    const path = pathIn(stdout);
    if (path && existsSync(path)) return path;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('bash', [buildScript], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk;
      });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`${buildScript} failed (${code})`)),
      );
    });
    const built = pathIn(out);
    if (!built || !existsSync(built)) throw new Error(`${buildScript} finished but helm is missing`);
    return built;
  })();
  return cached;
}
