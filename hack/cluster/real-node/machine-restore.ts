/**
 * Undoes what a real node's record lists (machine-state.ts), in an order that works: processes
 * first (nothing re-creates what is being removed), then the packet filter, the bridge, sysctls,
 * cgroups (empty once their tasks are gone) and folders. Signals only what is certainly the node's.
 * Throws, listing what it could not undo, so the record is kept for another try.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bootId, nftTable, nftTables, readSysctl, startTimeOf, writeSysctl } from './machine-facts.ts';
import type { MachineRecord } from './machine-state.ts';

const run = promisify(execFile);

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

/**
 * The process groups of the cluster in `clusterDir` that still run: those its `pids` file lists
 * (etcd, kube-apiserver, ...), each only if its command line names that folder, so a pid reused by
 * another program is never signalled.
 */
function clusterProcessGroups(clusterDir: string): number[] {
  let listed: number[];
  try {
    listed = readFileSync(join(clusterDir, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return listed.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(clusterDir);
    } catch {
      return false;
    }
  });
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

/** Whether an nft command failed only because what it was to delete no longer exists. */
function alreadyGone(err: Error): boolean {
  return /No such file or directory/.test(err.message);
}

export async function restoreRecord(record: MachineRecord, log: (m: string) => void): Promise<void> {
  // After a reboot, processes, sysctls, the bridge, nftables and cgroups are gone with the old boot
  // (and pids, namespace numbers and sysctl values mean other things): only folders remain to remove.
  if (record.owner.bootId !== bootId()) {
    log('the machine restarted since that node ran: removing its folders only');
    for (const dir of [...record.createdDirs].reverse()) rmSync(dir, { recursive: true, force: true });
    rmSync(record.clusterDir, { recursive: true, force: true });
    return;
  }
  const problems: string[] = [];
  // 1. Processes: the node's own groups, the control plane of its cluster (when the reaper that
  // should have ended it died too), then everything in its mount namespace and cgroups.
  for (const group of record.processGroups) killGroup(group);
  for (const pgid of clusterProcessGroups(record.clusterDir)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
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
        await removeNewChains(table, chains).catch((e: Error) => {
          if (!alreadyGone(e)) problems.push(`removing new chains from table ${table}: ${e.message}`);
        });
      }
      continue;
    }
    await run('nft', ['delete', 'table', ...table.split(' ')]).catch((e: Error) => {
      // Gone between the listing and the delete (kube-proxy's cleanup, still exiting, removes its own).
      if (!alreadyGone(e)) problems.push(`nft delete table ${table}: ${e.message}`);
    });
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
}
