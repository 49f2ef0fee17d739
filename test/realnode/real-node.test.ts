/**
 * The real node (`LocalCluster.start({ mode: 'real' })`): it turns Ready; real nginx pods serve a
 * NodePort on 127.0.0.1, both replicas answering; a pod reaches the API server through the
 * `kubernetes` Service with verified TLS; the kubelet refuses anonymous and unauthorized callers
 * while the API server's logs and exec paths through it work; a second node on the machine is
 * refused; and stop() leaves the machine as it found it.
 *
 * Needs root and a machine that can run a node (the suite fails, saying why, on one that cannot:
 * a skipped suite would count as a pass). Traffic goes only to 127.0.0.1, the node's bridge
 * address and pod addresses, bounded in count and time.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { imageNames, nodeBaseImage } from '../../hack/cluster/real-node/images.ts';
import { readSysctl } from '../../hack/cluster/real-node/machine-facts.ts';
import { operatorImage } from '../../hack/cluster/real-node/operator-image.ts';
import { type MachineSnapshot, machineSnapshot } from '../support/machine-snapshot.ts';
import { servingNodePort } from '../support/node-port.ts';
import { waitUntilGone } from '../support/processes.ts';

const run = promisify(execFile);
const ns = 'realnode-test';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One GET on a new connection (so kube-proxy picks an endpoint each time). */
function getOnce(
  url: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

/** A request to the kubelet API (its certificate is checked against the cluster CA). */
function kubeletGet(
  cluster: LocalCluster,
  path: string,
  headers: Record<string, string> = {},
): Promise<number> {
  const url = new URL(path, cluster.node?.kubeletUrl);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: cluster.pki.pem.ca, headers, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error('kubelet request timed out')));
    req.once('error', reject);
    req.end();
  });
}

async function kubectl(cluster: LocalCluster, ...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', [
    '--kubeconfig',
    cluster.kubeconfigPath,
    '--request-timeout=30s',
    ...args,
  ]);
  return stdout;
}

/** Processes whose command line names `dir` (a cluster's programs all do: data, certificates, logs). */
function processesNaming(dir: string): string[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        return cmd.includes(dir) ? [`${pid} ${cmd.slice(0, 100)}`] : [];
      } catch {
        return [];
      }
    });
}

/**
 * Rules of someone else's in the tables kube-proxy and the kubelet also use (as Docker or a firewall
 * would have), so that stop() must remove the node's chains from them and leave these be.
 */
const preexisting = 'ELASTICWEB-TEST-PREEXISTING';
let tablesBefore: string[] = [];
async function addPreexistingRules(): Promise<void> {
  tablesBefore = (await run('nft', ['list', 'tables'])).stdout.split('\n').filter(Boolean);
  for (const table of ['filter', 'nat']) {
    await run('iptables', ['-t', table, '-N', preexisting]);
    await run('iptables', ['-t', table, '-A', preexisting, '-s', '192.0.2.99/32', '-j', 'RETURN']);
  }
}
async function removePreexistingRules(): Promise<void> {
  for (const table of ['filter', 'nat']) {
    await run('iptables', ['-t', table, '-F', preexisting]).catch(() => {});
    await run('iptables', ['-t', table, '-X', preexisting]).catch(() => {});
    if (!tablesBefore.includes(`table ip ${table}`))
      await run('nft', ['delete', 'table', 'ip', table]).catch(() => {});
  }
}

