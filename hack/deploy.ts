/**
 * `make deploy IMG=<image>`: applies config/default with the manager image set to IMG, as kubebuilder's
 * `kustomize edit set image controller=${IMG}` does, without editing committed files: a throwaway
 * overlay in a temporary folder sets the image. Uses kubectl's built-in kustomize and the current kubeconfig.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Splits an image reference into name and tag/digest, minding registry ports ("host:5000/img"). */
export function splitImage(image: string): { newName: string; newTag?: string; digest?: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { newName: image.slice(0, at), digest: image.slice(at + 1) };
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > lastSlash) return { newName: image.slice(0, colon), newTag: image.slice(colon + 1) };
  return { newName: image };
}

function main(): void {
  const image = process.argv[2];
  if (!image) {
    console.error('usage: node hack/deploy.ts <image>   (make deploy IMG=<image>)');
    process.exit(2);
  }
  const overlay = mkdtempSync(join(tmpdir(), 'elasticweb-deploy-'));
  try {
    const img = splitImage(image);
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      [
        'resources:',
        `  - ${relative(overlay, join(root, 'config/default'))}`,
        'images:',
        '  - name: controller',
        `    newName: ${img.newName}`,
        ...(img.newTag ? [`    newTag: "${img.newTag}"`] : []),
        ...(img.digest ? [`    digest: ${img.digest}`] : []),
        '',
      ].join('\n'),
    );
    const manifests = execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
    execFileSync('kubectl', ['apply', '--server-side', '--field-manager=elasticweb-deploy', '-f', '-'], {
      input: manifests,
      stdio: ['pipe', 'inherit', 'inherit'],
    });
  } finally {
    rmSync(overlay, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
