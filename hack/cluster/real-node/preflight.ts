/**
 * Whether this machine can run a real node, and if not, why, in words a person can act on. Checked
 * before anything is installed, built or changed.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { cgroupProblem } from './cgroups.ts';
import { networkProblem } from './cni.ts';

const run = promisify(execFile);

export class RealNodeUnsupportedError extends Error {
  readonly reasons: string[];
  constructor(reasons: string[]) {
    super(`this machine cannot run a real node:\n${reasons.map((r) => `  - ${r}`).join('\n')}`);
    this.reasons = reasons;
  }
}

/** Every reason this machine cannot host a real node (empty when it can). */
export async function realNodeProblems(): Promise<string[]> {
  const problems: string[] = [];
  if (process.platform !== 'linux') return [`it runs ${process.platform}; a node needs Linux`];
  if (process.getuid?.() !== 0) {
    problems.push(
      'not root: a node mounts file systems, makes cgroups, a bridge and packet-filter rules, and installs Debian packages (run as root, e.g. in a VM or CI machine)',
    );
  }
  const cgroups = cgroupProblem();
  if (cgroups) problems.push(cgroups);
  if (!readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n')) {
    problems.push('the kernel has no overlay file system (containerd unpacks images with it)');
  }
  if (!existsSync('/usr/bin/apt-get') && !(await hasPackages())) {
    problems.push(
      'containerd, runc and the other packages are missing and there is no apt-get to install them (Debian or Ubuntu)',
    );
  }
  if (problems.length === 0) {
    // Only root may try these.
    try {
      await run('unshare', ['--mount', '--cgroup', '--propagation', 'private', '--', 'true']);
    } catch (err) {
      problems.push(
        `cannot make a private mount and cgroup namespace (unshare): ${(err as Error).message.split('\n')[0]}`,
      );
    }
    const net = await networkProblem().catch((e: Error) => `cannot read the routes: ${e.message}`);
    if (net) problems.push(net);
  }
  return problems;
}

async function hasPackages(): Promise<boolean> {
  try {
    await run('bash', [new URL('./packages.sh', import.meta.url).pathname, '--check']);
    return true;
  } catch {
    return false;
  }
}

/** Throws RealNodeUnsupportedError listing every reason, when there is one. */
export async function assertRealNodeSupported(): Promise<void> {
  const problems = await realNodeProblems();
  if (problems.length) throw new RealNodeUnsupportedError(problems);
}
