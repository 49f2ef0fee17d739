/**
 * The real node's pod network: one Linux bridge holding the node's address, and a CNI
 * configuration (bridge + host-local + portmap, with loopback for each pod's lo) that gives each pod
 * a veth on it and an address of its /24.
 *
 * Fixed per machine (one real node per machine): bridge `elasticweb0`, 10.77.0.0/24, node address
 * 10.77.0.1. The machine's own forwarding stays as it was: the bridge plugin is no gateway (which
 * would turn net.ipv4.ip_forward on for every interface); instead forwarding is on for the bridge
 * alone (what a pod -> Service -> pod packet needs, routed back out of the bridge), and a table of
 * our own drops whatever pods would send anywhere but the bridge. No masquerading either: pod
 * traffic never leaves the machine. All of it goes with the bridge and the table at cleanup.
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

/** The nftables table that keeps pods on the bridge (deleted at cleanup like every new table). */
export const confinementTable = 'elasticweb-real-node';

/**
 * Creates the bridge with the node's address, forwarding on it alone, and the rule that drops pod
 * packets routed anywhere but back onto the bridge; brings the bridge up last.
 */
export async function createBridge(): Promise<void> {
  const { bridge, nodeIp, prefixLength } = podNetwork;
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${nodeIp}/${prefixLength}`, 'dev', bridge]);
  // IPv4 forwards by the setting of the interface a packet came in on.
  await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, '1');
  await nft(
    `table inet ${confinementTable} {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "${bridge}" oifname != "${bridge}" drop
  }
}
`,
  );
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
        // The bridge already holds the gateway address; as a gateway the plugin would also turn on
        // net.ipv4.ip_forward for the whole machine.
        isGateway: false,
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

/** Runs `nft -f -` with `script` on its standard input. */
function nft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', ['-f', '-'], (err, _out, stderr) =>
      err ? reject(new Error(`nft -f -: ${stderr || err.message}`)) : resolve(),
    );
    child.stdin?.end(script);
  });
}