describe('real mode', () => {
  let snapshot: MachineSnapshot;
  let cluster: LocalCluster;
  let snapshotForward: string | undefined;

  before(async () => {
    await addPreexistingRules();
    snapshot = await machineSnapshot();
    snapshotForward = readSysctl('net.ipv4.ip_forward');
    const log = (m: string) => console.log(`# ${m}`);
    cluster = await LocalCluster.start({ mode: 'real', log, nodeImages: [await nodeBaseImage(log)] });
    await cluster.admin.must('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    await until('the default ServiceAccount', async () =>
      (await cluster.admin.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200
        ? true
        : undefined,
    );
  });

  after(async () => {
    // Normally stopped by the last test; this is for a failure before it.
    await cluster?.stop();
    await removePreexistingRules();
  });

  test('the node is Ready with the node address, next to no kwok node', async () => {
    const nodes = (await cluster.admin.must('GET', '/api/v1/nodes')).json<{
      items: {
        metadata: { name: string };
        status: {
          addresses: { type: string; address: string }[];
          conditions: { type: string; status: string }[];
        };
      }[];
    }>().items;
    assert.deepEqual(
      nodes.map((n) => n.metadata.name),
      ['real-node'],
    );
    const node = nodes[0] as (typeof nodes)[number];
    assert.ok(node.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
    assert.deepEqual(node.status.addresses.find((a) => a.type === 'InternalIP')?.address, cluster.node?.ip);
  });

  test('a second real node on the same machine is refused, naming the one that runs', async () => {
    await assert.rejects(
      LocalCluster.start({ mode: 'real' }),
      /a real node already runs on this machine \(owner pid \d+/,
    );
    // The refusal changed nothing: the first node is still Ready.
    const res = await cluster.admin.must('GET', '/api/v1/nodes/real-node');
    assert.ok(
      res
        .json<{ status: { conditions: { type: string; status: string }[] } }>()
        .status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
  });

  test('nginx:1.17.1, 2 replicas behind a NodePort: "Welcome to nginx!" on 127.0.0.1, from both pods', async () => {
    await cluster.admin.must('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.17.1', ports: [{ containerPort: 80 }] }] },
        },
      },
    });
    const svc = (
      await cluster.admin.must('POST', `/api/v1/namespaces/${ns}/services`, {
        metadata: { name: 'web' },
        spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80 }] },
      })
    ).json<{ spec: { ports: { nodePort: number }[] } }>();
    const nodePort = svc.spec.ports[0]?.nodePort as number;
    await until('2 ready replicas', async () => {
      const d = (await cluster.admin.must('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`)).json<{
        status?: { readyReplicas?: number };
      }>();
      return d.status?.readyReplicas === 2 ? true : undefined;
    });
    const pods = (
      await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`)
    ).json<{
      items: {
        metadata: { name: string };
        spec: { containers: { imagePullPolicy: string }[] };
        status: { podIP: string };
      }[];
    }>().items;
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      assert.equal(
        pod.spec.containers[0]?.imagePullPolicy,
        'IfNotPresent',
        'a tagged image is used as imported, never pulled',
      );
      assert.match(pod.status.podIP, /^10\.77\.0\.\d+$/);
    }
    const url = `http://127.0.0.1:${nodePort}/`;
    // Never the NodePort before kube-proxy's rules: see test/support/node-port.ts.
    await servingNodePort(ns, 'web', nodePort, 2, { timeoutMs: 30_000 });
    // 60 requests, one new connection each, at most 20 per second.
    const servedBy = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const res = await getOnce(url);
      assert.equal(res.status, 200);
      assert.match(res.body, /Welcome to nginx!/);
      const pod = String(res.headers['x-pod']);
      servedBy.set(pod, (servedBy.get(pod) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(
      [...servedBy.keys()].sort(),
      pods.map((p) => p.metadata.name).sort(),
      `requests per pod: ${JSON.stringify([...servedBy])}`,
    );
    // The tag is in the image: the stand-in for 1.17.1 says so.
    assert.equal((await getOnce(`${url}version.txt`)).body, '1.17.1\n');
  });

  test('nginx:1.17.2 runs as non-root with a read-only root, no capabilities and the safe sysctl for port 80; stub_status on 8080', async () => {
    await cluster.admin.must('POST', `/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'nonroot' },
      spec: {
        securityContext: {
          runAsUser: 33,
          runAsGroup: 33,
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
          sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
        },
        containers: [
          {
            name: 'nginx',
            image: 'nginx:1.17.2',
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
        ],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    });
    const ip = await until('the pod to be Ready', async () => {
      const p = (await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/pods/nonroot`)).json<{
        status: { podIP?: string; conditions?: { type: string; status: string }[] };
      }>();
      return p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ? p.status.podIP
        : undefined;
    });
    const page = await until('nginx to answer on the pod address', async () => {
      const res = await getOnce(`http://${ip}/version.txt`);
      return res.status === 200 ? res : undefined;
    });
    assert.equal(page.body, '1.17.2\n');
    assert.equal(page.headers['x-pod'], 'nonroot');
    const status = await getOnce(`http://${ip}:8080/stub_status`);
    assert.match(status.body, /^Active connections: \d+ \nserver accepts handled requests\n \d+ \d+ \d+ /);
    const proc = await kubectl(
      cluster,
      'exec',
      '-n',
      ns,
      'nonroot',
      '--',
      'grep',
      '-E',
      '^(Uid|CapEff)',
      '/proc/1/status',
    );
    assert.match(proc, /^Uid:\s+33\s+33\s+33\s+33\nCapEff:\s+0+\n$/);
  });

  test('pods reach each other through a ClusterIP (itself included), confined to the bridge, with the machine forwarding nothing', async () => {
    const svc = (await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/services/web`)).json<{
      spec: { clusterIP: string };
    }>();
    const pods = (await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`))
      .json<{
        items: { metadata: { name: string } }[];
      }>()
      .items.map((p) => p.metadata.name);
    // 20 requests from one pod, each on a new connection, with bash's /dev/tcp (the image has no curl).
    const script = `for i in $(seq 20); do exec 3<>/dev/tcp/${svc.spec.clusterIP}/80; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; grep -i '^x-pod:' <&3; exec 3<&-; done`;
    const out = await kubectl(cluster, 'exec', '-n', ns, pods[0] as string, '--', 'bash', '-c', script);
    const seen = new Set(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^x-pod:\s*/i, '').trim()),
    );
    assert.deepEqual([...seen].sort(), [...pods].sort(), out);
    // Forwarding is on for the bridge alone, and pods' packets to anywhere else are dropped.
    assert.equal(readSysctl('net.ipv4.ip_forward'), snapshotForward);
    assert.equal(readSysctl('net.ipv4.conf.elasticweb0.forwarding'), '1');
    const { stdout } = await run('nft', ['list', 'table', 'inet', 'elasticweb-real-node']);
    assert.match(stdout, /iifname "elasticweb0" oifname != "elasticweb0" drop/);
  });

  test('kubectl exec and kubectl logs reach the pods through the kubelet API', async () => {
    const pod = (
      await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`)
    ).json<{
      items: { metadata: { name: string } }[];
    }>().items[0]?.metadata.name as string;
    assert.equal(
      await kubectl(cluster, 'exec', '-n', ns, pod, '--', 'cat', '/var/www/html/version.txt'),
      '1.17.1\n',
    );
    // nginx logs each request to stdout; the previous test sent some to every pod.
    assert.match(await kubectl(cluster, 'logs', '-n', ns, pod), /"GET \/ HTTP\/1\.1" 200/);
  });

  test('the kubelet API refuses anonymous (401) and unauthorized (403) callers', async () => {
    assert.equal(await kubeletGet(cluster, '/pods'), 401);
    assert.equal(await kubeletGet(cluster, '/healthz'), 401);
    const token = await cluster.tokenFor(ns, 'nobody');
    assert.equal(await kubeletGet(cluster, '/pods', { authorization: `Bearer ${token}` }), 403);
  });

  test('a pod reaches the API server through the kubernetes Service, TLS verified', async () => {
    // Node 24 (the local base image) in a pod: GET /version on $KUBERNETES_SERVICE_HOST:443 with the
    // ServiceAccount's token, checking the server certificate against the mounted CA.
    const script = `
const fs = require('node:fs'); const https = require('node:https');
const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
const host = process.env.KUBERNETES_SERVICE_HOST, port = process.env.KUBERNETES_SERVICE_PORT;
https.get({ host, port, path: '/version', ca: fs.readFileSync(dir + '/ca.crt'),
  headers: { authorization: 'Bearer ' + fs.readFileSync(dir + '/token', 'utf8') } }, (res) => {
  let body = ''; res.on('data', (c) => body += c);
  res.on('end', () => { console.log('status ' + res.statusCode + ' from ' + host + ':' + port + ' ' + body.replace(/\\s+/g, ' ')); process.exit(res.statusCode === 200 ? 0 : 1); });
}).on('error', (e) => { console.log('error ' + e.message); process.exit(1); });`;
    await cluster.admin.must('POST', `/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'api-client' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'node', image: imageNames.nodeBase, command: ['node', '-e', script] }],
      },
    });
    const phase = await until('the pod to finish', async () => {
      const p = (await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/pods/api-client`)).json<{
        status: { phase: string };
      }>();
      return p.status.phase === 'Succeeded' || p.status.phase === 'Failed' ? p.status.phase : undefined;
    });
    const logs = await kubectl(cluster, 'logs', '-n', ns, 'api-client');
    assert.equal(phase, 'Succeeded', logs);
    assert.match(
      logs,
      new RegExp(
        `^status 200 from 10\\.96\\.0\\.1:443 .*"gitVersion": ?"${cluster.binaries.kubernetesVersion}"`,
      ),
    );
  });

  test("the operator's image, built from the Dockerfile by buildah with no registry, runs on the node as 65532", async () => {
    const layout = await operatorImage((m) => console.log(`# ${m}`));
    await cluster.node?.importImages([layout]);
    const pods = {
      // The image's entry point (node with the Dockerfile's flags, dist/, production dependencies).
      'operator-help': { args: ['--help'] },
      // The image's user (USER 65532:65532), with the distroless path to node.
      'operator-uid': { command: ['/nodejs/bin/node', '-e', 'console.log("uid " + process.getuid())'] },
    };
    for (const [name, run] of Object.entries(pods)) {
      await cluster.admin.must('POST', `/api/v1/namespaces/${ns}/pods`, {
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'operator', image: 'elasticweb-operator:local', ...run }],
        },
      });
    }
    for (const name of Object.keys(pods)) {
      const phase = await until(`pod ${name} to finish`, async () => {
        const p = (await cluster.admin.must('GET', `/api/v1/namespaces/${ns}/pods/${name}`)).json<{
          status: { phase: string };
        }>();
        return p.status.phase === 'Succeeded' || p.status.phase === 'Failed' ? p.status.phase : undefined;
      });
      assert.equal(phase, 'Succeeded', await kubectl(cluster, 'logs', '-n', ns, name));
    }
    assert.match(await kubectl(cluster, 'logs', '-n', ns, 'operator-help'), /--metrics-bind-address/);
    assert.equal(await kubectl(cluster, 'logs', '-n', ns, 'operator-uid'), 'uid 65532\n');
  });

  test('stop() leaves the machine as it was: settings, packet filter, mounts, links, cgroups, folders, processes', async () => {
    const during = await machineSnapshot();
    // The comparison means something only if the node did change these while it ran.
    assert.ok(during.links.includes('elasticweb0'), 'the bridge existed while the node ran');
    assert.notEqual(during.nftRuleset, snapshot.nftRuleset, 'kube-proxy programmed the packet filter');
    assert.ok(
      during.cgroups.some((d) => d.includes('/realnode/kubepods')),
      'pods ran under the realnode cgroups',
    );
    assert.ok(
      during.nodeProcesses.some((p) => / nginx: master/.test(p) || /nginx/.test(p)),
      'nginx ran',
    );
    await cluster.stop();
    // (its reaper notices within a second that the cluster is gone, and exits)
    await until(
      'no process of the cluster to be left',
      async () => (processesNaming(cluster.dir).length === 0 ? true : undefined),
      10_000,
    );
    const afterStop = await machineSnapshot();
    assert.deepEqual(afterStop, snapshot);
  });
});

