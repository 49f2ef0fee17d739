/**
 * One real Kubernetes node on this machine, joined to a LocalCluster: containerd + runc, a kubelet
 * and kube-proxy from the control plane's own Kubernetes module, CNI plugins, and images built here
 * with no registry. LocalCluster.start({ mode: 'real' }) composes it; tests need nothing else.
 *
 * Life cycle, in the order LocalCluster calls it:
 *  1. prepareRealNode(): says why the machine cannot host a node (RealNodeUnsupportedError), else
 *     installs missing Debian packages and builds (or finds cached) programs and images;
 *  2. RealNode.claim(): takes the machine's one-node lock, undoes an earlier run's leftovers,
 *     creates the bridge; kube-apiserver then starts with `apiServerArgs()` and the node address in
 *     its certificate;
 *  3. start(): containerd in its namespace, image import, kubelet, kube-proxy, the API forwarder;
 *     resolves once the Node is Ready and Services are programmed;
 *  4. stopProcesses(), before the control plane stops: kube-proxy, kubelet, forwarder, containerd;
 *  5. restoreMachine(), after it: every process left (shims, containers) is killed and every machine
 *     setting it changed restored (machine-state.ts). If the owner is killed instead, the reaper runs
 *     cleanup.ts, which does the same from the record on disk.
 */

import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ensureNodeBinaries, type NodeBinaries } from '../binaries.ts';
import type { Pki } from '../pki.ts';
import { freePort } from '../ports.ts';
import { ManagedProcess } from '../process.ts';
import type { RawClient } from '../raw-client.ts';
import { cgroupV1Hierarchies, nodeCgroupDirs } from './cgroups.ts';
import { createBridge, podNetwork, writeCniConfig } from './cni.ts';
import { containerdCommand, importLayout, writeContainerdConfig } from './containerd.ts';
import { imageNames, nodeImages } from './images.ts';
import { kubeProxyArgs } from './kube-proxy.ts';
import { kubeletApiRbac, kubeletArgs } from './kubelet.ts';
import { MachineChanges } from './machine-state.ts';
import { generateNodePki, type NodePki } from './node-pki.ts';
import type { ImageLayout } from './oci-image.ts';
import { assertRealNodeSupported } from './preflight.ts';

const run = promisify(execFile);
const here = import.meta.dirname;

/** The one node's name. */
export const realNodeName = 'real-node';

/** Folders containerd, the CNI plugins and the kubelet use at fixed paths (private tmpfs in the node). */
const fixedStateDirs = [
  '/run/containerd',
  '/var/lib/cni',
  '/var/lib/kubelet',
  '/var/log/containers',
  '/var/log/pods',
];

export interface PreparedNode {
  binaries: NodeBinaries;
  images: ImageLayout[];
}

type Log = (message: string) => void;

/**
 * Checks the machine, installs missing Debian packages (packages.sh) and builds or finds the node's
 * programs and images. Throws RealNodeUnsupportedError with every reason when the machine cannot.
 */
export async function prepareRealNode(log: Log, extraImages: ImageLayout[] = []): Promise<PreparedNode> {
  await assertRealNodeSupported();
  await runShown('bash', [join(here, 'packages.sh')]);
  const binaries = await ensureNodeBinaries();
  const images = [...(await nodeImages(log)), ...extraImages];
  return { binaries, images };
}

/** Runs a command with its output on this process's stderr (progress a person should see). */
function runShown(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, (err) => (err ? reject(err) : resolve()));
    child.stdout?.pipe(process.stderr);
    child.stderr?.pipe(process.stderr);
  });
}

interface NodePorts {
  kubelet: number;
  kubeletHealthz: number;
  kubeProxyHealthz: number;
  kubeProxyMetrics: number;
}

/** What the control plane needs from the node to start: the cluster-facing part of RealNode. */
export interface ControlPlaneView {
  dir: string;
  pki: Pki;
  admin: RawClient;
  server: string;
  kubeconfigFor(userName: string, user: Record<string, string>): object;
}

/** The node of a `real`-mode LocalCluster (`cluster.node`); tests read its address, logs and programs. */
export class RealNode {
  readonly name = realNodeName;
  /** The node's address: its bridge, where pods reach the API server and the kubelet listens. */
  readonly ip = podNetwork.nodeIp;
  /** The node's own folder, inside the cluster folder. */
  readonly dir: string;
  readonly prepared: PreparedNode;
  readonly #machine: MachineChanges;
  readonly #processes = new Map<string, ManagedProcess>();
  readonly #log: Log;
  readonly #onPidChange: () => void;
  #pki: NodePki | undefined;
  #ports: NodePorts | undefined;
  #stopped = false;

