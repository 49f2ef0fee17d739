/**
 * The operator's own image, built from the project's Dockerfile without a Docker engine: Debian's
 * buildah, with the Dockerfile's base-image arguments pointing at the local Node base (images.ts),
 * written as an OCI layout the real node imports. Cached by everything the image is made of.
 *
 * How the build differs from `docker build` (and why), nothing else:
 *  - buildah keeps its storage in a temporary folder and runs in a private mount namespace
 *    (unshare), so no overlay mount or image store outlives the build;
 *  - RUN steps use chroot isolation with the host's network, so `npm ci` reaches the npm registry,
 *    trusting the host's CA bundle (mounted read-only, and named in an npmrc only those steps see)
 *    in case the registry is reached through a TLS-inspecting proxy.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot } from './cache.ts';
import { imageNames, nodeBaseImage } from './images.ts';
import type { ImageLayout } from './oci-image.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');

/** The name `make deploy IMG=elasticweb-operator:local` uses (a non-latest tag: pulled only if absent). */
export const operatorImageName = 'docker.io/library/elasticweb-operator:local';

/** Everything the Dockerfile reads from the build context, as the key of the cached image. */
function contextKey(): string {
  const hash = createHash('sha256');
  const files = [
    'Dockerfile',
    '.dockerignore',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
  ];
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [relative(root, join(dir, e.name))],
    );
  for (const file of [
    ...files,
    ...walk(join(root, 'src')).sort(),
    ...walk(join(root, 'hack/build')).sort(),
  ]) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(root, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

type Log = (message: string) => void;

/** Runs buildah with a private mount namespace and the given storage; output shown on failure. */
async function buildah(storage: string, args: string[], log?: Log): Promise<string> {
  const argv = [
    '--mount',
    '--propagation',
    'private',
    '--',
    'buildah',
    '--root',
    join(storage, 'root'),
    '--runroot',
    join(storage, 'run'),
    '--storage-driver',
    'overlay',
    ...args,
  ];
  try {
    const { stdout, stderr } = await run('unshare', argv, { maxBuffer: 256 << 20 });
    if (log)
      for (const line of `${stdout}${stderr}`.split('\n').filter((l) => /^STEP|^COMMIT/.test(l)))
        log(`[image] ${line}`);
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `buildah ${args[0]} failed: ${e.message.split('\n')[0]}\n${`${e.stdout ?? ''}${e.stderr ?? ''}`.slice(-4000)}`,
    );
  }
}

/**
 * Builds (or finds cached) the operator image under `name` and returns its OCI layout. Minutes on a
 * cold cache (npm ci twice inside the build, as the Dockerfile says); seconds when cached.
 */
export async function operatorImage(log: Log, name = operatorImageName): Promise<ImageLayout> {
  const base = await nodeBaseImage(log);
  const fullName = name.includes('/') ? name : `docker.io/library/${name}`;
  const dir = join(
    cacheRoot(),
    'images',
    `operator-${createHash('sha256').update(`${contextKey()} ${base.dir} ${fullName}`).digest('hex').slice(0, 16)}`,
  );
  if (existsSync(join(dir, 'index.json'))) return { dir, names: [fullName] };

  // Lower case and no dot in any part of the path: buildah names a pulled layout after its path.
  const storage = join(tmpdir(), `elasticweb-buildah-${process.pid}`);
  await rm(storage, { recursive: true, force: true });
  await mkdir(storage, { recursive: true });
  const started = Date.now();
  // buildah (as root) keeps a blob-info cache in /var/lib/containers/cache whatever --root says; a
  // folder it makes only for this build goes with the build.
  const madeBlobCache = !existsSync('/var/lib/containers');
  try {
    log(`[image] building ${fullName} from the Dockerfile with buildah (base ${imageNames.nodeBase})`);
    const policy = join(storage, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const npmrc = join(storage, 'npmrc');
    await writeFile(
      npmrc,
      'cafile=/etc/ssl/certs/ca-certificates.crt\nfund=false\naudit=false\nupdate-notifier=false\n',
    );
    // The base enters buildah's store under its local name; --pull=never keeps it from any registry.
    const tag = imageNames.nodeBase.slice(imageNames.nodeBase.lastIndexOf(':') + 1);
    await symlink(base.dir, join(storage, 'node-base'));
    const id = (
      await buildah(storage, [
        'pull',
        '--signature-policy',
        policy,
        `oci:${join(storage, 'node-base')}:${tag}`,
      ])
    )
      .trim()
      .split('\n')
      .pop() as string;
    await buildah(storage, ['tag', id, imageNames.nodeBase]);
    await buildah(
      storage,
      [
        'bud',
        '--signature-policy',
        policy,
        '--pull=never',
        '--isolation=chroot',
        '--network=host',
        '--format=oci',
        '--build-arg',
        `BUILD_IMAGE=${imageNames.nodeBase}`,
        '--build-arg',
        `RUNTIME_IMAGE=${imageNames.nodeBase}`,
        '--volume',
        '/etc/ssl/certs:/etc/ssl/certs:ro',
        '--volume',
        `${npmrc}:/root/.npmrc:ro`,
        '--tag',
        fullName,
        '--file',
        join(root, 'Dockerfile'),
        root,
      ],
      log,
    );
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await buildah(storage, [
      'push',
      '--signature-policy',
      policy,
      fullName,
      `oci:${tmp}:${fullName.slice(fullName.lastIndexOf(':') + 1)}`,
    ]);
    // containerd names an imported image by this annotation (buildah writes only the tag).
    const indexPath = join(tmp, 'index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    for (const m of index.manifests)
      m.annotations = { ...m.annotations, 'io.containerd.image.name': fullName };
    await writeFile(indexPath, JSON.stringify(index));
    // Older builds of the operator image are of no further use.
    for (const old of readdirSync(join(cacheRoot(), 'images')).filter(
      (d) => d.startsWith('operator-') && !d.includes('.tmp-'),
    )) {
      await rm(join(cacheRoot(), 'images', old), { recursive: true, force: true });
    }
    await rename(tmp, dir);
    log(
      `[image] ${fullName} built in ${Math.round((Date.now() - started) / 1000)} s (${Math.round(dirSize(dir) / 1e6)} MB)`,
    );
    return { dir, names: [fullName] };
  } finally {
    await rm(storage, { recursive: true, force: true });
    if (madeBlobCache) await rm('/var/lib/containers', { recursive: true, force: true });
  }
}

function dirSize(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0);
}
