/**
 * The images a real node runs, built here with no registry, cached under the cache root keyed by
 * everything they are made from, and imported into the node's containerd at start:
 *
 *  - the pause image: Kubernetes' own build/pause/linux/pause.c (from the module cache), gcc -static;
 *  - local stand-ins for docker.io/library/nginx:1.17.1 and :1.17.2: Debian's nginx-light on a
 *    debootstrap minbase root, with nginx.conf from ./nginx (port 80, stub_status on 8080, X-Pod
 *    header); the two tags differ in a label and in /var/www/html/version.txt, so their image IDs
 *    differ and a rollout from one to the other really replaces the pods;
 *  - a Node 24 base (Debian minbase + the node binary of the npm package `node` + npm), which the
 *    operator's Dockerfile is built on locally (see operator-image.ts).
 *
 * Each result is an OCI image layout folder (oci-image.ts), made of layers that image-layers.ts
 * builds and caches; containerd.ts imports them. Building needs root (debootstrap, chroot) and the
 * Debian packages of packages.sh.
 */
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  cached,
  debianLayer,
  filesLayer,
  imagesDir,
  key,
  type Log,
  sh,
  suite,
  tarLayer,
} from './image-layers.ts';
import { type ImageLayout, type OciImageSpec, writeOciLayout } from './oci-image.ts';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

/** The pause release Kubernetes' build/pause/Makefile tags (TAG ?= 3.10.2 in v1.37.2). */
const pauseTag = '3.10.2';
/** npm inside the Node base image (the npm package `node` brings only the node binary). */
export const npmVersion = '11.19.1';

/** The names the node's images are imported under. */
export const imageNames = {
  pause: `registry.k8s.io/pause:${pauseTag}`,
  nginx: ['docker.io/library/nginx:1.17.1', 'docker.io/library/nginx:1.17.2'],
  nodeBase: `localhost/elasticweb/node:${process.versions.node}`,
  /** The exporter sidecar of Observed mode (src/api/v1/elasticweb.ts defaults.exporter.image). */
  nginxExporter: 'docker.io/nginx/nginx-prometheus-exporter:0.11.0',
} as const;

/** The module folder of k8s.io/kubernetes that hack/cluster/k8s/go.mod pins (downloaded if needed). */
async function kubernetesModuleDir(): Promise<string> {
  const out = await sh('go', ['mod', 'download', '-json', 'k8s.io/kubernetes'], {
    cwd: join(here, '..', 'k8s'),
  });
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  if (!dir) throw new Error('go mod download gave no folder for k8s.io/kubernetes');
  return dir;
}

