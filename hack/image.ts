/**
 * `make docker-build` on a machine with no Docker engine (CONTAINER_TOOL=buildah):
 *
 *   npm run image -- [IMG]
 *
 * builds the operator's image from the Dockerfile with buildah on the local Node base (no registry;
 * hack/cluster/real-node/operator-image.ts), keeps it in the local cache, and, when a local cluster
 * with a real node runs (npm run cluster -- up --real), imports it into that node so that
 * `make deploy IMG=...` runs it. IMG defaults to elasticweb-operator:local; use a tag other than
 * `latest` (a `latest` image is pulled on every start, and there is no registry to pull from).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { importLayout } from './cluster/real-node/containerd.ts';
import { operatorImage, operatorImageName } from './cluster/real-node/operator-image.ts';

const root = resolve(import.meta.dirname, '..');
const name = process.argv[2] || operatorImageName;
if (name.endsWith(':latest') || !/:[^/]+$/.test(name)) {
  console.error(
    `warning: ${name} has the tag latest (or none), which the kubelet always tries to pull; no registry serves it, so deploy with another tag (e.g. IMG=elasticweb-operator:local)`,
  );
}
const layout = await operatorImage((m) => console.log(m), name);
console.log(`${layout.names[0]} is in ${layout.dir} (an OCI image layout)`);

const statePath = join(root, '.cluster', 'state.json');
if (existsSync(statePath)) {
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { mode: string; dir: string };
  const socket = join(state.dir, 'node', 'containerd', 'containerd.sock');
  if (state.mode === 'real' && existsSync(socket)) {
    await importLayout(socket, layout);
    console.log(`imported into the running real node: make deploy IMG=${name}`);
  }
}
