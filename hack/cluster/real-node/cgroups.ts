/**
 * The cgroup v1 hierarchies of this machine as this process sees them, and the `realnode` cgroup a
 * real node nests its pods under in each.
 *
 * A VM's init may put us in a cgroup we cannot leave (here, a memory cgroup of our own). The node
 * therefore never moves anything: its containerd starts as the first process of a private cgroup
 * namespace, where each hierarchy is mounted again (namespace.sh) so that its root is our own
 * cgroup, and the kubelet creates every pod cgroup under `/realnode` there (cgroupRoot). Seen from
 * the machine, `<mount point><our cgroup>/realnode` in each hierarchy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Hierarchy {
  /** Where the machine mounts it, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** The folder name to mount it under in the node's namespace (the mount point's last part). */
  name: string;
  /** Mount options that name this hierarchy again, e.g. `rw,memory` or `rw,xattr,name=systemd`. */
  options: string;
  /** This process's cgroup in it, e.g. /process_api/fa74... or /. */
  ownPath: string;
}

/** The cgroup a node puts its pods under, relative to its namespace's root (kubelet cgroupRoot). */
export const nodeCgroup = '/realnode';

/** Controllers (or `name=...`) a v1 mount carries, from its super options. */
function controllersOf(superOptions: string): string[] {
  return superOptions
    .split(',')
    .filter((o) => o !== 'rw' && o !== 'ro' && o !== 'xattr' && o !== 'noprefix' && o !== 'clone_children')
    .filter((o) => !o.startsWith('release_agent='))
    .sort();
}

/** The v1 hierarchies mounted in this process's mount namespace (cgroup2 is left out). */
export function cgroupV1Hierarchies(): Hierarchy[] {
  return parseHierarchies(
    readFileSync('/proc/self/cgroup', 'utf8'),
    readFileSync('/proc/self/mountinfo', 'utf8'),
  );
}

/**
 * The v1 hierarchies of a process, from its /proc/<pid>/cgroup and /proc/<pid>/mountinfo texts: each
 * cgroup mount, matched to the process's own cgroup in it by the controllers they name.
 */
export function parseHierarchies(cgroupText: string, mountinfoText: string): Hierarchy[] {
  const own = new Map<string, string>();
  for (const line of cgroupText.split('\n')) {
    const m = line.match(/^\d+:([^:]*):(.*)$/);
    if (m?.[1]) own.set(m[1].split(',').sort().join(','), m[2] as string);
  }
  const out: Hierarchy[] = [];
  for (const line of mountinfoText.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [fstype, , superOptions] = right.split(' ');
    if (fstype !== 'cgroup' || !superOptions) continue;
    const mountPoint = left.split(' ')[4] as string;
    const ownPath = own.get(controllersOf(superOptions).join(','));
    if (ownPath === undefined) continue;
    out.push({
      mountPoint,
      name: mountPoint.slice(mountPoint.lastIndexOf('/') + 1),
      options: superOptions,
      ownPath,
    });
  }
  return out;
}

/** The controllers a kubelet cannot do without on cgroup v1. */
const required = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids'];

/** Why this machine's cgroups cannot host a node, or undefined when they can. */
export function cgroupProblem(): string | undefined {
  let hierarchies: Hierarchy[];
  try {
    hierarchies = cgroupV1Hierarchies();
  } catch (err) {
    return `cannot read /proc/self/cgroup or /proc/self/mountinfo: ${(err as Error).message}`;
  }
  const have = new Set(hierarchies.flatMap((h) => controllersOf(h.options)));
  const missing = required.filter((c) => !have.has(c));
  if (hierarchies.length === 0) {
    return 'no cgroup v1 hierarchy is mounted (this node setup needs the v1 controllers cpu, cpuacct, cpuset, memory and pids, mounted under /sys/fs/cgroup)';
  }
  if (missing.length) return `the cgroup v1 controllers ${missing.join(', ')} are not mounted`;
  return undefined;
}

/** Where each hierarchy's `realnode` cgroup is, seen from the machine. */
export function nodeCgroupDirs(hierarchies = cgroupV1Hierarchies()): string[] {
  return hierarchies.map((h) => join(h.mountPoint, h.ownPath, nodeCgroup));
}
