/**
 * A real Kubernetes control plane on loopback, for tests, benchmarks and the demo.
 *
 * Three modes:
 *  - `api`: etcd + kube-apiserver (what kubebuilder's envtest gives).
 *  - `full`: plus kube-controller-manager (garbage collector, Deployment and ReplicaSet controllers),
 *    kube-scheduler and kwok with a few simulated nodes, so pods get scheduled and turn Ready
 *    without a container runtime.
 *  - `real`: `full` (with no kwok nodes unless asked) plus one real node on this machine, which runs
 *    real containers (real-node/real-node.ts). Needs root; one per machine.
 *
 * Every cluster lives in its own temporary folder on its own free ports, so several can run at once.
 * stop() ends every process and removes the folder; so do SIGINT/SIGTERM and process exit, and a
 * small reaper process does it if the owner is killed outright.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { type Binaries, ensureBinaries } from './binaries.ts';
import { generatePki, type Pki } from './pki.ts';
import { freePort } from './ports.ts';
import { ManagedProcess } from './process.ts';
import { type RunningPrometheus, startPrometheus } from './prometheus.ts';
import { RawClient } from './raw-client.ts';
import type { ImageLayout } from './real-node/oci-image.ts';
import type { RealNode } from './real-node/real-node.ts';

export type ClusterMode = 'api' | 'full' | 'real';
export type ComponentName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'prometheus';

export interface LocalClusterOptions {
  /**
   * `api` (default): etcd + kube-apiserver. `full`: plus controller-manager, scheduler and kwok nodes.
   * `real`: `full` plus one real node (see `node`); start() then fails with RealNodeUnsupportedError,
   * saying why, on a machine that cannot run one.
   */
  mode?: ClusterMode;
  /** Simulated (kwok) nodes: default 3 in `full` mode, 0 in `real` mode. */
  nodes?: number;
  /** `real` mode: more images to import into the node at start (besides pause and the nginx stand-ins). */
  nodeImages?: ImageLayout[];
  /** Keep etcd's fsync (default false: --unsafe-no-fsync, much faster and fine for throwaway data). */
  fsync?: boolean;
  /** Write an audit log (level Metadata, every request) to `<dir>/audit.log`. */
  auditLog?: boolean;
  /** Extra kube-apiserver flags, appended last so they win (for example `--max-requests-inflight=5`). */
  apiServerArgs?: string[];
  /** Extra etcd flags, appended last. */
  etcdArgs?: string[];
  /** Where to create the cluster folder (default: the OS temporary folder). */
  parentDir?: string;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
  /** How long start() may take before it gives up (default 180 s). */
  timeoutMs?: number;
  /**
   * Start a Prometheus that scrapes the annotated pods (see prometheus.ts), for the autopilot.
   * Default: on in `real` mode (pods really serve traffic there), off otherwise.
   */
  prometheus?: boolean;
}

/** A kubeconfig as a plain object, in the shape kubectl writes. */
export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: { name: string; cluster: Record<string, string | boolean> }[];
  users: { name: string; user: Record<string, string> }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  'current-context': string;
}

const here = dirname(fileURLToPath(import.meta.url));
const clusterName = 'elasticweb-local';
/** Clusters of this process that are still running, for the signal and exit handlers. */
const live = new Set<LocalCluster>();

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

export class LocalCluster {
  readonly dir: string;
  readonly mode: ClusterMode;
  readonly binaries: Binaries;
  readonly pki: Pki;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** The admin kubeconfig, as an object and as a file in the cluster folder. */
  readonly kubeconfig: Kubeconfig;
  readonly kubeconfigPath: string;
  /** An HTTPS client authenticated as admin (group system:masters). */
  readonly admin: RawClient;
  readonly auditLogPath: string | undefined;
  /** The real node (`real` mode only). */
  readonly node: RealNode | undefined;
  /** The cluster's Prometheus (`real` mode by default; see the `prometheus` option). */
  prometheus: RunningPrometheus | undefined;

  readonly #options: LocalClusterOptions;
  readonly #ports: Ports;
  readonly #processes = new Map<ComponentName, ManagedProcess>();
  readonly #log: (message: string) => void;
  #stopped = false;