describe('a real node whose owner is killed with SIGKILL', () => {
  const fixture = new URL('../fixtures/real-node-owner.ts', import.meta.url).pathname;

  /** Starts the fixture; resolves once its node runs a pod, with what it reported. */
  async function startOwner() {
    const scratch = mkdtempSync(join(tmpdir(), 'real-node-owner-'));
    const infoFile = join(scratch, 'info.json');
    const output = openSync(join(scratch, 'output.log'), 'w');
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, CLUSTER_INFO: infoFile },
      stdio: ['ignore', output, output],
    });
    closeSync(output);
    let ended = false;
    const exited = new Promise<void>((r) =>
      child.once('exit', () => {
        ended = true;
        r();
      }),
    );
    try {
      // Up to 240 s (a cold image build included); at once, with its output, if the fixture ends first.
      for (const deadline = Date.now() + 240_000; ; ) {
        if (existsSync(infoFile)) {
          const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { pids: number[]; dir: string };
          return { child, exited, info };
        }
        if (ended || Date.now() > deadline) {
          child.kill('SIGKILL');
          const log = readFileSync(join(scratch, 'output.log'), 'utf8');
          throw new Error(
            `the fixture ${ended ? 'exited' : 'took 240 s'} without reporting its cluster:\n${log}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** The reaper of the cluster in `dir` (a detached bash running reaper.sh). */
  function reaperOf(dir: string): number | undefined {
    for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (cmd.some((a) => a.endsWith('reaper.sh')) && cmd.includes(dir)) return Number(pid);
      } catch {
        // gone
      }
    }
    return undefined;
  }

  test('the reaper restores the machine', async () => {
    const before = await machineSnapshot();
    const { child, exited, info } = await startOwner();
    assert.ok((await machineSnapshot()).links.includes('elasticweb0'), 'the node runs');
    child.kill('SIGKILL');
    await exited;
    assert.deepEqual(await waitUntilGone(info.pids, 30_000), []);
    const afterKill = await until(
      'the reaper to restore the machine',
      async () => {
        const now = await machineSnapshot();
        // The reaper itself names the folder until it is done.
        return now.stateDirs.length === 0 &&
          now.nodeProcesses.length === 0 &&
          !existsSync(info.dir) &&
          processesNaming(info.dir).length === 0
          ? now
          : undefined;
      },
      60_000,
    );
    assert.deepEqual(afterKill, before);
  });

  test('when the reaper is killed too, the next start undoes what was left, and says so', async () => {
    const before = await machineSnapshot();
    const { child, exited, info } = await startOwner();
    const reaper = reaperOf(info.dir);
    assert.ok(reaper, 'the cluster has a reaper');
    process.kill(reaper, 'SIGKILL');
    child.kill('SIGKILL');
    await exited;
    // As after a power loss of the owner alone: the node's shims, containers, bridge and rules remain.
    await new Promise((r) => setTimeout(r, 2000));
    const left = await machineSnapshot();
    assert.ok(
      left.links.includes('elasticweb0') && left.stateDirs.length > 0,
      'the killed node left its changes',
    );
    const messages: string[] = [];
    const next = await LocalCluster.start({ mode: 'real', log: (m) => messages.push(m) });
    try {
      assert.ok(
        messages.some((m) => m.startsWith('undoing what an earlier real node')),
        `the start said it cleaned up: ${messages.join(' | ')}`,
      );
      assert.equal(existsSync(info.dir), false, "the dead owner's cluster folder is gone");
      // Its control plane too (etcd, kube-apiserver, ...), which only the dead reaper would have ended.
      assert.deepEqual(
        await waitUntilGone(info.pids, 10_000),
        [],
        'every process of the dead cluster has ended',
      );
      assert.deepEqual(processesNaming(info.dir), [], 'no process names its folder');
    } finally {
      await next.stop();
    }
    assert.deepEqual(await machineSnapshot(), before);
  });
});
