/**
 * The workload ElasticWeb manages, proven by real traffic on the real node (issue 10): real nginx pods
 * behind the NodePort, each Service reaching only its own pods, and no request dropped while pods
 * roll out, scale up, scale down or are evicted, with a steady load of 100 requests a second on
 * 127.0.0.1 (one connection per request). A pod that fails its readiness probe leaves the endpoints
 * and realQPS drops by singlePodsQPS.
 *
 * Every failed request fails the test; nothing is tried again. Beside a failure the test prints what
 * tells the causes apart (see `record`). In CI, one scale-down of 5 -> 1 once met 1 refused
 * connection in 1,740, at the moment the stopping pods exited; its cause was never found (README).
 *
 * The operator runs in this process against the real cluster. Load is bounded in rate and time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { programmedRules, type ServiceRules } from '../../hack/cluster/real-node/proxy-rules.ts';
import { describeLoad, type LoadResult, percentile, runLoad } from '../../hack/traffic/load.ts';
import { sliceEndpoints } from '../support/endpoint-slices.ts';
import { servingNodePort } from '../support/node-port.ts';
import {
  createElasticWeb,
  createNamespace,
  deploymentPath,
  ewPath,
  installCrd,
  type RunningOperator,
  startOperator,
  waitFor,
} from '../support/operator.ts';
import { type Change, recordChanges } from '../support/record-changes.ts';

const run = promisify(execFile);
const ns = 'traffic';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { containers: { image: string }[] };
  status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

let cluster: LocalCluster;
let admin: RawClient;
let operator: RunningOperator;
const figures: string[] = [];

before(async () => {
  cluster = await LocalCluster.start({ mode: 'real', log: (m) => console.log(`# ${m}`) });
  admin = cluster.admin;
  await installCrd(admin);
  operator = await startOperator(cluster);
  await createNamespace(admin, ns);
  await waitFor('the default ServiceAccount', async () =>
    (await admin.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200
      ? true
      : undefined,
  );
});

after(async () => {
  for (const line of figures) console.log(line);
  await operator?.stop();
  await cluster?.stop();
});

async function patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  const res = await admin.request('PATCH', ewPath(ns, name), { spec }, 'application/merge-patch+json');
  assert.equal(res.status, 200, res.body);
}

async function pods(name: string): Promise<Pod[]> {
  const selector = encodeURIComponent(`elasticweb.example.com/instance=${name}`);
  return (await admin.must('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=${selector}`)).json<{
    items: Pod[];
  }>().items;
}

const ready = (p: Pod) =>
  p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Waits until the ElasticWeb's pods are exactly `count`, all Ready, none terminating, all on `image`. */
async function settled(name: string, count: number, image?: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `${name}: ${count} Ready pods${image ? ` on ${image}` : ''} and nothing terminating`,
    async () => {
      const list = await pods(name);
      const ok =
        list.length === count &&
        list.every((p) => !p.metadata.deletionTimestamp && ready(p)) &&
        (!image || list.every((p) => p.spec.containers[0]?.image === image));
      return ok ? true : undefined;
    },
    timeoutMs,
  );
}

function nodePortUrl(port: number): string {
  return `http://127.0.0.1:${port}/`;
}

/**
 * What a load saw and, on the same clock, each change meanwhile of kube-proxy's rules for the Service
 * and of its EndpointSlices' conditions.
 */
type LoadWithEvidence = LoadResult & {
  rules: Change<ServiceRules>[];
  slices: Change<{ endpoints: string[] }>[];
};

/**
 * Runs `operation` while 100 requests a second go to the ElasticWeb's NodePort: the load starts 3 s
 * before it and stops 3 s after `done` resolves. Returns what the load saw, and kube-proxy's rules
 * and the EndpointSlices for the Service over the same seconds.
 */
async function underLoad(
  name: string,
  url: string,
  operation: () => Promise<void>,
  done: () => Promise<void>,
): Promise<LoadWithEvidence> {
  const stop = new AbortController();
  const rules = recordChanges(() => programmedRules(ns, name), stop.signal);
  const slices = recordChanges(() => sliceEndpoints(admin, ns, name), stop.signal);
  const load = runLoad({
    url,
    steps: [{ rps: 100, seconds: 300 }],
    serverHeader: 'X-Pod',
    signal: stop.signal,
  });
  await new Promise((r) => setTimeout(r, 3000));
  await operation();
  await done();
  await new Promise((r) => setTimeout(r, 3000));
  stop.abort();
  return { ...(await load), rules: await rules, slices: await slices };
}