  private constructor(
    dir: string,
    prepared: PreparedNode,
    machine: MachineChanges,
    log: Log,
    onPidChange: () => void,
  ) {
    this.dir = dir;
    this.prepared = prepared;
    this.#machine = machine;
    this.#log = log;
    this.#onPidChange = onPidChange;
  }

  /**
   * Takes the machine for this node (lock, leftovers of an earlier run undone) and creates its
   * bridge, so kube-apiserver can be told the node address before the node itself starts.
   */
  static async claim(
    clusterDir: string,
    prepared: PreparedNode,
    log: Log,
    onPidChange: () => void,
  ): Promise<RealNode> {
    const machine = await MachineChanges.acquire(clusterDir, log);
    const node = new RealNode(join(clusterDir, 'node'), prepared, machine, log, onPidChange);
    try {
      await mkdir(node.dir, { recursive: true });
      machine.update({ bridge: podNetwork.bridge, kubeProxy: prepared.binaries.kubeProxy });
      await createBridge();
      node.#ports = {
        kubelet: await freePort(),
        kubeletHealthz: await freePort(),
        kubeProxyHealthz: await freePort(),
        kubeProxyMetrics: await freePort(),
      };
    } catch (err) {
      await machine.restore(log).catch(() => {});
      throw err;
    }
    return node;
  }

  /** kube-apiserver's extra flags: advertise the node address, call kubelets with a client certificate. */
  apiServerArgs(pki: Pki): string[] {
    const dir = this.dir;
    return [
      `--advertise-address=${this.ip}`,
      `--kubelet-client-certificate=${join(dir, 'apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${join(dir, 'apiserver-kubelet-client.key')}`,
      `--kubelet-certificate-authority=${pki.caCert}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--enable-admission-plugins=NodeRestriction',
    ];
  }

  /** Writes the node's certificates (before kube-apiserver starts: it reads its kubelet client pair). */
  async writePki(pki: Pki): Promise<void> {
    this.#pki = await generateNodePki(this.dir, pki, this.name, this.ip);
  }

  /** The kubelet's API, https://<node address>:<port>. */
  get kubeletUrl(): string {
    return `https://${this.ip}:${this.#ports?.kubelet}`;
  }

  /** Starts the node and resolves once it is Ready and kube-proxy has programmed the Services. */
  async start(cluster: ControlPlaneView, apiServerPort: number): Promise<void> {
    const pki = this.#pki;
    const ports = this.#ports;
    if (!pki || !ports) throw new Error('RealNode.start before claim/writePki');
    const started = Date.now();
    const dir = this.dir;
    const { binaries, images } = this.prepared;

    await cluster.admin.must(
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      kubeletApiRbac,
      [201, 409],
    );

    // The pods' way to the API server, before any pod asks for it.
    this.#spawn('api-forwarder', process.execPath, [
      join(here, 'api-forwarder.ts'),
      this.ip,
      String(apiServerPort),
    ]);

    // containerd, first process of the node's namespace.
    const hierarchies = cgroupV1Hierarchies();
    for (const d of fixedStateDirs) this.#machine.ensureDir(d);
    this.#machine.update({ cgroupDirs: nodeCgroupDirs(hierarchies) });
    await writeCniConfig(join(dir, 'cni', 'net.d'), join(dir, 'cni', 'ipam'));
    const containerd = await writeContainerdConfig(dir, {
      sandboxImage: imageNames.pause,
      cniBinDir: binaries.cniBinDir,
      cniConfDir: join(dir, 'cni', 'net.d'),
    });
    const cmd = containerdCommand(dir, hierarchies);
    const containerdProc = this.#spawn('containerd', cmd.binary, cmd.args);
    await this.#waitFor(containerdProc, 'containerd', async () => {
      await run('ctr', ['--address', containerd.socket, 'version'], { timeout: 5000 });
      return true;
    });
    const pid = containerdProc.pid as number;
    this.#machine.update({ mountNamespace: readlinkSync(`/proc/${pid}/ns/mnt`) });
    for (const layout of images) await importLayout(containerd.socket, layout);
    this.#log(
      `containerd up, ${images.flatMap((i) => i.names).length} images imported (${Date.now() - started} ms)`,
    );

    // kubelet, in containerd's namespace.
    const kubeletKubeconfig = join(dir, 'kubelet.kubeconfig');
    await writeFile(
      kubeletKubeconfig,
      stringify(
        cluster.kubeconfigFor(`system:node:${this.name}`, {
          'client-certificate': pki.kubeletClientCert,
          'client-key': pki.kubeletClientKey,
        }),
      ),
      { mode: 0o600 },
    );
    const kubelet = this.#spawn('kubelet', 'nsenter', [
      '-t',
      String(pid),
      '--mount',
      '--cgroup',
      '--',
      binaries.kubelet,
      ...(await kubeletArgs({
        nodeDir: dir,
        nodeName: this.name,
        nodeIp: this.ip,
        port: ports.kubelet,
        healthzPort: ports.kubeletHealthz,
        containerdSocket: containerd.socket,
        caCert: cluster.pki.caCert,
        kubeconfig: kubeletKubeconfig,
        pki,
      })),
    ]);

    // kube-proxy, on the machine (it programs the machine's packet filter).
    const proxyKubeconfig = join(dir, 'kube-proxy.kubeconfig');
    await writeFile(
      proxyKubeconfig,
      stringify(
        cluster.kubeconfigFor('system:kube-proxy', {
          'client-certificate': pki.kubeProxyCert,
          'client-key': pki.kubeProxyKey,
        }),
      ),
      { mode: 0o600 },
    );
    const proxy = this.#spawn(
      'kube-proxy',
      binaries.kubeProxy,
      await kubeProxyArgs({
        nodeDir: dir,
        nodeName: this.name,
        kubeconfig: proxyKubeconfig,
        healthzPort: ports.kubeProxyHealthz,
        metricsPort: ports.kubeProxyMetrics,
      }),
    );

    await this.#waitFor(kubelet, `Node ${this.name} Ready`, async () => {
      const res = await cluster.admin.request('GET', `/api/v1/nodes/${this.name}`);
      if (res.status !== 200) return false;
      const node = res.json<{ status?: { conditions?: { type: string; status: string }[] } }>();
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    });
    await this.#waitFor(proxy, 'kube-proxy /healthz', async () => {
      const res = await fetch(`http://127.0.0.1:${ports.kubeProxyHealthz}/healthz`);
      return res.ok;
    });
    this.#log(`real node ${this.name} Ready at ${this.ip} in ${Date.now() - started} ms`);
  }

  #spawn(name: string, binary: string, args: string[]): ManagedProcess {
    const proc = new ManagedProcess({ name, binary, args, logFile: join(this.dir, `${name}.log`) }, () => {
      this.#onPidChange();
    });
    this.#processes.set(name, proc);
    proc.start();
    const pgid = proc.pid;
    if (pgid !== undefined) this.#machine.addProcessGroup(pgid);
    return proc;
  }

  async #waitFor(proc: ManagedProcess, what: string, check: () => Promise<boolean>): Promise<void> {
    for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
      if (this.#stopped) throw new Error(`node stopped while waiting for ${what}`);
      if (!proc.running)
        throw new Error(`${proc.spec.name} exited while waiting for ${what}:\n${proc.tail()}`);
      try {
        if (await check()) return;
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** A running program of the node (containerd, kubelet, kube-proxy, api-forwarder). */
  process(name: 'containerd' | 'kubelet' | 'kube-proxy' | 'api-forwarder'): ManagedProcess {
    const proc = this.#processes.get(name);
    if (!proc) throw new Error(`${name} has not been started`);
    return proc;
  }

  /** Imports more images (OCI layout folders) into the node's containerd. */
  async importImages(layouts: ImageLayout[]): Promise<void> {
    for (const layout of layouts) await importLayout(join(this.dir, 'containerd', 'containerd.sock'), layout);
  }

  pids(): number[] {
    return [...this.#processes.values()].map((p) => p.pid).filter((p) => p !== undefined);
  }

  /**
   * Stops kube-proxy, the kubelet and the forwarder, then containerd with everything it started
   * (shims and containers go with it: restoreMachine() kills every process left in the node's
   * namespace and cgroups). Safe to call twice.
   */
  async stopProcesses(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const name of ['kube-proxy', 'kubelet', 'api-forwarder'])
      await this.#processes.get(name)?.stop(3000);
    // (stop(), not a bare wait on the exit: its timer keeps this process alive until containerd is gone)
    await this.#processes.get('containerd')?.stop(2000);
  }

  /** Restores every machine setting the node changed and releases the machine (machine-state.ts). */
  async restoreMachine(): Promise<void> {
    await this.stopProcesses();
    await this.#machine.restore(this.#log);
  }

  /** Synchronous last resort at process exit: kill the groups; the reaper restores the rest. */
  killSync(): void {
    this.#stopped = true;
    for (const proc of this.#processes.values()) proc.signal('SIGKILL');
  }

  /** The logs of the node's programs, for a failure report. */
  logs(lines = 40): string {
    return [...this.#processes.values()].map((p) => `==> ${p.spec.name} <==\n${p.tail(lines)}`).join('\n');
  }
}
