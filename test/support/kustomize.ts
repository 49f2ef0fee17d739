/** The committed kustomize tree, rendered and applied as `make deploy` does (kubectl's built-in kustomize). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
export const repoRoot = new URL('../..', import.meta.url).pathname;

/** `kubectl kustomize <dir>` (relative to the repository), as YAML text. */
export async function renderKustomize(dir: string): Promise<string> {
  const { stdout } = await run('kubectl', ['kustomize', join(repoRoot, dir)], { maxBuffer: 64 << 20 });
  return stdout;
}

/** The objects of a multi-document YAML text. */
export function objectsOf(yamlText: string): KubeManifest[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as KubeManifest | null)
    .filter((o): o is KubeManifest => o !== null);
}

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** Server-side apply of `yamlText` with kubectl and `kubeconfig`. */
export async function kubectlApply(kubeconfig: string, yamlText: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--field-manager=elasticweb-test', '-f', '-'],
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl apply: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin?.end(yamlText);
  });
}