describe('real traffic through the NodePort', () => {
  test('the sample answers HTTP 200 with nginx’s page, and every Ready pod serves some of the requests', async () => {
    await createElasticWeb(admin, ns, 'sample', {
      image: 'nginx:1.17.1',
      port: 30003,
      singlePodsQPS: 800,
      totalQPS: 2400,
    });
    await settled('sample', 3);
    await servingNodePort(ns, 'sample', 30003, 3);
    const res = await fetch(nodePortUrl(30003));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Welcome to nginx!/);
    const load = await runLoad({
      url: nodePortUrl(30003),
      steps: [{ rps: 20, seconds: 5 }],
      serverHeader: 'X-Pod',
    });
    assert.equal(load.failed, 0, describeLoad('sample', load));
    const names = (await pods('sample')).map((p) => p.metadata.name).sort();
    assert.deepEqual(Object.keys(load.byServer).sort(), names, 'each of the 3 pods answered');
    const ew = (await admin.must('GET', ewPath(ns, 'sample'))).json<{ status: { realQPS: number } }>();
    assert.equal(ew.status.realQPS, 2400);
  });

  test('two ElasticWebs in one namespace: each Service reaches only its own pods', async () => {
    await createElasticWeb(admin, ns, 'left', {
      image: 'nginx:1.17.1',
      port: 30011,
      singlePodsQPS: 100,
      totalQPS: 200,
    });
    await createElasticWeb(admin, ns, 'right', {
      image: 'nginx:1.17.2',
      port: 30012,
      singlePodsQPS: 100,
      totalQPS: 200,
    });
    await settled('left', 2);
    await settled('right', 2);
    await servingNodePort(ns, 'left', 30011, 2);
    await servingNodePort(ns, 'right', 30012, 2);
    for (const [name, port] of [
      ['left', 30011],
      ['right', 30012],
    ] as const) {
      const load = await runLoad({
        url: nodePortUrl(port),
        steps: [{ rps: 20, seconds: 4 }],
        serverHeader: 'X-Pod',
      });
      assert.equal(load.failed, 0, describeLoad(name, load));
      const own = (await pods(name)).map((p) => p.metadata.name).sort();
      assert.deepEqual(
        Object.keys(load.byServer).sort(),
        own,
        `${name}'s NodePort reaches exactly its own pods`,
      );
    }
    await admin.must('DELETE', ewPath(ns, 'left'));
    await admin.must('DELETE', ewPath(ns, 'right'));
  });
});

describe('under a steady 100 requests a second, nothing is dropped', () => {
  const name = 'steady';
  const url = nodePortUrl(30100);

  before(async () => {
    await createElasticWeb(admin, ns, name, {
      image: 'nginx:1.17.1',
      port: 30100,
      singlePodsQPS: 100,
      totalQPS: 300,
    });
    await settled(name, 3);
    // The load must meet a Service that exists: kube-proxy programs the NodePort a moment after the
    // pods turn Ready (a CI run measured the rollout's first 0.47 s as refused for this reason alone).
    await servingNodePort(ns, name, 30100, 3);
  });

  const record = async (what: string, load: LoadWithEvidence) => {
    const fewest = Math.min(...load.rules.map((r) => r.endpoints.length));
    figures.push(
      `${describeLoad(`under load: ${what}`, load)}; kube-proxy's rules changed ${load.rules.length - 1} time(s), fewest endpoints ${fewest}`,
    );
    if (load.failed > 0) {
      figures.push(`#   failures (s, cause): ${JSON.stringify(load.failures.slice(0, 50))}`);
      // Evidence for the next look at a refusal: the load started 3 s before the operation, so a pod
      // that is gone now but answered long after 3 s was still routed to while it drained.
      const now = new Set((await pods(name)).map((p) => p.metadata.name));
      const gone = Object.entries(load.lastAnswerBy).filter(([pod]) => !now.has(pod));
      figures.push(`#   last answer (s) of each pod now gone: ${JSON.stringify(Object.fromEntries(gone))}`);
      figures.push(
        `#   kube-proxy's rules for the Service (s since the load started): ${JSON.stringify(load.rules)}`,
      );
      figures.push(
        `#   its EndpointSlices (R ready, S serving, T terminating; s since the load started): ${JSON.stringify(load.slices)}`,
      );
      // A slice left stale for seconds would show here: kube-controller-manager retries a sync that
      // found its own cache behind ("EndpointSlice informer cache is out of date") with a backoff
      // that doubles from 1 s while the failures go on.
      const kcm = readFileSync(cluster.process('kube-controller-manager').spec.logFile, 'utf8')
        .split('\n')
        .filter(
          (l) => l.includes(`"${ns}/${name}"`) && /endpoint ?slice/i.test(l) && /error|retry|fail/i.test(l),
        );
      figures.push(
        `#   kube-controller-manager's last EndpointSlice retries for ${name}: ${JSON.stringify(kcm.slice(-20))}`,
      );
    }
    assert.equal(load.failed, 0, describeLoad(what, load));
    assert.ok(load.ok > 500, `the load ran (${load.ok} answers)`);
    assert.ok(
      load.rules.length > 0 && load.rules.every((r) => r.endpoints.length > 0 && !r.rejected),
      `kube-proxy always had an endpoint to send to: ${JSON.stringify(load.rules)}`,
    );
  };

  test('an image rollout', async () => {
    const load = await underLoad(
      name,
      url,
      () => patchSpec(name, { image: 'nginx:1.17.2' }),
      () => settled(name, 3, 'nginx:1.17.2'),
    );
    await record('image rollout (3 pods, nginx:1.17.1 -> 1.17.2)', load);
  });

  test('a scale-up', async () => {
    const load = await underLoad(
      name,
      url,
      async () => void (await patchSpec(name, { totalQPS: 500 })),
      () => settled(name, 5),
    );
    await record('scale-up 3 -> 5', load);
  });

  test('a scale-down', async () => {
    const load = await underLoad(
      name,
      url,
      async () => void (await patchSpec(name, { totalQPS: 100 })),
      () => settled(name, 1),
    );
    await record('scale-down 5 -> 1', load);
  });

  test('an eviction (a drain takes one pod at a time: a second eviction is refused meanwhile)', async () => {
    await patchSpec(name, { totalQPS: 300 });
    await settled(name, 3);
    // As in before(): the load starts once kube-proxy sends to all 3, so what it measures is the eviction.
    await servingNodePort(ns, name, 30100, 3);
    let secondRefused: number | undefined;
    const load = await underLoad(
      name,
      url,
      async () => {
        const [first, second] = await pods(name);
        const evict = (pod: Pod | undefined) =>
          admin.request('POST', `/api/v1/namespaces/${ns}/pods/${pod?.metadata.name}/eviction`, {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name: pod?.metadata.name, namespace: ns },
          });
        const res = await evict(first);
        assert.equal(res.status, 201, res.body);
        secondRefused = (await evict(second)).status;
      },
      () => settled(name, 3),
    );
    assert.equal(
      secondRefused,
      429,
      'the PodDisruptionBudget refuses a second eviction while one pod is down',
    );
    await record('eviction of 1 of 3 pods', load);
  });
});

