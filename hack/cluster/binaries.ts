/**
 * Where the control-plane programs are (and a real node's, when asked), building them first when any
 * is missing. hack/cluster/build.sh owns the versions and the cache layout; this only asks it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const buildScript = join(dirname(fileURLToPath(import.meta.url)), 'build.sh');

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  /** kwok's node and pod stages (a multi-document YAML file). */
  kwokStages: string;
  /** The Kubernetes release, for example v1.37.2. */
  kubernetesVersion: string;
}

/** A real node's programs: same Kubernetes release as the control plane, plus the CNI plugins. */
export interface NodeBinaries {
  kubelet: string;
  kubeProxy: string;
  /** The folder holding bridge, host-local, loopback and portmap. */
  cniBinDir: string;
}

function parse(output: string): Binaries {
  const vars = Object.fromEntries(
    output
      .split('\n')
      .map((line) => line.match(/^(\w+)=(.*)$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  const k8s = vars.KUBERNETES_BIN;
  const etcd = vars.ETCD_BIN;
  const kwok = vars.KWOK_BIN;
  if (!k8s || !etcd || !kwok) throw new Error(`unexpected output from ${buildScript}:\n${output}`);
  return {
    etcd: join(etcd, 'etcd'),
    kubeApiserver: join(k8s, 'kube-apiserver'),
    kubeControllerManager: join(k8s, 'kube-controller-manager'),
    kubeScheduler: join(k8s, 'kube-scheduler'),
    kwok: join(kwok, 'kwok'),
    kwokStages: join(kwok, 'stages.yaml'),
    kubernetesVersion: k8s.match(/kubernetes-(v[^/]+)\//)?.[1] ?? 'unknown',
  };
}

function allPresent(b: Binaries): boolean {
  return [b.etcd, b.kubeApiserver, b.kubeControllerManager, b.kubeScheduler, b.kwok, b.kwokStages].every(
    (f) => existsSync(f),
  );
}

function parseNode(output: string): NodeBinaries {
  const k8s = output.match(/^KUBERNETES_BIN=(.*)$/m)?.[1];
  const cni = output.match(/^CNI_BIN=(.*)$/m)?.[1];
  if (!k8s || !cni) throw new Error(`unexpected output from ${buildScript}:\n${output}`);
  return { kubelet: join(k8s, 'kubelet'), kubeProxy: join(k8s, 'kube-proxy'), cniBinDir: cni };
}

function nodePresent(b: NodeBinaries): boolean {
  return [
    b.kubelet,
    b.kubeProxy,
    ...['bridge', 'host-local', 'loopback', 'portmap'].map((p) => join(b.cniBinDir, p)),
  ].every((f) => existsSync(f));
}

/** Runs build.sh with `args`, its progress shown on stderr; resolves with what it printed. */
function build(args: string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [buildScript, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      process.stderr.write(chunk);
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${buildScript} ${args.join(' ')} failed (${code})`)),
    );
  });
}

let cached: Promise<Binaries> | undefined;
let cachedNode: Promise<NodeBinaries> | undefined;

/**
 * The paths of every program, building what is missing (minutes on a cold machine; progress goes
 * to stderr so a person watching sees it move).
 */
export function ensureBinaries(): Promise<Binaries> {
  cached ??= (async () => {
    const { stdout } = await promisify(execFile)('bash', [buildScript, '--print']);
    const found = parse(stdout);
    if (allPresent(found)) return found;
    const built = await build([]);
    const result = parse(built);
    if (!allPresent(result)) throw new Error(`${buildScript} finished but binaries are missing`);
    return result;
  })();
  return cached;
}

/** kubelet, kube-proxy and the CNI plugins, building what is missing (build.sh --real-node). */
export function ensureNodeBinaries(): Promise<NodeBinaries> {
  cachedNode ??= (async () => {
    const { stdout } = await promisify(execFile)('bash', [buildScript, '--print']);
    const found = parseNode(stdout);
    if (nodePresent(found)) return found;
    const result = parseNode(await build(['--real-node']));
    if (!nodePresent(result)) throw new Error(`${buildScript} --real-node finished but programs are missing`);
    return result;
  })();
  return cachedNode;
}
