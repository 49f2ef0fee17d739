/**
 * The real node's container runtime: Debian's containerd (1.6) with runc, started as the first
 * process of the node's private mount and cgroup namespace (namespace.sh), with every folder and
 * socket of its own under the node folder.
 *
 * CRI settings that this kind of machine needs, and why:
 *  - restrict_oom_score_adj: without CAP_SYS_RESOURCE no process may lower its OOM score, and the
 *    pause container asks for -998 (runc then fails: "can't get final child's PID from pipe");
 *  - disable_apparmor, disable/tolerate_missing_hugetlb_controller: neither is available here;
 *  - netns_mounts_under_state_dir: pod network namespaces are bind-mounted under the node folder
 *    (in the private namespace), not /run/netns.
 */

import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hierarchy } from './cgroups.ts';
import type { ImageLayout } from './oci-image.ts';

export interface ContainerdPaths {
  /** The node folder's containerd part. */
  dir: string;
  config: string;
  socket: string;
}

export function containerdPaths(nodeDir: string): ContainerdPaths {
  const dir = join(nodeDir, 'containerd');
  return { dir, config: join(dir, 'config.toml'), socket: join(dir, 'containerd.sock') };
}

/** Writes containerd's configuration (version 2 format, as containerd 1.6 reads it). */
export async function writeContainerdConfig(
  nodeDir: string,
  options: { sandboxImage: string; cniBinDir: string; cniConfDir: string },
): Promise<ContainerdPaths> {
  const paths = containerdPaths(nodeDir);
  await mkdir(paths.dir, { recursive: true });
  const q = JSON.stringify; // TOML basic strings are JSON strings
  const toml = `version = 2
root = ${q(join(paths.dir, 'root'))}
state = ${q(join(paths.dir, 'state'))}

[grpc]
  address = ${q(paths.socket)}

[ttrpc]
  address = ${q(`${paths.socket}.ttrpc`)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(paths.dir, 'opt'))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(options.sandboxImage)}
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  restrict_oom_score_adj = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  enable_selinux = false

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = ${q(join(paths.dir, 'runc'))}
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(options.cniBinDir)}
    conf_dir = ${q(options.cniConfDir)}
`;
  await writeFile(paths.config, toml);
  return paths;
}

/**
 * The command line that makes the node's namespace and runs containerd in it: unshare, then
 * namespace.sh, which execs containerd (so its pid is the namespace's first process).
 */
export function containerdCommand(
  nodeDir: string,
  hierarchies: Hierarchy[],
): { binary: string; args: string[] } {
  const paths = containerdPaths(nodeDir);
  return {
    binary: 'unshare',
    args: [
      '--mount',
      '--cgroup',
      '--propagation',
      'private',
      '--',
      'bash',
      join(import.meta.dirname, 'namespace.sh'),
      nodeDir,
      ...hierarchies.map((h) => `${h.name}:${h.options}`),
      '--',
      'containerd',
      '--config',
      paths.config,
    ],
  };
}

/**
 * Streams layout `dir` as a tar into `ctr images import` against the containerd at `address`, into
 * the k8s.io namespace the kubelet uses. Resolves with the imported names.
 */
export async function importLayout(address: string, layout: ImageLayout): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    // tar's stdout goes straight into ctr's stdin (no copy through this process). ctr stops reading
    // at the archive's end marker, so tar may then fail writing its last padding blocks: ctr's
    // exit code alone says whether the import worked.
    const ctr = spawn('ctr', ['--address', address, '--namespace', 'k8s.io', 'images', 'import', '-'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    const tar = spawn('tar', ['-C', layout.dir, '-cf', '-', '.'], { stdio: ['ignore', ctr.stdin, 'ignore'] });
    ctr.stdin?.destroy(); // tar holds the pipe now; this end is not ours to write
    tar.once('error', reject);
    let err = '';
    ctr.stderr?.on('data', (d: Buffer) => {
      err += d;
    });
    ctr.once('error', reject);
    ctr.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`ctr images import of ${layout.names.join(', ')} failed (${code}): ${err}`)),
    );
  });
}
