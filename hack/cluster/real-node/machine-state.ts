/**
 * What a real node changes on the machine, written down before each change, and undone at stop,
 * by the reaper when the owner is killed, or by the next start after a power loss or a SIGKILL of
 * both. One real node per machine: the lock names the process that owns it.
 *
 * The record (`/var/lib/elasticweb-real-node/state.json`) is on disk, not in /run, because some of
 * what it lists survives a reboot (folders created under /var). Changes that do not survive one
 * (sysctls, the bridge, nftables, cgroups) are undone only when they are still there.
 *
 * What a node changes, and how it is undone:
 *  - sysctls in `watchedSysctls` (route_localnet, which kube-proxy turns on for NodePorts on
 *    127.0.0.1; the others are watched in case a program changes them): the values at start are
 *    recorded and written back;
 *  - nftables (kube-proxy and the kubelet program iptables-nft; cni.ts adds the table that keeps
 *    pods on the bridge): kube-proxy --cleanup, then every table that did not exist at start is
 *    deleted, and in those that did, every chain that did not (with the rules that jump to it);
 *  - the node's bridge (with the forwarding set on it alone): deleted;
 *  - `realnode` cgroups in each v1 hierarchy (under this process's own cgroup): every task in them
 *    is killed, then they are removed deepest first;
 *  - processes: the recorded process groups, and every process still in the node's private mount
 *    namespace (containerd's shims and the containers), are killed;
 *  - state folders outside the cluster folder that did not exist at start: removed.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { bootId, nftChainsOf, nftTables, readSysctl, startTimeOf } from './machine-facts.ts';
import { restoreRecord } from './machine-restore.ts';

export const machineStateDir = '/var/lib/elasticweb-real-node';
const statePath = join(machineStateDir, 'state.json');
const lockPath = join(machineStateDir, 'lock');

/**
 * Sysctls a node may change (directly or through the programs it runs), recorded at start and
 * written back at stop when they differ. The kubelet's own wishes (vm.overcommit_memory,
 * kernel.panic, kernel.panic_on_oops) are kept away from the machine by read-only files in the
 * node's mount namespace (namespace.sh), and kube-proxy is told to leave conntrack alone; they are
 * listed here too, as a safety net.
 */
export const watchedSysctls = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.forwarding',
  'net.ipv4.conf.default.forwarding',
  'net.ipv4.conf.all.route_localnet',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'vm.overcommit_memory',
  'kernel.panic',
  'kernel.panic_on_oops',
  'net.netfilter.nf_conntrack_max',
  'net.netfilter.nf_conntrack_tcp_timeout_established',
  'net.netfilter.nf_conntrack_tcp_timeout_close_wait',
  'net.netfilter.nf_conntrack_tcp_be_liberal',
];

/** The owner of a node: a process, told apart from a later one with the same pid after a reboot. */
export interface Owner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
  startTime: string;
  bootId: string;
}

export interface MachineRecord {
  owner: Owner;
  clusterDir: string;
  /** Original values of `watchedSysctls` (those that exist on this kernel). */
  sysctls: Record<string, string>;
  /** `family name` of every nftables table at start. */
  nftTables: string[];
  /** The chains of each of those tables at start (by `family name`). */
  nftChains?: Record<string, string[]>;
  /** Folders outside the cluster folder that this node created. */
  createdDirs: string[];
  /** The bridge this node created. */
  bridge?: string;
  /** Host paths of the cgroups this node created (one per hierarchy). */
  cgroupDirs: string[];
  /** `mnt:[inode]` of the node's private mount namespace. */
  mountNamespace?: string;
  /** Process groups the node started (containerd, kubelet, kube-proxy), by their leader. */
  processGroups: { pgid: number; startTime: string }[];
  /** kube-proxy, for `kube-proxy --cleanup`. */
  kubeProxy?: string;
}

export class RealNodeBusyError extends Error {}

function currentOwner(pid = process.pid): Owner {
  return { pid, startTime: startTimeOf(pid) ?? '', bootId: bootId() };
}

/** Whether the process an Owner names is still running (same boot, same pid, same start time). */
export function ownerAlive(owner: Owner): boolean {
  return owner.bootId === bootId() && startTimeOf(owner.pid) === owner.startTime;
}

function readRecord(): MachineRecord | undefined {
  try {
    return JSON.parse(readFileSync(statePath, 'utf8')) as MachineRecord;
  } catch {
    return undefined;
  }
}

