/**
 * Writes OCI image layouts from root-filesystem tarballs, with no registry and no image tool, so the
 * real node's images can be made from Debian packages and imported with `ctr images import`.
 *
 * A layout is a folder: `oci-layout`, `index.json` (one manifest per image, named by the annotation
 * containerd reads, `io.containerd.image.name`, plus `org.opencontainers.image.ref.name`) and
 * `blobs/sha256/` (uncompressed layer tars, configs, manifests). Layers are stored once however many
 * images use them, so two tags of one image cost a few bytes more than one.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ImageLayout {
  /** An OCI image layout folder (`ctr images import` takes it as a tar stream). */
  dir: string;
  /** The image names it holds. */
  names: string[];
}

/** The part of an OCI image config a container runtime reads (image-spec "config" object). */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface OciImageSpec {
  /** The full reference manifests use, e.g. `docker.io/library/nginx:1.17.1`. */
  name: string;
  /** Uncompressed layer tarballs, bottom first. */
  layers: string[];
  config: ImageRuntimeConfig;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** sha256 of a file, streamed (layers are 100 MB and more). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Writes one layout holding every image of `images` into `dir` (which must not exist yet; it is
 * written beside and renamed into place, so a crash never leaves a half layout under that name).
 * Layer files are hard-linked into the layout when they are on the same file system, else copied.
 */
export async function writeOciLayout(dir: string, images: OciImageSpec[]): Promise<void> {
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  const blobs = join(tmp, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layerDigests = new Map<string, string>();
  const addBlob = async (mediaType: string, content: string): Promise<Descriptor> => {
    const digest = createHash('sha256').update(content).digest('hex');
    await writeFile(join(blobs, digest), content);
    return { mediaType, digest: `sha256:${digest}`, size: Buffer.byteLength(content) };
  };
  const manifests: Descriptor[] = [];
  for (const image of images) {
    const layers: Descriptor[] = [];
    for (const layer of image.layers) {
      let digest = layerDigests.get(layer);
      if (!digest) {
        digest = await sha256File(layer);
        layerDigests.set(layer, digest);
        await link(layer, join(blobs, digest)).catch(() => copyFile(layer, join(blobs, digest as string)));
      }
      layers.push({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: `sha256:${digest}`,
        size: (await stat(layer)).size,
      });
    }
    const config = await addBlob(
      'application/vnd.oci.image.config.v1+json',
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: image.config,
        // An uncompressed layer's diff id is the digest of the layer itself.
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
        history: layers.map(() => ({ created_by: 'elasticweb hack/cluster/real-node' })),
      }),
    );
    const manifest = await addBlob(
      'application/vnd.oci.image.manifest.v1+json',
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers,
      }),
    );
    manifests.push({
      ...manifest,
      annotations: {
        'io.containerd.image.name': image.name,
        'org.opencontainers.image.ref.name': image.name.slice(image.name.lastIndexOf(':') + 1),
      },
    });
  }
  await writeFile(join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(tmp, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
  );
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}
