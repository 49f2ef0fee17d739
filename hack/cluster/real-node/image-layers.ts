/**
 * How the real node's image layers are made and kept: Debian root file systems (debootstrap in a
 * private mount namespace), small file layers, reproducible tars, and a cache under the cache root
 * where each result is named by a hash of everything it is made from and appears only when whole.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot } from './cache.ts';

const run = promisify(execFile);

/** Debian release and mirror of every root file system here (the mirror can be overridden). */
export const suite = 'bookworm';
const mirror = () => process.env.ELASTICWEB_DEBIAN_MIRROR || 'http://deb.debian.org/debian';

export type Log = (message: string) => void;

/** A short hash of `parts`, for cache names. */
export function key(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** Where built images and layers are cached. */
export function imagesDir(): string {
  return join(cacheRoot(), 'images');
}

/** Runs a command with its output shown only when it fails. */
export async function sh(command: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  try {
    const { stdout } = await run(command, args, { maxBuffer: 64 << 20, ...options });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed: ${e.message}\n${(e.stderr || e.stdout || '').slice(-3000)}`,
    );
  }
}

/** A reproducible uncompressed layer tar of folder `root` (owners kept as numbers, fixed times). */
export async function tarLayer(root: string, out: string): Promise<void> {
  await sh('tar', [
    '--numeric-owner',
    '--sort=name',
    '--mtime=@0',
    '--xattrs',
    '--exclude=./dev/*',
    '--exclude=./proc/*',
    '--exclude=./sys/*',
    '-C',
    root,
    '-cf',
    out,
    '.',
  ]);
}

/**
 * Builds once (per key) what `make` writes into the temporary path it is given, then renames it to
 * `path`: a killed build never leaves a half result under the final name.
 */
export async function cached(path: string, make: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(path)) return path;
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await make(tmp);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return path;
}

/**
 * A Debian minbase root file system with `include` installed, pruned of package caches, docs and
 * locales, as a layer tar. `customize` changes the root before it is packed (its text is part of
 * the key, so a changed recipe is a new layer).
 */
export async function debianLayer(
  name: string,
  include: string[],
  log: Log,
  customize?: { recipe: string; apply: (root: string) => Promise<void> },
): Promise<string> {
  const k = key(suite, 'minbase', include.join(','), 'prune-v1', customize?.recipe ?? '');
  return cached(join(imagesDir(), `debian-${suite}-${name}-${k}.tar`), async (tmp) => {
    const root = `${tmp}.root`;
    const debs = join(imagesDir(), 'debs');
    await mkdir(debs, { recursive: true });
    const started = Date.now();
    log(
      `[images] debootstrap ${suite} minbase${include.length ? ` + ${include.join(', ')}` : ''} (about a minute) ...`,
    );
    // A line every 15 s, so a person watching a cold build sees it move.
    const ticker = setInterval(
      () =>
        log(`[images] ${name}: debootstrap still running, ${Math.round((Date.now() - started) / 1000)} s`),
      15_000,
    );
    try {
      // debootstrap mounts /proc and /sys inside the new root while it installs; in a private mount
      // namespace those mounts end with it, even when it is killed, so removing the folder never
      // reaches into the machine's /proc or /sys.
      await sh('unshare', [
        '--mount',
        '--propagation',
        'private',
        '--',
        'debootstrap',
        '--variant=minbase',
        ...(include.length ? [`--include=${include.join(',')}`] : []),
        `--cache-dir=${debs}`,
        suite,
        root,
        mirror(),
      ]);
      clearInterval(ticker);
      for (const dir of [
        'var/cache/apt/archives',
        'var/lib/apt/lists',
        'usr/share/doc',
        'usr/share/man',
        'usr/share/info',
        'usr/share/locale',
        'var/log',
      ]) {
        for (const entry of await readdir(join(root, dir)).catch(() => [] as string[])) {
          if (entry !== 'partial' && entry !== 'lock')
            await rm(join(root, dir, entry), { recursive: true, force: true });
        }
      }
      await customize?.apply(root);
      await tarLayer(root, tmp);
      log(`[images] ${name} root file system built in ${Math.round((Date.now() - started) / 1000)} s`);
    } finally {
      clearInterval(ticker);
      await rm(root, { recursive: true, force: true });
    }
  });
}

/** A layer tar holding `files` (path inside the image -> content), written with root as owner. */
export async function filesLayer(path: string, files: Record<string, string>): Promise<string> {
  return cached(path, async (tmp) => {
    const root = `${tmp}.root`;
    try {
      for (const [file, content] of Object.entries(files)) {
        await mkdir(join(root, dirname(file)), { recursive: true });
        await writeFile(join(root, file), content);
      }
      await tarLayer(root, tmp);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
}
