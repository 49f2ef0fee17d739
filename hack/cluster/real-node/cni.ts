/**
 * The real node's pod network: one Linux bridge holding the node's address, and a CNI
 * configuration (bridge + host-local + portmap, with loopback for each pod's lo) that gives each pod
 * a veth on it and an address of its /24.
 *
 * Fixed per machine (one real node per machine): bridge `elasticweb0`, 10.77.0.0/24, node address
 * 10.77.0.1. Pods reach the node's address directly and nothing else: no masquerading (ipMasq off),
 * so pod traffic never leaves the machine. The bridge plugin turns net.ipv4.ip_forward on (as a
 * gateway it must); machine-state.ts records the value before and restores it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const podNetwork = {
  bridge: 'elasticweb0',
  subnet: '10.77.0.0/24',
  nodeIp: '10.77.0.1',
  prefixLength: 24,
} as const;

/** Why the pod network cannot be made here (an address or route already in its range), if so. */
export async function networkProblem(): Promise<string | undefined> {
  if (existsSync(`/sys/class/net/${podNetwork.bridge}`)) return undefined; // a leftover: cleaned up first
  const { stdout } = await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all']);
  const clash = stdout.split('\n').find((line) => {
    const dst = line.trim().split(/\s+/)[0] ?? '';
    if (dst === '' || dst === 'default' || dst === 'broadcast' || dst === 'local') {
      // `local 10.77.0.1 ...` lines of the local table name the address second
      const address = line.trim().split(/\s+/)[1] ?? '';
      return (dst === 'local' || dst === 'broadcast') && overlaps(address, podNetwork.subnet);
    }
    return overlaps(dst, podNetwork.subnet);
  });
  return clash
    ? `the pod network ${podNetwork.subnet} overlaps a route already on this machine: ${clash.trim()}`
    : undefined;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** Whether two IPv4 ranges (CIDR or single address) share an address. */
export function overlaps(a: string, b: string): boolean {
  const range = (cidr: string): [number, number] => {
    const [ip, len] = cidr.split('/');
    const bits = len === undefined ? 32 : Number(len);
    const size = 2 ** (32 - bits);
    const start = Math.floor(toInt(ip as string) / size) * size;
    return [start, start + size - 1];
  };
  if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(a)) return false;
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

/** Creates the bridge with the node's address and brings it up. */
export async function createBridge(): Promise<void> {
  const { bridge, nodeIp, prefixLength } = podNetwork;
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${nodeIp}/${prefixLength}`, 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);
}

/** Writes the CNI configuration list into `confDir`; host-local keeps its leases under `dataDir`. */
export async function writeCniConfig(confDir: string, dataDir: string): Promise<void> {
  await mkdir(confDir, { recursive: true });
  const conflist = {
    cniVersion: '1.0.0',
    name: 'elasticweb',
    plugins: [
      {
        type: 'bridge',
        bridge: podNetwork.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir,
          ranges: [[{ subnet: podNetwork.subnet, gateway: podNetwork.nodeIp }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  await writeFile(join(confDir, '10-elasticweb.conflist'), JSON.stringify(conflist, null, 2));
}
