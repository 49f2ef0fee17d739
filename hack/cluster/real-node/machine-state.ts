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
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

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

function sysctlPath(name: string): string {
  return join('/proc/sys', ...name.split('.'));
}

export function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(sysctlPath(name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function writeSysctl(name: string, value: string): void {
  writeFileSync(sysctlPath(name), value);
}

function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

function startTimeOf(pid: number): string | undefined {
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function currentOwner(pid = process.pid): Owner {
  return { pid, startTime: startTimeOf(pid) ?? '', bootId: bootId() };
}

/** Whether the process an Owner names is still running (same boot, same pid, same start time). */
export function ownerAlive(owner: Owner): boolean {
  return owner.bootId === bootId() && startTimeOf(owner.pid) === owner.startTime;
}

async function nftTables(): Promise<string[]> {
  try {
    const { stdout } = await run('nft', ['list', 'tables']);
    return stdout
      .split('\n')
      .map((l) => l.trim().replace(/^table /, ''))
      .filter(Boolean);
  } catch {
    return [];
  }
}

interface NftObject {
  chain?: { name: string };
  rule?: { chain: string; handle: number; expr: unknown[] };
}

/** The objects of one table (`family name`), from `nft -j`. */
async function nftTable(table: string): Promise<NftObject[]> {
  const { stdout } = await run('nft', ['-j', 'list', 'table', ...table.split(' ')], { maxBuffer: 64 << 20 });
  return (JSON.parse(stdout) as { nftables: NftObject[] }).nftables;
}

async function nftChainsOf(tables: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    out[table] = (await nftTable(table).catch(() => [])).flatMap((o) => (o.chain ? [o.chain.name] : []));
  }
  return out;
}

/**
 * In a table that existed before the node, removes the chains that did not (kube-proxy's and the
 * kubelet's, and the base chains iptables-nft made for them) and the rules jumping to them from
 * chains that did, leaving whatever else is in the table as it is.
 */
async function removeNewChains(table: string, before: string[]): Promise<void> {
  const objects = await nftTable(table);
  const existed = new Set(before);
  const added = objects.flatMap((o) => (o.chain && !existed.has(o.chain.name) ? [o.chain.name] : []));
  if (added.length === 0) return;
  const addedSet = new Set(added);
  const [family, name] = table.split(' ') as [string, string];
  for (const o of objects) {
    const rule = o.rule;
    if (!rule || addedSet.has(rule.chain)) continue;
    const text = JSON.stringify(rule.expr);
    const jumps = added.some((c) => text.includes(`"target":${JSON.stringify(c)}`));
    if (jumps) await run('nft', ['delete', 'rule', family, name, rule.chain, 'handle', String(rule.handle)]);
  }
  for (const chain of added) await run('nft', ['flush', 'chain', family, name, chain]);
  for (const chain of added) await run('nft', ['delete', 'chain', family, name, chain]);
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
    if (readRecord()) await restoreRecord(readRecord() as MachineRecord, log);
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

  setSysctl(name: string, value: string): void {
    if (!(name in this.record.sysctls)) throw new Error(`sysctl ${name} is not in watchedSysctls`);
    writeSysctl(name, value);
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
  const record = readRecord();
  if (record) {
    log(`undoing what an earlier real node (pid ${record.owner.pid}, ${record.clusterDir}) left behind`);
    await restoreRecord(record, log);
  }
  rmSync(lockPath, { force: true });
  removeStateDirIfEmpty();
  return record !== undefined;
}

/** The record's folder goes too once nothing is in it (a failed cleanup leaves its record there). */
function removeStateDirIfEmpty(): void {
  try {
    rmdirSync(machineStateDir);
  } catch {
    // not empty, or already gone
  }
}

/**
 * Kills a recorded process group, only while its leader is the very process recorded (same start
 * time): a pid reused later by someone else's process is never signalled.
 */
function killGroup(group: { pgid: number; startTime: string }): void {
  if (startTimeOf(group.pgid) !== group.startTime) return;
  try {
    process.kill(-group.pgid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** The programs a node runs in its namespace (containers are found by their cgroups instead). */
const namespacePrograms = new Set([
  'containerd',
  'containerd-shim-runc-v2',
  'containerd-shim',
  'runc',
  'kubelet',
]);

/**
 * Node programs whose mount namespace is `ns` (`mnt:[inode]`). The program name is checked too: once
 * a namespace is gone its inode number can name a new one.
 */
function processesInNamespace(ns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/mnt`) !== ns) continue;
      const exe = readlinkSync(`/proc/${entry}/exe`);
      if (namespacePrograms.has(exe.slice(exe.lastIndexOf('/') + 1))) pids.push(Number(entry));
    } catch {
      // exited, or a kernel thread
    }
  }
  return pids;
}

/** Every cgroup folder under `root`, deepest first. */
function cgroupTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
    out.push(dir);
  };
  walk(root);
  return out;
}

function tasksIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function restoreRecord(record: MachineRecord, log: (m: string) => void): Promise<void> {
  // After a reboot, processes, sysctls, the bridge, nftables and cgroups are gone with the old boot
  // (and pids, namespace numbers and sysctl values mean other things): only folders remain to remove.
  if (record.owner.bootId !== bootId()) {
    log('the machine restarted since that node ran: removing its folders only');
    for (const dir of [...record.createdDirs].reverse()) rmSync(dir, { recursive: true, force: true });
    rmSync(record.clusterDir, { recursive: true, force: true });
    rmSync(statePath, { force: true });
    return;
  }
  const problems: string[] = [];
  // 1. Processes: the node's own groups, then everything in its mount namespace and cgroups.
  for (const group of record.processGroups) killGroup(group);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const left = [
      ...(record.mountNamespace ? processesInNamespace(record.mountNamespace) : []),
      ...record.cgroupDirs.flatMap((d) => cgroupTree(d).flatMap(tasksIn)),
    ].filter((pid) => pid !== process.pid);
    if (left.length === 0) break;
    if (Date.now() > deadline) {
      problems.push(`processes still running: ${[...new Set(left)].join(' ')}`);
      break;
    }
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // 2. Packet filtering: kube-proxy's own cleanup, then the tables that were not there at start.
  if (record.kubeProxy && existsSync(record.kubeProxy)) {
    await run(record.kubeProxy, ['--cleanup'], { timeout: 30_000 }).catch(() => {});
  }
  const before = new Set(record.nftTables);
  for (const table of await nftTables()) {
    if (before.has(table)) {
      const chains = record.nftChains?.[table];
      if (chains) {
        await removeNewChains(table, chains).catch((e: Error) =>
          problems.push(`removing new chains from table ${table}: ${e.message}`),
        );
      }
      continue;
    }
    await run('nft', ['delete', 'table', ...table.split(' ')]).catch((e: Error) =>
      problems.push(`nft delete table ${table}: ${e.message}`),
    );
  }
  // 3. The bridge (its addresses and routes go with it).
  if (record.bridge && existsSync(`/sys/class/net/${record.bridge}`)) {
    await run('ip', ['link', 'delete', record.bridge]).catch((e: Error) =>
      problems.push(`ip link delete ${record.bridge}: ${e.message}`),
    );
  }
  // 4. Sysctls, each back to its value at start.
  for (const [name, value] of Object.entries(record.sysctls)) {
    if (readSysctl(name) === value) continue;
    try {
      writeSysctl(name, value);
    } catch (e) {
      problems.push(`sysctl ${name}=${value}: ${(e as Error).message}`);
    }
  }
  // 5. Cgroups, deepest first (a cgroup goes once its tasks have exited).
  for (const root of record.cgroupDirs) {
    for (const dir of cgroupTree(root)) {
      for (let i = 0; ; i++) {
        try {
          rmdirSync(dir);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (i >= 50) {
            problems.push(`rmdir ${dir}: ${code}`);
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
  // 6. Folders this node created outside its cluster folder, and the cluster folder.
  for (const dir of [...record.createdDirs].reverse()) rmSync(dir, { recursive: true, force: true });
  rmSync(record.clusterDir, { recursive: true, force: true });
  if (problems.length) {
    // Keep the record so the next start tries again; say what is left.
    log(`could not undo everything: ${problems.join('; ')}`);
    throw new Error(`real node cleanup incomplete: ${problems.join('; ')}`);
  }
  rmSync(statePath, { force: true });
}
