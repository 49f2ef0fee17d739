/**
 * The peers the bench compares, and how each is built and started: ours (TypeScript), the
 * best-practice Go peer (bench/peer-go-best, the comparison) and the kubebuilder tutorial's
 * controller (bench/baseline-go, a footnote). Each runs as its Deployment would run it: ours with
 * the image's node flags and the manifest's NODE_OPTIONS, the best-practice peer with GOMEMLIMIT at
 * 90% of the same 512 MiB memory limit, the tutorial's scaffold as generated (no GOMEMLIMIT).
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageEntrypoint } from '../hack/entrypoint.ts';
import type { StatusDone } from './watcher.ts';

export type PeerName = 'ts' | 'go_best' | 'go';
/** In the order of an ABBA round (reversed every other round). */
export const peerNames: PeerName[] = ['ts', 'go_best', 'go'];
export const peerLabel: Record<PeerName, string> = {
  ts: 'ours (TypeScript)',
  go_best: 'Go, best practice',
  go: 'Go, tutorial',
};

const root = new URL('..', import.meta.url).pathname;
const goDirs: Record<Exclude<PeerName, 'ts'>, string> = {
  go_best: join(root, 'bench/peer-go-best'),
  go: join(root, 'bench/baseline-go'),
};

/** The memory limit both production manifests state (config/manager/manager.yaml: 512Mi). */
export const memoryLimitMiB = 512;
/** GOMEMLIMIT as a Deployment sets it: 90% of the limit, leaving room for non-heap memory. */
export const goMemLimit = `${Math.floor(memoryLimitMiB * 0.9)}MiB`;

/** NODE_OPTIONS of our manager Deployment (config/manager/manager.yaml), so ours runs as deployed. */
function ourNodeOptions(): string {
  const manifest = readFileSync(join(root, 'config/manager/manager.yaml'), 'utf8');
  return /name: NODE_OPTIONS\s+value: (.+)/.exec(manifest)?.[1]?.trim() ?? '';
}

/** Program, arguments and extra environment that start `peer` with `args`. */
export function command(
  peer: PeerName,
  args: string[],
  extraNodeArgs: string[] = [],
): { program: string; args: string[]; env: Record<string, string> } {
  if (peer === 'ts') {
    const entry = imageEntrypoint();
    return {
      program: process.execPath,
      // Plain HTTP metrics, as the Go peers serve them (the bench reads them without a token).
      args: [
        ...entry.nodeArgs,
        ...extraNodeArgs,
        join(root, entry.script),
        ...args,
        '--metrics-secure=false',
      ],
      env: { ...entry.env, NODE_OPTIONS: ourNodeOptions() },
    };
  }
  return {
    program: join(goDirs[peer], 'bin/manager'),
    args,
    env: peer === 'go_best' ? { GOMEMLIMIT: goMemLimit } : {},
  };
}

/** sha256 over the Go sources of a peer (bin/ excluded): a change of content, not of mtime, rebuilds. */
function goSourceHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'bin') walk(path);
      } else if (/\.go$|^go\.(mod|sum)$/.test(entry.name)) {
        hash.update(path.slice(dir.length)).update('\0').update(readFileSync(path)).update('\0');
      }
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/**
 * Builds `peer` unless its binary was built from exactly these sources (a hash beside the binary).
 * Ours is always rebuilt by the image's own build step, `npm run build` (tsc into dist/, then the
 * entry point bundled: hack/build/bundle.ts, then the malloc_trim addon: hack/build/native.ts; a few
 * seconds): the image runs that JavaScript.
 */
export function ensureBuilt(peer: PeerName, log: (m: string) => void): void {
  if (peer === 'ts') {
    log('building our operator (npm run build -> dist/)...');
    execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    return;
  }
  const dir = goDirs[peer];
  const stamp = join(dir, 'bin/.sources-sha256');
  const hash = goSourceHash(dir);
  if (existsSync(join(dir, 'bin/manager')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash)
    return;
  log(`building ${peerLabel[peer]} (${dir.slice(root.length)}/bin/manager)...`);
  execFileSync('go', ['build', '-o', 'bin/manager', '.'], {
    cwd: dir,
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: 'inherit',
  });
  writeFileSync(stamp, hash);
}

/**
 * When an ElasticWeb's status shows its children, for the burst and update clocks. Ours and the
 * best-practice peer: observedGeneration is the object's generation, the three conditions were set
 * for it, and the replicas and NodePort are shown. The tutorial's status has only realQPS, which it
 * computes from the spec: done when that shows the expected replicas.
 */
export function statusDone(peer: PeerName): StatusDone {
  if (peer === 'go') return (ew, replicas) => ew.status?.realQPS === replicas * ew.spec.singlePodsQPS;
  return (ew, replicas) => {
    const s = ew.status;
    const generation = ew.metadata.generation;
    if (!s || s.observedGeneration !== generation || s.replicas !== replicas || s.nodePort === undefined)
      return false;
    return ['Available', 'Progressing', 'Degraded'].every((type) =>
      s.conditions?.some((c) => c.type === type && c.observedGeneration === generation),
    );
  };
}

/** Full mode: realQPS shows every pod Ready (what `kubectl get ew` users wait for). */
export const realQpsDone: StatusDone = (ew, replicas) =>
  ew.status?.realQPS === replicas * ew.spec.singlePodsQPS;
