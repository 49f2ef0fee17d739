/**
 * The writes each operator makes for a new ElasticWeb (its Deployment, its Service, then its status),
 * with no controller logic around them. Two uses:
 *  - the scale scenarios: the bench writes them at high concurrency, so the 10,000-object state is
 *    ready in a minute or two instead of the many minutes either operator needs at 5 workers (the
 *    burst measures that part). The operator then starts exactly as after a restart, and must find
 *    nothing to change (the scale scenario checks that it made no write);
 *  - the raw limit: the same writes, 5 at a time, as the fastest the API server allows.
 *
 * Ours: the operator's own pure functions (desired.ts, status.ts), written as reconciler.ts writes them.
 * Go, best practice: the same objects and status (bench/peer-go-best mirrors desired.ts and status.ts;
 * its restart then finds nothing to change, which the scale scenario checks), under its own field
 * manager. Go, tutorial: the objects bench/baseline-go/controllers/resource.go creates, with its field
 * manager ("manager", client-go's default from the program name).
 */
import { apiVersion, type ElasticWeb, kind } from '../src/api/v1/elasticweb.ts';
import {
  desiredDeployment,
  desiredDisruptionBudget,
  desiredService,
  fieldManager,
  replicaPlan,
} from '../src/controllers/elasticweb/desired.ts';
import { computeStatus } from '../src/controllers/elasticweb/status.ts';
import { ewPath, forEachLimit, type Kube } from './kube.ts';
import type { PeerName } from './peers.ts';

const deployments = (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`;
const services = (ns: string) => `/api/v1/namespaces/${ns}/services`;
const budgets = (ns: string) => `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`;

export async function writeChildren(
  client: Kube,
  operator: PeerName,
  ews: ElasticWeb[],
  concurrency: number,
): Promise<void> {
  await forEachLimit(ews, concurrency, (ew) => writeChildrenOf(client, operator, ew));
}

export function writeChildrenOf(client: Kube, operator: PeerName, ew: ElasticWeb): Promise<void> {
  if (operator === 'go') return writeGo(client, ew);
  return writeOurs(client, ew, operator === 'ts' ? fieldManager : 'elasticweb-go-best');
}

/**
 * reconciler.ts on a cache miss: create desired.ts's Deployment, Service and (with pods)
 * PodDisruptionBudget at once under the operator's field manager, then a patch of the status computed
 * from them. bench/peer-go-best makes the same writes.
 */
async function writeOurs(client: Kube, ew: ElasticWeb, manager: string): Promise<void> {
  const { namespace: ns, name } = ew.metadata;
  const q = `?fieldManager=${manager}`;
  const [deployment, service] = await Promise.all([
    client.must('POST', `${deployments(ns)}${q}`, desiredDeployment(ew), [201]),
    client.must('POST', `${services(ns)}${q}`, desiredService(ew), [201]),
    ...(replicaPlan(ew.spec).replicas > 0
      ? [client.must('POST', `${budgets(ns)}${q}`, desiredDisruptionBudget(ew), [201])]
      : []),
  ]);
  const status = computeStatus({
    ew,
    plan: replicaPlan(ew.spec),
    deployment: deployment.json(),
    service: service.json(),
    problem: undefined,
    now: new Date(),
  });
  await client.must(
    'PATCH',
    `${ewPath(ns, name)}/status${q}`,
    { metadata: { uid: ew.metadata.uid }, status },
    [200],
    'application/merge-patch+json',
  );
}

/** resource.go: same labels for every instance, SCTP container port, fixed resources. */
async function writeGo(client: Kube, ew: ElasticWeb): Promise<void> {
  const { namespace: ns, name } = ew.metadata;
  const q = '?fieldManager=manager';
  const labels = { app: 'elastic-app' };
  const owner = [
    { apiVersion, kind, name, uid: ew.metadata.uid, controller: true, blockOwnerDeletion: true },
  ];
  const singlePodsQPS = ew.spec.singlePodsQPS;
  const replicas = Math.ceil((ew.spec.totalQPS ?? 0) / singlePodsQPS);
  await client.must('POST', `${services(ns)}${q}`, {
    metadata: { name, namespace: ns, ownerReferences: owner },
    spec: { type: 'NodePort', selector: labels, ports: [{ name: 'http', port: 8080 }] },
  });
  const quantities = { cpu: '100m', memory: '512Mi' };
  await client.must('POST', `${deployments(ns)}${q}`, {
    metadata: { name, namespace: ns, labels, ownerReferences: owner },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'elastic-app',
              image: ew.spec.image,
              ports: [{ name: 'http', containerPort: 8080, protocol: 'SCTP' }],
              resources: { limits: quantities, requests: quantities },
            },
          ],
        },
      },
    },
  });
  await client.must('PUT', `${ewPath(ns, name)}/status${q}`, {
    ...ew,
    status: { realQPS: singlePodsQPS * replicas },
  });
}