  private constructor(
    dir: string,
    binaries: Binaries,
    pki: Pki,
    ports: Ports,
    options: LocalClusterOptions,
    node: RealNode | undefined,
  ) {
    this.dir = dir;
    this.node = node;
    this.mode = options.mode ?? 'api';
    this.binaries = binaries;
    this.pki = pki;
    this.#ports = ports;
    this.#options = options;
    this.#log = options.log ?? (() => {});
    this.server = `https://127.0.0.1:${ports.apiServer}`;
    this.kubeconfig = this.kubeconfigFor('admin', {
      'client-certificate-data': b64(pki.pem.adminCert),
      'client-key-data': b64(pki.pem.adminKey),
    });
    this.kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(this.kubeconfigPath, stringify(this.kubeconfig), { mode: 0o600 });
    this.admin = new RawClient(this.server, {
      ca: pki.pem.ca,
      cert: pki.pem.adminCert,
      key: pki.pem.adminKey,
    });
    this.auditLogPath = options.auditLog ? join(dir, 'audit.log') : undefined;
  }

  /** Builds the programs if needed, starts the cluster and resolves once it is ready to use. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const real = options.mode === 'real' ? await import('./real-node/real-node.ts') : undefined;
    // A machine that cannot run a node says so before anything is built.
    const prepared = await real?.prepareRealNode(options.log ?? (() => {}), options.nodeImages);
    const binaries = await ensureBinaries();
    installExitHandlers();
    let lastError: unknown;
    // Ports are probed free but could be taken by another process before our program binds them;
    // a start that fails that way is retried on new ports.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'elasticweb-cluster-'));
      writeFileSync(join(dir, 'pids'), '');
      startReaper(dir, real !== undefined);
      let cluster: LocalCluster | undefined;
      let node: RealNode | undefined;
      try {
        if (real && prepared) {
          node = await real.RealNode.claim(dir, prepared, options.log ?? (() => {}), () => {
            if (cluster) cluster.#writePids();
          });
        }
        const pki = await generatePki(dir, node ? [node.ip] : []);
        await node?.writePki(pki);
        const ports: Ports = {
          etcdClient: await freePort(),
          etcdPeer: await freePort(),
          apiServer: await freePort(),
          controllerManager: await freePort(),
          scheduler: await freePort(),
          kwok: await freePort(),
        };
        cluster = new LocalCluster(dir, binaries, pki, ports, options, node);
        live.add(cluster);
        await withTimeout(cluster.#startAll(), options.timeoutMs ?? 180_000, 'local cluster start');
        return cluster;
      } catch (err) {
        lastError = err;
        if (cluster) await cluster.stop();
        else {
          await node?.restoreMachine();
          rmSync(dir, { recursive: true, force: true });
        }
        if (!String(err).includes('address already in use')) break;
      }
    }
    throw lastError;
  }

  async #startAll(): Promise<void> {
    const started = Date.now();
    await this.#startEtcd();
    await this.#startApiServer();
    if (this.mode === 'full' || this.mode === 'real') {
      const kwokNodes = this.#options.nodes ?? (this.mode === 'full' ? 3 : 0);
      await writeFile(join(this.dir, 'admin.kubeconfig'), stringify(this.kubeconfig), { mode: 0o600 });
      await Promise.all([
        this.#startControllerManager(),
        this.#startScheduler(),
        ...(kwokNodes > 0 ? [this.#startKwok()] : []),
      ]);
      if (kwokNodes > 0) await this.#createNodes(kwokNodes);
      await this.#waitForDefaultServiceAccount();
    }
    if (this.node) await this.node.start(this, this.#ports.apiServer);
    if (this.#options.prometheus ?? this.mode === 'real') {
      const running = await startPrometheus({
        dir: this.dir,
        admin: this.admin,
        onPidChange: () => this.#writePids(),
        log: this.#log,
      });
      this.#processes.set('prometheus', running.process);
      this.prometheus = running;
      this.#writePids();
      this.#log(`prometheus ready at ${running.url}`);
    }
    this.#log(`cluster ready in ${Date.now() - started} ms (${this.mode} mode, ${this.server})`);
  }

  // ---- components -------------------------------------------------------------------------------

  #spawn(name: ComponentName, binary: string, args: string[], env?: NodeJS.ProcessEnv): ManagedProcess {
    const proc = new ManagedProcess({ name, binary, args, logFile: join(this.dir, `${name}.log`), env }, () =>
      this.#writePids(),
    );
    this.#processes.set(name, proc);
    proc.start();
    return proc;
  }

  #writePids(): void {
    if (this.#stopped) return;
    try {
      writeFileSync(
        join(this.dir, 'pids'),
        this.pids()
          .map((p) => `${p}\n`)
          .join(''),
      );
    } catch {
      // the folder is being removed
    }
  }

  #etcdArgs(): string[] {
    const p = this.#ports;
    const client = `http://127.0.0.1:${p.etcdClient}`;
    const peer = `http://127.0.0.1:${p.etcdPeer}`;
    return [
      '--name=default',
      `--data-dir=${join(this.dir, 'etcd-data')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      '--log-level=warn',
      ...(this.#options.fsync ? [] : ['--unsafe-no-fsync=true']),
      ...(this.#options.etcdArgs ?? []),
    ];
  }

  async #startEtcd(): Promise<void> {
    const proc = this.#spawn('etcd', this.binaries.etcd, this.#etcdArgs());
    await this.#waitFor(proc, 'etcd /health', async () => {
      const res = await fetch(`http://127.0.0.1:${this.#ports.etcdClient}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    });
  }

  #apiServerArgs(): string[] {
    const pki = this.pki;
    const args = [
      `--etcd-servers=http://127.0.0.1:${this.#ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${this.#ports.apiServer}`,
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--allow-privileged=true',
      '--profiling=false',
    ];
    // Without kube-controller-manager nothing creates the `default` ServiceAccount, so admission
    // would refuse every pod; envtest turns the plugin off for the same reason.
    if (this.mode === 'api') args.push('--disable-admission-plugins=ServiceAccount');
    if (this.node) args.push(...this.node.apiServerArgs(pki));
    if (this.auditLogPath) {
      const policy = join(this.dir, 'audit-policy.yaml');
      writeFileSync(
        policy,
        stringify({
          apiVersion: 'audit.k8s.io/v1',
          kind: 'Policy',
          omitStages: ['RequestReceived'],
          rules: [{ level: 'Metadata' }],
        }),
      );
      args.push(
        `--audit-policy-file=${policy}`,
        `--audit-log-path=${this.auditLogPath}`,
        '--audit-log-format=json',
      );
    }
    return [...args, ...(this.#options.apiServerArgs ?? [])];
  }

  async #startApiServer(): Promise<void> {
    const proc = this.#spawn('kube-apiserver', this.binaries.kubeApiserver, this.#apiServerArgs());
    await this.#waitFor(
      proc,
      'kube-apiserver /readyz',
      async () => (await this.admin.request('GET', '/readyz')).status === 200,
    );
  }

  /** The flags kube-controller-manager and kube-scheduler share: admin kubeconfig, loopback health port. */
  #componentArgs(port: number): string[] {
    const kubeconfig = join(this.dir, 'admin.kubeconfig');
    return [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(this.dir, 'component-certs')}`,
    ];
  }

  async #startControllerManager(): Promise<void> {
    const port = this.#ports.controllerManager;
    const proc = this.#spawn('kube-controller-manager', this.binaries.kubeControllerManager, [
      ...this.#componentArgs(port),
      `--root-ca-file=${this.pki.caCert}`,
      `--service-account-private-key-file=${this.pki.serviceAccountKey}`,
      '--use-service-account-credentials=false',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      // Nodes are simulated: no pod CIDRs to allocate.
      '--controllers=*,-node-ipam-controller',
    ]);
    await this.#waitForHealthz(proc, port);
  }

  async #startScheduler(): Promise<void> {
    const port = this.#ports.scheduler;
    const proc = this.#spawn('kube-scheduler', this.binaries.kubeScheduler, this.#componentArgs(port));
    await this.#waitForHealthz(proc, port);
  }

  async #startKwok(): Promise<void> {
    const workdir = join(this.dir, 'kwok');
    this.#spawn(
      'kwok',
      this.binaries.kwok,
      [
        `--kubeconfig=${join(this.dir, 'admin.kubeconfig')}`,
        `--config=${this.binaries.kwokStages}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--node-ip=127.0.0.1',
        `--server-address=127.0.0.1:${this.#ports.kwok}`,
        '--cidr=10.244.0.0/16',
        '--node-lease-duration-seconds=40',
      ],
      { ...process.env, KWOK_WORKDIR: workdir },
    );
    // kwok is ready when the nodes it manages turn Ready; #createNodes waits for that.
  }

  async #waitForHealthz(proc: ManagedProcess, port: number): Promise<void> {
    await this.#waitFor(proc, `${proc.spec.name} /healthz`, async () => {
      const res = await insecureGet(`https://127.0.0.1:${port}/healthz`);
      return res === 200;
    });
  }

  /** Registers `count` simulated nodes for kwok and waits until each is Ready and schedulable. */
  async #createNodes(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const name = `kwok-node-${i}`;
      await this.admin.must('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
          },
        },
        status: {
          allocatable: { cpu: '1000', memory: '4Ti', pods: '1000' },
          capacity: { cpu: '1000', memory: '4Ti', pods: '1000' },
        },
      });
    }
    const kwok = this.#processes.get('kwok') as ManagedProcess;
    await this.#waitFor(kwok, `${count} Ready kwok nodes`, async () => {
      const nodes = (await this.admin.must('GET', '/api/v1/nodes')).json<NodeList>().items;
      const ready = nodes.filter(
        (n) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
          !n.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/')),
      );
      return ready.length >= count;
    });
  }

  async #waitForDefaultServiceAccount(): Promise<void> {
    const kcm = this.#processes.get('kube-controller-manager') as ManagedProcess;
    await this.#waitFor(
      kcm,
      'the default ServiceAccount',
      async () =>
        (await this.admin.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status ===
        200,
    );
  }

  /**
   * Polls `check` until it returns true. Fails at once, with the end of the program's log, if the
   * program exits meanwhile. (Start-up as a whole is bounded by the timeout in start().)
   */
  async #waitFor(proc: ManagedProcess, what: string, check: () => Promise<boolean>): Promise<void> {
    let exited = false;
    void proc.exited.then(() => {
      exited = true;
    });
    for (let delay = 50; ; delay = Math.min(delay * 1.5, 500)) {
      if (this.#stopped) throw new Error(`cluster stopped while waiting for ${what}`);
      if (exited || !proc.running) {
        throw new Error(`${proc.spec.name} exited while waiting for ${what}:\n${proc.tail()}`);
      }
      try {
        if (await check()) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  // ---- for tests: tokens, component control -------------------------------------------------------

  /** A kubeconfig for the same cluster with another user. */
  kubeconfigFor(userName: string, user: Record<string, string>, namespace?: string): Kubeconfig {
    return {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: clusterName,
          cluster: { server: this.server, 'certificate-authority-data': b64(this.pki.pem.ca) },
        },
      ],
      users: [{ name: userName, user }],
      contexts: [
        {
          name: clusterName,
          context: { cluster: clusterName, user: userName, ...(namespace ? { namespace } : {}) },
        },
      ],
      'current-context': clusterName,
    };
  }

  /**
   * A bearer token for ServiceAccount `namespace/name` (created, with its namespace, if missing),
   * issued by the TokenRequest API exactly as the kubelet would mount it in a pod.
   */
  async tokenFor(namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
    await this.admin.must('POST', '/api/v1/namespaces', { metadata: { name: namespace } }, [201, 409]);
    await this.admin.must(
      'POST',
      `/api/v1/namespaces/${namespace}/serviceaccounts`,
      { metadata: { name, namespace } },
      [201, 409],
    );
    const res = await this.admin.must(
      'POST',
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds },
      },
    );
    return res.json<{ status: { token: string } }>().status.token;
  }

  /** A client that authenticates with `token` (close it when done). */
  clientForToken(token: string): RawClient {
    return new RawClient(this.server, { ca: this.pki.pem.ca, token });
  }

  /** Writes a kubeconfig that authenticates as ServiceAccount `namespace/name`; returns its path. */
  async writeServiceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    const token = await this.tokenFor(namespace, name);
    const path = join(this.dir, `sa-${namespace}-${name}.kubeconfig`);
    await writeFile(
      path,
      stringify(this.kubeconfigFor(`system:serviceaccount:${namespace}:${name}`, { token })),
      {
        mode: 0o600,
      },
    );
    return path;
  }

  /** The running program behind a component, to signal it (SIGSTOP, SIGKILL, ...). */
  process(name: ComponentName): ManagedProcess {
    const proc = this.#processes.get(name);
    if (!proc) throw new Error(`${name} is not part of this ${this.mode} cluster`);
    return proc;
  }

  /**
   * Stops a component (SIGKILL when `kill`, else SIGTERM), waits `downtimeMs`, starts it again on the
   * same port and waits until it is ready. For fault tests.
   */
  async restart(
    name: 'etcd' | 'kube-apiserver',
    options: { kill?: boolean; downtimeMs?: number } = {},
  ): Promise<void> {
    const proc = this.process(name);
    if (options.kill) {
      proc.signal('SIGKILL');
      await proc.exited;
    } else {
      await proc.stop();
    }
    if (options.downtimeMs) await new Promise((r) => setTimeout(r, options.downtimeMs));
    proc.start();
    if (name === 'etcd') {
      await this.#waitFor(proc, 'etcd /health', async () => {
        const res = await fetch(`http://127.0.0.1:${this.#ports.etcdClient}/health`);
        return res.ok;
      });
    }
    await this.#waitFor(
      this.process('kube-apiserver'),
      'kube-apiserver /readyz',
      async () => (await this.admin.request('GET', '/readyz')).status === 200,
    );
  }

  /** The pids of every running program of this cluster (the real node's included). */
  pids(): number[] {
    return [
      ...[...this.#processes.values()].map((p) => p.pid).filter((p) => p !== undefined),
      ...(this.node?.pids() ?? []),
    ];
  }

  /** Ends every process and removes the cluster folder. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    live.delete(this);
    this.prometheus?.stopDiscovery();
    // The node's programs first: nothing of it may outlive the API server that could tell it to stop.
    await this.node?.stopProcesses().catch(() => {});
    // Dependents first, storage last, so nothing logs a storm of connection errors.
    const order: ComponentName[] = [
      'prometheus',
      'kwok',
      'kube-scheduler',
      'kube-controller-manager',
      'kube-apiserver',
      'etcd',
    ];
    for (const name of order) await this.#processes.get(name)?.stop(3000);
    await this.admin.close().catch(() => {});
    try {
      // Sysctls, packet filter, bridge, cgroups, folders: back as they were (throws if it cannot).
      await this.node?.restoreMachine();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Synchronous last resort for process exit: SIGKILL every group and remove the folder. */
  killSync(): void {
    this.#stopped = true;
    for (const proc of this.#processes.values()) proc.signal('SIGKILL');
    this.node?.killSync();
    // A real node's machine changes are undone by the reaper, which sees this process end.
    if (!this.node) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The logs of every component, for a failure report. */
  async logs(lines = 40): Promise<string> {
    const own = [...this.#processes.values()].map((p) => `==> ${p.spec.name} <==\n${p.tail(lines)}`);
    return [...own, ...(this.node ? [this.node.logs(lines)] : [])].join('\n');
  }

  /** The audit log entries written so far (requires `auditLog: true`). */
  async auditEvents(): Promise<AuditEvent[]> {
    if (!this.auditLogPath) throw new Error('start the cluster with auditLog: true');
    const text = await readFile(this.auditLogPath, 'utf8').catch(() => '');
    // kube-apiserver appends while we read: only lines it has ended with a newline are whole.
    // The text after the last newline is an entry still being written, so it is left for the next read.
    const lines = text.split('\n').slice(0, -1);
    return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as AuditEvent);
  }
}

export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: {
    resource?: string;
    namespace?: string;
    name?: string;
    subresource?: string;
    apiGroup?: string;
  };
  responseStatus?: { code?: number };
  stageTimestamp: string;
}

interface NodeList {
  items: {
    spec?: { taints?: { key: string }[] };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

/** GET with certificate checks off: for the self-signed health ports of controller-manager and scheduler. */
async function insecureGet(url: string): Promise<number> {
  const { request, Agent } = await import('undici');
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    const res = await request(url, { dispatcher: agent });
    await res.body.dump();
    return res.statusCode;
  } finally {
    await agent.close();
  }
}

/**
 * The reaper outlives this process; when it dies, it kills the cluster's process groups, and for a
 * real node also runs real-node/cleanup.ts (which restores the machine).
 */
function startReaper(dir: string, realNode: boolean): void {
  const cleanup = realNode ? [process.execPath, join(here, 'real-node', 'cleanup.ts')] : [];
  const reaper = spawn('bash', [join(here, 'reaper.sh'), String(process.pid), dir, ...cleanup], {
    detached: true,
    stdio: 'ignore',
  });
  reaper.unref();
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let handlersInstalled = false;

/** On SIGINT/SIGTERM stop every cluster cleanly, then exit; on any exit, kill what is left. */
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', () => {
    for (const cluster of live) cluster.killSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...live].map((c) => c.stop())).then(() =>
        process.exit(signal === 'SIGINT' ? 130 : 143),
      );
    });
  }
}