/** registry.k8s.io/pause: pause.c compiled statically, run as 65535 as upstream does. */
export async function pauseImage(log: Log): Promise<ImageLayout> {
  const source = join(await kubernetesModuleDir(), 'build', 'pause', 'linux', 'pause.c');
  const code = readFileSync(source);
  const gcc = await sh('gcc', ['--version']);
  const dir = join(imagesDir(), `pause-${pauseTag}-${key(code, gcc)}`);
  await cached(dir, async (tmp) => {
    log(`[images] compiling ${imageNames.pause} from ${source}`);
    const root = `${tmp}.root`;
    await mkdir(root, { recursive: true });
    try {
      // The flags of Kubernetes' build/pause/Makefile.
      await sh('gcc', [
        '-Os',
        '-Wall',
        '-Werror',
        '-static',
        `-DVERSION=v${pauseTag}-elasticweb`,
        '-o',
        join(root, 'pause'),
        source,
      ]);
      await tarLayer(root, `${tmp}.layer`);
      await writeOciLayout(tmp, [
        {
          name: imageNames.pause,
          layers: [`${tmp}.layer`],
          config: { Entrypoint: ['/pause'], User: '65535:65535' },
        },
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(`${tmp}.layer`, { force: true });
    }
  });
  return { dir, names: [imageNames.pause] };
}

/** The local stand-ins for nginx:1.17.1 and nginx:1.17.2 (see ./nginx/nginx.conf for what they allow). */
export async function nginxImages(log: Log): Promise<ImageLayout> {
  const conf = readFileSync(join(here, 'nginx', 'nginx.conf'), 'utf8');
  const base = await debianLayer('nginx-light', ['nginx-light'], log, {
    // Debian's default site would also listen on 80; nginx.conf (its own layer) defines the servers.
    recipe: 'rm sites-enabled/default',
    apply: (root) => rm(join(root, 'etc/nginx/sites-enabled/default'), { force: true }),
  });
  const dir = join(imagesDir(), `nginx-${key(base, conf, imageNames.nginx.join(','))}`);
  await cached(dir, async (tmp) => {
    const layers = `${tmp}.layers`;
    await mkdir(layers, { recursive: true });
    try {
      const confLayer = await filesLayer(join(layers, 'conf.tar'), { 'etc/nginx/nginx.conf': conf });
      const specs: OciImageSpec[] = [];
      for (const name of imageNames.nginx) {
        const tag = name.slice(name.lastIndexOf(':') + 1);
        const tagLayer = await filesLayer(join(layers, `${tag}.tar`), {
          'var/www/html/version.txt': `${tag}\n`,
        });
        specs.push({
          name,
          layers: [base, confLayer, tagLayer],
          config: {
            Cmd: ['nginx', '-g', 'daemon off;'],
            ExposedPorts: { '80/tcp': {}, '8080/tcp': {} },
            // nginx stops gracefully (finishes open requests) on SIGQUIT, as upstream's image says.
            StopSignal: 'SIGQUIT',
            Labels: {
              'org.opencontainers.image.version': tag,
              'org.opencontainers.image.description': `Local stand-in for ${name}: Debian ${suite} nginx-light, built by hack/cluster/real-node`,
            },
          },
        });
      }
      await writeOciLayout(tmp, specs);
    } finally {
      await rm(layers, { recursive: true, force: true });
    }
  });
  return { dir, names: [...imageNames.nginx] };
}

/**
 * A local stand-in for nginx/nginx-prometheus-exporter:0.11.0: Debian's package of that very release
 * (prometheus-nginx-exporter 0.11.0) on a minbase root. It reads stub_status and serves
 * nginx_http_requests_total; it runs as nobody (65534).
 */
export async function nginxExporterImage(log: Log): Promise<ImageLayout> {
  const layer = await debianLayer('nginx-exporter', ['prometheus-nginx-exporter'], log, {
    recipe: 'exporter v1',
    apply: async () => {},
  });
  const dir = join(imagesDir(), `nginx-exporter-${key(layer, imageNames.nginxExporter)}`);
  await cached(dir, (tmp) =>
    writeOciLayout(tmp, [
      {
        name: imageNames.nginxExporter,
        layers: [layer],
        config: {
          Entrypoint: ['/usr/bin/prometheus-nginx-exporter'],
          User: '65534:65534',
          ExposedPorts: { '9113/tcp': {} },
          Labels: {
            'org.opencontainers.image.version': '0.11.0',
            'org.opencontainers.image.description': `Local stand-in for ${imageNames.nginxExporter}: Debian ${suite} prometheus-nginx-exporter, built by hack/cluster/real-node`,
          },
        },
      },
    ]),
  );
  return { dir, names: [imageNames.nginxExporter] };
}

/** The node binary this process runs (Node 24 from the npm package `node`), with its real path. */
function nodeBinary(): string {
  return realpathSync(process.execPath);
}

/**
 * Debian minbase + Node (/usr/local/bin/node, also at /nodejs/bin/node where the distroless
 * image keeps it) + npm, with the distroless `nonroot` user (65532). The operator's Dockerfile uses
 * it locally for all three stages.
 */
export async function nodeBaseImage(log: Log): Promise<ImageLayout> {
  const node = nodeBinary();
  const nodeKey = `${process.version} ${readFileSync(node).length}`;
  const layer = await debianLayer('node', ['ca-certificates'], log, {
    recipe: `node ${nodeKey} npm ${npmVersion} nonroot 65532 v1`,
    apply: async (root) => {
      await mkdir(join(root, 'usr/local/bin'), { recursive: true });
      await copyFile(node, join(root, 'usr/local/bin/node'));
      await chmod(join(root, 'usr/local/bin/node'), 0o755);
      await mkdir(join(root, 'nodejs/bin'), { recursive: true });
      await symlink('/usr/local/bin/node', join(root, 'nodejs/bin/node'));
      // npm as the official node images lay it out, from the npm registry's own package.
      const packDir = await mkdtemp(join(imagesDir(), 'npm-'));
      try {
        log(`[images] npm pack npm@${npmVersion}`);
        const file = (
          await sh('npm', ['pack', `npm@${npmVersion}`, '--silent', '--pack-destination', packDir])
        )
          .trim()
          .split('\n')
          .pop() as string;
        const npmDir = join(root, 'usr/local/lib/node_modules/npm');
        await mkdir(npmDir, { recursive: true });
        await sh('tar', [
          '-xzf',
          join(packDir, file),
          '-C',
          npmDir,
          '--strip-components=1',
          '--no-same-owner',
        ]);
      } finally {
        await rm(packDir, { recursive: true, force: true });
      }
      await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
      await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
      await writeFile(
        join(root, 'etc/passwd'),
        `${readFileSync(join(root, 'etc/passwd'), 'utf8')}nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n`,
      );
      await writeFile(
        join(root, 'etc/group'),
        `${readFileSync(join(root, 'etc/group'), 'utf8')}nonroot:x:65532:\n`,
      );
      await mkdir(join(root, 'home/nonroot'), { recursive: true });
      await run('chown', ['65532:65532', join(root, 'home/nonroot')]);
    },
  });
  const dir = join(imagesDir(), `node-base-${key(layer)}`);
  await cached(dir, (tmp) =>
    writeOciLayout(tmp, [
      {
        name: imageNames.nodeBase,
        layers: [layer],
        config: {
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          Cmd: ['node'],
          Labels: {
            'org.opencontainers.image.description': `Debian ${suite} minbase + Node ${process.version} + npm ${npmVersion}, built by hack/cluster/real-node`,
          },
        },
      },
    ]),
  );
  return { dir, names: [imageNames.nodeBase] };
}

/** The images every real node imports at start: pause, the nginx stand-ins and the exporter. */
export async function nodeImages(log: Log): Promise<ImageLayout[]> {
  return [await pauseImage(log), await nginxImages(log), await nginxExporterImage(log)];
}
