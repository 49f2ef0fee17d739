/**
 * What a real node could leave behind on the machine, captured so that a test can compare before
 * and after: kernel settings, the packet filter, mounts, network links, cgroups, state folders and
 * node processes. Taken independently of the node's own record (machine-state.ts), so a change it
 * forgets to record still shows.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Kernel settings under these prefixes are compared (the counters among them are left out). */
const sysctlPrefixes = [
  'net.ipv4.',
  'net.bridge.',
  'net.netfilter.nf_conntrack_',
  'vm.overcommit',
  'kernel.panic',
];
const volatileSysctls =
  /nf_conntrack_count|\.stat\.|tcp_fastopen_key|ip_local_reserved_ports|\.conf\.(?!all\.|default\.)[^.]+\./;

/** Programs of a node, which no other local cluster runs. */
const nodePrograms = /^(containerd|containerd-shim.*|runc|kubelet|kube-proxy|pause|nginx|api-forwarder)$/;

export interface MachineSnapshot {
  sysctls: string[];
  nftRuleset: string;
  iptables: string;
  mounts: string[];
  links: string[];
  cgroups: string[];
  stateDirs: string[];
  nodeProcesses: string[];
}

function cgroupDirs(): string[] {
  const out: string[] = [];
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const walk = (dir: string, depth: number) => {
      if (depth > 6) return;
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        out.push(join(dir, e.name));
        walk(join(dir, e.name), depth + 1);
      }
    };
    try {
      walk(join('/sys/fs/cgroup', hierarchy), 0);
    } catch {
      // not a hierarchy
    }
  }
  // Only what a node would create (other workers' cgroups come and go).
  return out.filter((d) => /realnode|kubepods/.test(d)).sort();
}

function nodeProcesses(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const exe = readlinkSync(`/proc/${pid}/exe`);
      const name = exe.slice(exe.lastIndexOf('/') + 1);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (nodePrograms.test(name) || /api-forwarder\.ts/.test(cmd)) out.push(`${pid} ${cmd.slice(0, 120)}`);
    } catch {
      // gone, or a kernel thread
    }
  }
  return out.sort();
}

export async function machineSnapshot(): Promise<MachineSnapshot> {
  const sysctl = (await run('sysctl', ['-a'], { maxBuffer: 16 << 20 }).catch((e: { stdout: string }) => e))
    .stdout;
  const nft = await run('nft', ['list', 'ruleset']).then((r) => r.stdout);
  const iptables = (await run('iptables-save').then((r) => r.stdout))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [left, right] = l.split(' - ');
      const f = (left as string).split(' ');
      return `${f[4]} ${(right as string).split(' ').slice(0, 2).join(' ')}`;
    })
    .sort();
  const links = (await run('ip', ['-o', 'link', 'show']).then((r) => r.stdout))
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? l)
    .sort();
  return {
    sysctls: sysctl
      .split('\n')
      .filter((l) => sysctlPrefixes.some((p) => l.startsWith(p)) && !volatileSysctls.test(l))
      .sort(),
    nftRuleset: nft,
    iptables,
    mounts,
    links,
    cgroups: cgroupDirs(),
    stateDirs: [
      '/run/containerd',
      '/var/lib/cni',
      '/var/lib/kubelet',
      '/var/log/containers',
      '/var/log/pods',
      '/var/lib/elasticweb-real-node',
      '/var/lib/containers',
    ].filter((d) => existsSync(d)),
    nodeProcesses: nodeProcesses(),
  };
}
