/**
 * node bench/write-cost.ts [N]
 *
 * What one change of a Deployment's replicas costs on this API server, by how it is written, so the
 * report's update-latency gap can be split into write cost and reaction time:
 *  - server-side apply of the whole desired form (ours, src/runtime/reconcile/ensure-child.ts);
 *  - a JSON merge patch of spec.replicas alone;
 *  - a PUT of the object last read (the tutorial's Update).
 * N writes of each (default 300) to three Deployments, interleaved ABBA one write at a time, on a
 * settled API server with nothing else running (no controller-manager: the Deployments only change
 * by these writes). Prints p50/p90/p99 of the client's round trip.
 */
import { percentile } from '../hack/traffic/load.ts';
import { desiredDeployment } from '../src/controllers/elasticweb/desired.ts';
import { elasticWeb } from '../test/support/operator.ts';
import { startCluster, waitApiServerIdle } from './cluster.ts';

type Method = 'apply' | 'merge patch' | 'put';

const n = Number(process.argv[2] ?? 300);
if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error('N must be an integer from 1 to 10000');
const bc = await startCluster({ auditLog: false });
const admin = bc.cluster.admin;
const manager = 'fieldManager=elasticweb-operator';
const path = (name: string) => `/apis/apps/v1/namespaces/w/deployments/${name}`;
const names: Record<Method, string> = { apply: 'd-apply', 'merge patch': 'd-merge', put: 'd-put' };

/** One write that must succeed; returns the Deployment the server answered with. */
async function must(method: string, url: string, body: unknown, contentType?: string) {
  const res = await admin.must(method, url, body, [200, 201], contentType);
  return res.json<{ spec: { replicas: number } }>();
}

try {
  await admin.must('POST', '/api/v1/namespaces', { metadata: { name: 'w' } }, [201, 409]);
  const ew = (
    await admin.must(
      'POST',
      '/apis/elasticweb.example.com/v1/namespaces/w/elasticwebs',
      elasticWeb('w', 'x', { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 300 }),
      [201],
    )
  ).json<Parameters<typeof desiredDeployment>[0]>();
  const desired = (name: string, replicas: number) => {
    const d = desiredDeployment(ew, replicas);
    return { ...d, metadata: { ...d.metadata, name } };
  };
  let lastRead: { spec: { replicas: number } } | undefined;
  for (const [method, name] of Object.entries(names)) {
    const created = await must('POST', `/apis/apps/v1/namespaces/w/deployments?${manager}`, desired(name, 3));
    if (method === 'put') lastRead = created;
  }
  await waitApiServerIdle(bc);

  const took: Record<Method, number[]> = { apply: [], 'merge patch': [], put: [] };
  const write = async (method: Method, replicas: number) => {
    const t0 = performance.now();
    if (method === 'apply') {
      await must(
        'PATCH',
        `${path(names.apply)}?${manager}&force=true`,
        desired(names.apply, replicas),
        'application/apply-patch+yaml',
      );
    } else if (method === 'merge patch') {
      await must(
        'PATCH',
        `${path(names['merge patch'])}?${manager}`,
        { spec: { replicas } },
        'application/merge-patch+json',
      );
    } else if (lastRead) {
      lastRead.spec.replicas = replicas;
      lastRead = await must('PUT', `${path(names.put)}?${manager}`, lastRead);
    }
    took[method].push(performance.now() - t0);
  };
  const order: Method[] = ['apply', 'merge patch', 'put'];
  for (let i = 0; i < n; i++) {
    for (const method of i % 2 ? [...order].reverse() : order) await write(method, i % 2 ? 3 : 5);
  }
  for (const [method, xs] of Object.entries(took)) {
    const q = (p: number) => percentile(xs, p).toFixed(2);
    console.log(`${method.padEnd(12)} n=${xs.length}  p50 ${q(50)} ms  p90 ${q(90)} ms  p99 ${q(99)} ms`);
  }
} finally {
  await bc.stop();
}