describe('readiness decides who serves', () => {
  test('a pod that fails its readiness probe leaves the endpoints, and realQPS drops by singlePodsQPS', async () => {
    const name = 'probe';
    await createElasticWeb(admin, ns, name, {
      image: 'nginx:1.17.1',
      port: 30200,
      singlePodsQPS: 100,
      totalQPS: 300,
    });
    await settled(name, 3);
    const [broken] = await pods(name);
    // The probe GETs /: without its index page nginx answers 403, and the pod is no longer Ready.
    await run('kubectl', [
      '--kubeconfig',
      cluster.kubeconfigPath,
      '-n',
      ns,
      'exec',
      broken?.metadata.name as string,
      '-c',
      'web',
      '--',
      'sh',
      '-c',
      'rm -f /var/www/html/index*.html',
    ]);
    await waitFor('realQPS 200', async () => {
      const ew = (await admin.must('GET', ewPath(ns, name))).json<{ status: { realQPS?: number } }>();
      return ew.status.realQPS === 200 ? true : undefined;
    });
    const endpoints = (
      await admin.must(
        'GET',
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${name}`,
      )
    ).json<{ items: { endpoints?: { addresses: string[]; conditions: { ready?: boolean } }[] }[] }>();
    const readyAddresses = endpoints.items.flatMap((s) =>
      (s.endpoints ?? []).filter((e) => e.conditions.ready).flatMap((e) => e.addresses),
    );
    assert.equal(readyAddresses.length, 2);
    assert.ok(
      !readyAddresses.includes(broken?.status.podIP as string),
      'the broken pod is not a ready endpoint',
    );
    // The slice is the intent; kube-proxy applies it on its next sync (about 1 s later here). Traffic
    // sent in between still reaches the pod (CI saw one 403 so), so wait for the rules themselves.
    const rules = await waitFor('kube-proxy to drop the broken pod from its rules', async () => {
      const programmed = (await programmedRules(ns, name)).endpoints;
      return programmed.length === 2 ? programmed : undefined;
    });
    assert.ok(
      !rules.some((r) => r.startsWith(`${broken?.status.podIP}:`)),
      `kube-proxy sends to the two Ready pods only: ${rules.join(', ')}`,
    );
    const load = await runLoad({
      url: nodePortUrl(30200),
      steps: [{ rps: 20, seconds: 5 }],
      serverHeader: 'X-Pod',
    });
    assert.equal(load.failed, 0, describeLoad('after a pod failed readiness', load));
    assert.ok(!((broken?.metadata.name as string) in load.byServer), 'no request reached the broken pod');
    const d = (await admin.must('GET', deploymentPath(ns, name))).json<{
      status: { readyReplicas: number };
    }>();
    assert.equal(d.status.readyReplicas, 2);
    figures.push(
      `# readiness: realQPS 300 -> 200 after one of 3 pods failed its probe; p99 ${percentile(load.latenciesMs, 99).toFixed(1)} ms`,
    );
  });
});