function readLock(): Owner | undefined {
  try {
    return JSON.parse(readFileSync(lockPath, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/**
 * The record of one running node. Every change is written to disk before it is made, so whatever
 * kills the owner, the record covers everything that could have changed.
 */
export class MachineChanges {
  readonly record: MachineRecord;

  private constructor(record: MachineRecord) {
    this.record = record;
  }

  /**
   * Takes the machine's one real-node lock for this process, first undoing whatever an earlier
   * owner that died left behind. Throws RealNodeBusyError, naming the owner, when one is running.
   */
  static async acquire(clusterDir: string, log: (m: string) => void = () => {}): Promise<MachineChanges> {
    for (let attempt = 0; ; attempt++) {
      // (again on each attempt: undoing leftovers removes the folder once it is empty)
      mkdirSync(machineStateDir, { recursive: true });
      try {
        const fd = openSync(lockPath, 'wx');
        writeFileSync(fd, JSON.stringify(currentOwner()));
        closeSync(fd);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5) throw err;
      }
      const holder = readLock();
      if (holder && ownerAlive(holder)) {
        const record = readRecord();
        throw new RealNodeBusyError(
          `a real node already runs on this machine (owner pid ${holder.pid}${record ? `, cluster ${record.clusterDir}` : ''}); only one can (fixed bridge, ports and iptables rules). Stop it first (npm run cluster -- down, or end that process).`,
        );
      }
      await restoreLeftovers(log);
    }
    // The lock is ours: anything recorded now is a leftover of a dead owner (the lock file was gone).
    const stale = readRecord();
    if (stale) {
      await awaitOtherReaper(stale.clusterDir, log);
      await restoreRecord(stale, log);
      rmSync(statePath, { force: true });
    }
    const sysctls: Record<string, string> = {};
    for (const name of watchedSysctls) {
      const value = readSysctl(name);
      if (value !== undefined) sysctls[name] = value;
    }
    const changes = new MachineChanges({
      owner: currentOwner(),
      clusterDir,
      sysctls,
      nftTables: await nftTables(),
      nftChains: await nftChainsOf(await nftTables()),
      createdDirs: [],
      cgroupDirs: [],
      processGroups: [],
    });
    changes.save();
    return changes;
  }

  save(): void {
    writeFileSync(`${statePath}.tmp`, JSON.stringify(this.record, null, 2));
    renameSync(`${statePath}.tmp`, statePath);
  }

  /** Creates `dir` (and missing parents), recording each folder it creates for removal. */
  ensureDir(dir: string): void {
    const missing: string[] = [];
    for (let d = dir; d !== '/' && !existsSync(d); d = join(d, '..')) missing.unshift(d);
    if (missing.length === 0) return;
    this.record.createdDirs.push(...missing);
    this.save();
    mkdirSync(dir, { recursive: true });
  }

  update(
    change: Partial<Omit<MachineRecord, 'owner' | 'sysctls' | 'nftTables' | 'createdDirs' | 'processGroups'>>,
  ): void {
    Object.assign(this.record, change);
    this.save();
  }

  /** Records a process group the node started (its leader's pid), to kill if the owner dies. */
  addProcessGroup(pgid: number): void {
    this.record.processGroups.push({ pgid, startTime: startTimeOf(pgid) ?? '' });
    this.save();
  }

  /** Undoes every recorded change, then releases the lock. */
  async restore(log: (m: string) => void = () => {}): Promise<void> {
    await restoreRecord(this.record, log);
    rmSync(statePath, { force: true });
    rmSync(lockPath, { force: true });
    removeStateDirIfEmpty();
  }
}

/**
 * Undoes what a dead owner left (nothing when there is no record or its owner still runs). The
 * reaper and `up` call it; returns whether there was something to undo.
 */
export async function restoreLeftovers(log: (m: string) => void = () => {}): Promise<boolean> {
  const holder = readLock();
  if (holder && ownerAlive(holder)) return false;
  let record = readRecord();
  if (record) {
    // The dead owner's reaper may be undoing the same record right now: two restorers at once would
    // each find the other's deletions gone, and a late one could remove what a new node just made.
    await awaitOtherReaper(record.clusterDir, log);
    record = readRecord();
    const again = readLock();
    if (again && ownerAlive(again)) return false; // someone started a new node meanwhile
  }
  if (record) {
    log(`undoing what an earlier real node (pid ${record.owner.pid}, ${record.clusterDir}) left behind`);
    await restoreRecord(record, log);
    rmSync(statePath, { force: true });
  }
  rmSync(lockPath, { force: true });
  removeStateDirIfEmpty();
  return record !== undefined;
}

/**
 * Waits (at most a minute) while the reaper of the cluster in `clusterDir` runs, unless this is that
 * reaper's own cleanup (reaper.sh names the folder in ELASTICWEB_REAPER_OF). A reaper ends once its
 * cleanup is done.
 */
async function awaitOtherReaper(clusterDir: string, log: (m: string) => void): Promise<void> {
  if (process.env.ELASTICWEB_REAPER_OF === clusterDir) return;
  const deadline = Date.now() + 60_000;
  let said = false;
  for (;;) {
    const reaper = reaperOf(clusterDir);
    if (reaper === undefined) return;
    if (!said) {
      log(`waiting for the reaper of ${clusterDir} (pid ${reaper}) to finish its cleanup`);
      said = true;
    }
    if (Date.now() > deadline)
      throw new Error(`the reaper of ${clusterDir} (pid ${reaper}) did not finish in 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The pid of a running hack/cluster/reaper.sh for `clusterDir`, if any. */
function reaperOf(clusterDir: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a.endsWith('/reaper.sh')) && args.includes(clusterDir)) return Number(entry);
    } catch {
      // exited
    }
  }
  return undefined;
}

/** The record's folder goes too once nothing is in it (a failed cleanup leaves its record there). */
function removeStateDirIfEmpty(): void {
  try {
    rmdirSync(machineStateDir);
  } catch {
    // not empty, or already gone
  }
}
