/**
 * Admission: what policy engines do to the operator's writes in a real cluster. Every policy here is
 * scoped by a namespaceSelector to its own scenario's namespace, and all scenarios run at once against
 * one operator (running as a ServiceAccount with exactly the roles of config/rbac), so each also shows
 * that the others do not disturb it. Writes are counted from the API server's audit log (the
 * operator's user, the scenario's namespace).
 *
 * Refusing policies (a validating webhook that is down, slow, or refuses with 403 or 422; a
 * ValidatingAdmissionPolicy that denies): the refused ElasticWeb is retried with per-key exponential
 * backoff (5 ms doubling, capped at 30 s), its Degraded condition and a Warning event name the cause,
 * other ElasticWebs converge as fast as before, and once the policy is fixed it recovers at its next
 * retry (so within the 30 s cap, with no event needed).
 *
 * Mutating policies (a MutatingAdmissionPolicy and a mutating webhook that add labels, annotations,
 * limits, a toleration and a sidecar): the operator converges, then writes nothing; hand edits of its
 * own fields are still repaired. Policies that rewrite one of its fields (the image, the replicas): one
 * write per change at most, then Degraded MutatedByAdmission, and no fight.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { freePort } from '../../hack/cluster/ports.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import {
  createElasticWeb,
  createNamespace,
  deploymentPath,
  ewPath,
  installCrd,
  servicePath,
  waitFor,
} from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import {
  type AuditRecord,
  auditWrites,
  createMany,
  type ElasticWebObject,
  mergePatch,
  operatorServiceAccount,
  problems,
  reportFigures,
  serviceAccountUser,
  snapshot,
  waitConverged,
} from './support.ts';
import {
  type JsonPatchOp,
  makeWebhookPki,
  type Reviewed,
  type WebhookPki,
  WebhookServer,
} from './webhook-server.ts';

// biome-ignore lint/suspicious/noExplicitAny: objects read back from the API server, checked field by field by the assertions
type Obj = any;

const systemNs = 'elasticweb-system';
const operatorUser = serviceAccountUser(systemNs, 'elasticweb-operator');
const admissionApi = '/apis/admissionregistration.k8s.io/v1';
/** The controller's per-key backoff cap (src/controllers/elasticweb/setup.ts). */
const backoffCapMs = 30_000;
const minuteMs = 60_000;
const image = 'nginx:1.17.1';

let cluster: LocalCluster;
let admin: RawClient;
let op: OperatorProcess;
let pki: WebhookPki;
let server: WebhookServer;
const servers: WebhookServer[] = [];

before(async () => {
  cluster = await LocalCluster.start({ mode: 'api', auditLog: true });
  admin = cluster.admin;
  await installCrd(admin);
  const kubeconfig = await operatorServiceAccount(cluster, systemNs, 'elasticweb-operator');
  pki = await makeWebhookPki();
  server = await WebhookServer.listen(pki);
  servers.push(server);
  op = await OperatorProcess.start(kubeconfig);
  await op.waitReady();
});

after(async () => {
  await op?.stop();
  for (const s of servers) await s.close();
  await cluster?.stop();
});

// ---- helpers ---------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const inNamespace = (ns: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });
const deploymentRules = [
  {
    apiGroups: ['apps'],
    apiVersions: ['v1'],
    operations: ['CREATE', 'UPDATE'],
    resources: ['deployments'],
    scope: 'Namespaced',
  },
];

async function webhookConfiguration(
  kind: 'Validating' | 'Mutating',
  name: string,
  ns: string,
  url: string,
  timeoutSeconds: number,
): Promise<void> {
  const plural = kind === 'Validating' ? 'validatingwebhookconfigurations' : 'mutatingwebhookconfigurations';
  await admin.must('POST', `${admissionApi}/${plural}`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name },
    webhooks: [
      {
        name,
        clientConfig: { url, caBundle: pki.caBundle },
        rules: deploymentRules,
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds,
        namespaceSelector: inNamespace(ns),
        ...(kind === 'Mutating' ? { reinvocationPolicy: 'Never' } : {}),
      },
    ],
  });
}

/** A ValidatingAdmissionPolicy or MutatingAdmissionPolicy and its binding (same name), in force in `ns` only; it matches Deployments unless `spec` sets its own matchConstraints. */
async function admissionPolicy(
  kind: 'Validating' | 'Mutating',
  name: string,
  ns: string,
  spec: Record<string, unknown>,
): Promise<void> {
  const lower = kind.toLowerCase();
  await admin.must('POST', `${admissionApi}/${lower}admissionpolicies`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}AdmissionPolicy`,
    metadata: { name },
    spec: { failurePolicy: 'Fail', matchConstraints: { resourceRules: deploymentRules }, ...spec },
  });
  await admin.must('POST', `${admissionApi}/${lower}admissionpolicybindings`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}AdmissionPolicyBinding`,
    metadata: { name },
    spec: {
      policyName: name,
      matchResources: { namespaceSelector: inNamespace(ns) },
      ...(kind === 'Validating' ? { validationActions: ['Deny'] } : {}),
    },
  });
}

/** A Deployment created with dryRun=All: admission runs (webhooks and policies), nothing is stored. */
async function dryRunDeployment(ns: string, replicas = 1) {
  return admin.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments?dryRun=All`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'probe', namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { probe: 'yes' } },
      template: {
        metadata: { labels: { probe: 'yes' } },
        spec: { containers: [{ name: 'web', image }] },
      },
    },
  });
}

async function getEw(ns: string, name: string): Promise<ElasticWebObject> {
  return (await admin.must('GET', ewPath(ns, name))).json<ElasticWebObject>();
}

async function degraded(ns: string, name: string) {
  return (await getEw(ns, name)).status?.conditions?.find((c) => c.type === 'Degraded');
}

async function warningEvents(ns: string, name: string) {
  const events = (await admin.must('GET', `/api/v1/namespaces/${ns}/events`)).json<{
    items: {
      type: string;
      reason: string;
      message: string;
      count?: number;
      involvedObject: { kind: string; name: string };
    }[];
  }>().items;
  return events.filter(
    (e) => e.type === 'Warning' && e.involvedObject.kind === 'ElasticWeb' && e.involvedObject.name === name,
  );
}

/** The operator's writes in `ns` (optionally of one resource), from the audit log. */
async function operatorWrites(ns: string, resource?: string): Promise<AuditRecord[]> {
  return (await auditWrites(cluster)).filter(
    (w) =>
      w.user === operatorUser && w.namespace === ns && (resource === undefined || w.resource === resource),
  );
}

/** Polls the audit log (once a second: it is read whole) until `probe` returns something. */
async function waitForAudit<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1000);
  }
}

/**
 * Waits until the operator has written nothing in `ns` for 3 s (at most `settleMs`), then counts its
 * writes there over the next `windowMs`.
 */
async function writesOnceSettled(ns: string, windowMs: number, settleMs = 30_000): Promise<AuditRecord[]> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const last = (await operatorWrites(ns)).at(-1);
    if (!last || Date.now() - last.at >= 3000) break;
    if (Date.now() > deadline) assert.fail(`the operator kept writing in ${ns} for ${settleMs} ms`);
    await sleep(1000);
  }
  const from = Date.now();
  await sleep(windowMs + 1000); // the audit log is written as requests complete
  return (await operatorWrites(ns)).filter((w) => w.at >= from && w.at < from + windowMs);
}

const describeWrites = (writes: AuditRecord[]) =>
  writes.map(
    (w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ''} ${w.name ?? ''} ${w.code}`,
  );

// ---- refusing policies -----------------------------------------------------------------------------

interface Refusal {
  title: string;
  ns: string;
  /** The webhook's or the policy's name: the condition and the event must carry it. */
  policy: string;
  reason: 'AdmissionWebhookFailed' | 'AdmissionDenied';
  /** HTTP status the API server answers a refused Deployment write with. */
  status: number;
  /** Replicas of the dry-run Deployment that shows the policy in force. */
  probeReplicas?: number;
  /** Runs before the policy is installed. */
  prepare?: () => Promise<void>;
  install: () => Promise<void>;
  /** Makes the operator write what the policy refuses. */
  trigger: () => Promise<void>;
  fix: () => Promise<void>;
}

const victim = 'victim';
const refusals: Refusal[] = [];
/** Where the down webhook's configuration points: nothing listens there until it is fixed. */
let downPort = 0;
/** How many refusal scenarios are in force (their ElasticWeb Degraded); the bystanders wait for all. */
let inForce = 0;

refusals.push({
  title: 'validating webhook down',
  ns: 'adm-down',
  policy: 'down.elasticweb.test',
  reason: 'AdmissionWebhookFailed',
  status: 500,
  install: async () => {
    const port = await freePort(); // nothing listens there: connection refused
    downPort = port;
    await webhookConfiguration(
      'Validating',
      'down.elasticweb.test',
      'adm-down',
      `https://127.0.0.1:${port}/validate`,
      2,
    );
  },
  trigger: () => createElasticWeb(admin, 'adm-down', victim, { image, singlePodsQPS: 100, totalQPS: 300 }),
  // The webhook's server comes back.
  fix: async () => {
    servers.push(await WebhookServer.listen(pki, downPort));
  },
});

refusals.push({
  title: 'validating webhook slow',
  ns: 'adm-slow',
  policy: 'slow.elasticweb.test',
  reason: 'AdmissionWebhookFailed',
  status: 500,
  install: async () => {
    server.on('/slow', { lateMs: 5000 }); // the API server gives up after timeoutSeconds: 1
    await webhookConfiguration('Validating', 'slow.elasticweb.test', 'adm-slow', server.url('/slow'), 1);
  },
  trigger: () => createElasticWeb(admin, 'adm-slow', victim, { image, singlePodsQPS: 100, totalQPS: 300 }),
  fix: async () => server.on('/slow', { allow: true }),
});

refusals.push({
  title: 'validating webhook refuses (403)',
  ns: 'adm-refuse',
  policy: 'refuse.elasticweb.test',
  reason: 'AdmissionDenied',
  status: 403,
  install: async () => {
    server.on('/refuse', { deny: { code: 403, message: 'Deployments here need a cost-center label' } });
    await webhookConfiguration(
      'Validating',
      'refuse.elasticweb.test',
      'adm-refuse',
      server.url('/refuse'),
      2,
    );
  },
  trigger: () => createElasticWeb(admin, 'adm-refuse', victim, { image, singlePodsQPS: 100, totalQPS: 300 }),
  fix: async () => server.on('/refuse', { allow: true }),
});

refusals.push({
  title: 'validating webhook refuses (422)',
  ns: 'adm-invalid',
  policy: 'invalid.elasticweb.test',
  reason: 'AdmissionDenied',
  status: 422,
  install: async () => {
    server.on('/invalid', {
      deny: {
        code: 422,
        reason: 'Invalid',
        message: 'spec.template.spec.containers[0].image: not from an allowed registry',
      },
    });
    await webhookConfiguration(
      'Validating',
      'invalid.elasticweb.test',
      'adm-invalid',
      server.url('/invalid'),
      2,
    );
  },
  trigger: () => createElasticWeb(admin, 'adm-invalid', victim, { image, singlePodsQPS: 100, totalQPS: 300 }),
  fix: async () => server.on('/invalid', { allow: true }),
});

refusals.push({
  title: 'ValidatingAdmissionPolicy denies',
  ns: 'adm-vap',
  policy: 'no-big',
  reason: 'AdmissionDenied',
  status: 422,
  probeReplicas: 8,
  // The ElasticWeb exists and is converged before the policy: the refused write is a scale-up (a JSON
  // patch of spec.replicas).
  prepare: async () => {
    await createElasticWeb(admin, 'adm-vap', victim, { image, singlePodsQPS: 100, totalQPS: 300 });
    await waitConverged(admin, 'adm-vap', 60_000);
  },
  install: () =>
    admissionPolicy('Validating', 'no-big', 'adm-vap', {
      validations: [
        { expression: 'object.spec.replicas <= 5', message: 'at most 5 replicas in this namespace' },
      ],
    }),
  trigger: () => mergePatch(admin, ewPath('adm-vap', victim), { spec: { totalQPS: 800 } }),
  // The policy is corrected.
  fix: () =>
    mergePatch(admin, `${admissionApi}/validatingadmissionpolicies/no-big`, {
      spec: { validations: [{ expression: 'object.spec.replicas <= 10', message: 'at most 10 replicas' }] },
    }),
});

describe('admission', { concurrency: true }, () => {
  for (const c of refusals) {
    test(`${c.title}: backoff, a Degraded condition and a Warning event naming it, recovery once fixed`, async () => {
      await createNamespace(admin, c.ns);
      await c.prepare?.();
      await c.install();
      await waitFor(
        `${c.policy} in force`,
        async () => ((await dryRunDeployment(c.ns, c.probeReplicas)).status === c.status ? true : undefined),
        30_000,
      );
      await c.trigger();

      // The condition and an event name the cause.
      const condition = await waitFor(`Degraded ${c.reason}`, async () => {
        const d = await degraded(c.ns, victim);
        return d?.reason === c.reason ? d : undefined;
      });
      inForce++;
      assert.equal(condition.status, 'True');
      assert.ok(condition.message?.includes(c.policy), `the message names ${c.policy}: ${condition.message}`);
      assert.ok(condition.message?.includes(`Deployment ${c.ns}/${victim}`), condition.message);
      await waitFor('a Warning event', async () =>
        (await warningEvents(c.ns, victim)).find(
          (e) => e.reason === c.reason && e.message.includes(c.policy),
        ),
      );

      // Per-key backoff: count the refused Deployment writes over two minutes from the first one.
      const first = await waitForAudit('the first refused Deployment write', async () =>
        (await operatorWrites(c.ns, 'deployments')).find((w) => w.code === c.status),
      );
      await sleep(first.at + 2 * minuteMs + 1000 - Date.now());
      const inWindow = (from: number, to: number) => (w: AuditRecord) =>
        w.at >= first.at + from && w.at < first.at + to;
      const writes = await operatorWrites(c.ns);
      const refused = writes.filter((w) => w.resource === 'deployments');
      assert.deepEqual(
        refused.filter((w) => w.at >= first.at).filter((w) => w.code !== c.status),
        [],
        'every Deployment write was refused while the policy was in force',
      );
      const firstMinute = refused.filter(inWindow(0, minuteMs)).length;
      const secondMinute = refused.filter(inWindow(minuteMs, 2 * minuteMs)).length;
      const statusWrites = writes
        .filter((w) => w.subresource === 'status')
        .filter(inWindow(0, 2 * minuteMs)).length;
      const eventWrites = writes
        .filter((w) => w.resource === 'events')
        .filter(inWindow(0, 2 * minuteMs)).length;
      // 5 ms doubling to 30 s: 14 tries in the first minute, then 2 a minute (a few more if the
      // ElasticWeb's own status change woke it early).
      assert.ok(firstMinute >= 8 && firstMinute <= 25, `${firstMinute} refused writes in the first minute`);
      assert.ok(
        secondMinute >= 1 && secondMinute <= 4,
        `${secondMinute} refused writes in the second minute`,
      );
      assert.ok(statusWrites <= 3, `${statusWrites} status writes: the condition is written when it changes`);
      const warnings = (await warningEvents(c.ns, victim)).filter((e) => e.reason === c.reason);
      const warningCount = warnings.reduce((n, e) => n + (e.count ?? 1), 0);

      // Fixed: recovered at the next retry, at most the backoff cap later.
      const fixedAt = Date.now();
      await c.fix();
      await waitFor(
        'Degraded False and the Deployment as the spec says',
        async () => {
          const d = await degraded(c.ns, victim);
          if (d?.status !== 'False') return undefined;
          return problems(await snapshot(admin, c.ns)).length === 0 ? true : undefined;
        },
        backoffCapMs + 30_000,
      );
      const recoveryMs = Date.now() - fixedAt;
      const written = await waitForAudit('the accepted Deployment write', async () =>
        (await operatorWrites(c.ns, 'deployments')).find((w) => w.at >= fixedAt && w.code < 300),
      );
      assert.ok(
        recoveryMs <= backoffCapMs + 10_000,
        `recovered ${recoveryMs} ms after the fix (the next retry comes at most ${backoffCapMs} ms after the last)`,
      );
      reportFigures(`admission: ${c.title}`, {
        httpStatus: c.status,
        reason: c.reason,
        refusedWritesFirstMinute: firstMinute,
        refusedWritesSecondMinute: secondMinute,
        statusWrites2min: statusWrites,
        eventWrites2min: eventWrites,
        warningEvents: warnings.length,
        warningEventCount2min: warningCount,
        recoveryAfterFixMs: recoveryMs,
        deploymentWrittenAfterFixMs: written.at - fixedAt,
      });
    });
  }

  test('a ValidatingAdmissionPolicy refusing PodDisruptionBudgets: the workload still converges, Degraded and a Warning event name the policy, the budget comes once it is lifted', async () => {
    const ns = 'adm-budget';
    const policy = 'no-budgets';
    await createNamespace(admin, ns);
    // The shared helper binds to the namespace; its Deployment rules are replaced by the budgets'.
    await admissionPolicy('Validating', policy, ns, {
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['policy'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['poddisruptionbudgets'],
            scope: 'Namespaced',
          },
        ],
      },
      validations: [{ expression: 'false', message: 'budgets here are set by the platform team' }],
    });
    const budgetPath = `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`;
    const probeBudget = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'probe' },
      spec: { maxUnavailable: 1, selector: { matchLabels: { probe: 'yes' } } },
    };
    await waitFor(
      `${policy} in force`,
      async () =>
        (await admin.request('POST', `${budgetPath}?dryRun=All`, probeBudget)).status === 422
          ? true
          : undefined,
      30_000,
    );

    await createElasticWeb(admin, ns, victim, { image, singlePodsQPS: 100, totalQPS: 300 });
    const condition = await waitFor('Degraded AdmissionDenied', async () => {
      const d = await degraded(ns, victim);
      return d?.reason === 'AdmissionDenied' ? d : undefined;
    });
    assert.equal(condition.status, 'True');
    assert.ok(condition.message?.includes(policy), `the message names ${policy}: ${condition.message}`);
    assert.ok(condition.message?.includes(`PodDisruptionBudget ${ns}/${victim}`), condition.message);
    await waitFor('a Warning event naming the policy', async () =>
      (await warningEvents(ns, victim)).find(
        (e) => e.reason === 'AdmissionDenied' && e.message.includes(policy),
      ),
    );
    // The refusal of the budget holds back neither the Deployment and Service nor the status.
    await waitConverged(admin, ns, 30_000);
    assert.equal((await admin.request('GET', `${budgetPath}/${victim}`)).status, 404);

    // The policy is lifted: the budget is written at the next retry (backoff capped at 30 s).
    await admin.must('DELETE', `${admissionApi}/validatingadmissionpolicybindings/${policy}`);
    await waitFor(
      'the budget and Degraded False',
      async () =>
        (await admin.request('GET', `${budgetPath}/${victim}`)).status === 200 &&
        (await degraded(ns, victim))?.status === 'False'
          ? true
          : undefined,
      backoffCapMs + 30_000,
    );
  });

  test('bystanders converge as fast as before and meet no refusal while policies refuse others', async () => {
    const ns = 'adm-bystanders';
    const names = await createMany(admin, ns, 6, () => ({ image, singlePodsQPS: 100, totalQPS: 200 }));
    await waitConverged(admin, ns);
    /** Changes one bystander and returns how long until the namespace has converged again. */
    let qps = 200;
    const change = async (i: number) => {
      qps = qps === 900 ? 200 : qps + 100;
      const started = Date.now();
      await mergePatch(admin, ewPath(ns, names[i % names.length] as string), { spec: { totalQPS: qps } });
      await waitConverged(admin, ns, 30_000);
      return Date.now() - started;
    };
    const before: number[] = [];
    for (let i = 0; i < 5; i++) before.push(await change(i));

    await waitFor(
      'every refusal in force',
      async () => (inForce >= refusals.length ? true : undefined),
      150_000,
    );
    const during: number[] = [];
    const until = Date.now() + 60_000;
    for (let i = 0; Date.now() < until; i++) {
      during.push(await change(i));
      await sleep(2000);
    }
    const added = Date.now();
    await createElasticWeb(admin, ns, 'late', { image, singlePodsQPS: 100, totalQPS: 300 });
    await waitConverged(admin, ns, 30_000);
    during.push(Date.now() - added);

    const failed = (await operatorWrites(ns)).filter((w) => w.code >= 400);
    assert.deepEqual(describeWrites(failed), [], 'no bystander write was refused');
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const max = (xs: number[]) => Math.max(...xs);
    // The poll that sees convergence runs every 250 ms; a bystander waits behind no refused key.
    assert.ok(max(during) <= 5000, `a bystander change took ${max(during)} ms to converge`);
    reportFigures('admission: bystanders', {
      changesBefore: before.length,
      changesDuring: during.length,
      convergeMedianBeforeMs: median(before),
      convergeMedianDuringMs: median(during),
      convergeMaxDuringMs: max(during),
      failedWrites: failed.length,
    });
  });

  // ---- mutating policies ---------------------------------------------------------------------------

  /** Makes a hand edit (kubectl edit: GET, change, PUT) and waits until `restored` says it is put back. */
  async function handEdit(
    path: string,
    change: (o: Obj) => void,
    restored: (o: Obj) => boolean,
  ): Promise<number> {
    const o = (await admin.must('GET', path)).json<Obj>();
    change(o);
    const started = Date.now();
    const res = await admin.request('PUT', `${path}?fieldManager=kubectl-edit`, o);
    assert.equal(res.status, 200, res.body);
    assert.equal(restored(res.json<Obj>()), false, `the edit of ${path} landed`);
    await waitFor(
      `${path} put back`,
      async () => (restored((await admin.must('GET', path)).json<Obj>()) ? true : undefined),
      30_000,
    );
    return Date.now() - started;
  }

  /** The hand edits every mutating scenario repeats; `kept` checks what the policy added is still there. */
  async function handEdits(ns: string, names: string[], kept: (d: Obj) => void) {
    const [a, b, c] = names as [string, string, string];
    const web = (d: Obj): Obj => (d.spec.template.spec.containers as Obj[]).find((x) => x.name === 'web');
    const times = {
      replicasMs: await handEdit(
        deploymentPath(ns, a),
        (d) => {
          d.spec.replicas = 42;
        },
        (d) => d.spec.replicas === 3,
      ),
      imageMs: await handEdit(
        deploymentPath(ns, b),
        (d) => {
          web(d).image = 'nginx:edited-by-hand';
        },
        (d) => web(d).image === image,
      ),
      limitMs: await handEdit(
        deploymentPath(ns, c),
        (d) => {
          web(d).resources.limits.memory = '2Gi';
        },
        (d) => web(d).resources.limits.memory === '512Mi',
      ),
      serviceSelectorMs: await handEdit(
        servicePath(ns, a),
        (s) => {
          s.spec.selector = { app: 'someone-else' };
        },
        (s) => JSON.stringify(s.spec.selector) === JSON.stringify({ 'elasticweb.example.com/instance': a }),
      ),
    };
    await waitConverged(admin, ns, 30_000);
    for (const d of (await snapshot(admin, ns)).deployments) kept(d as unknown as Obj);
    return times;
  }

  test('a MutatingAdmissionPolicy adding a default ephemeral-storage limit and a pod label: no writes once converged', async () => {
    const ns = 'adm-map';
    await createNamespace(admin, ns);
    await admissionPolicy('Mutating', 'default-ephemeral-storage', ns, {
      reinvocationPolicy: 'Never',
      mutations: [
        {
          patchType: 'ApplyConfiguration',
          applyConfiguration: {
            expression: `Object{spec: Object.spec{template: Object.spec.template{
              metadata: Object.spec.template.metadata{labels: {"policy.example.com/scanned": "true"}},
              spec: Object.spec.template.spec{containers: object.spec.template.spec.containers.map(c,
                Object.spec.template.spec.containers{name: c.name,
                  resources: Object.spec.template.spec.containers.resources{limits: {"ephemeral-storage": "1Gi"}}})}}}}`,
          },
        },
      ],
    });
    await waitFor('the policy in force', async () => {
      const d = (await dryRunDeployment(ns)).json<Obj>();
      return d.spec?.template?.metadata?.labels?.['policy.example.com/scanned'] === 'true' ? true : undefined;
    });
    const names = await createMany(admin, ns, 3, () => ({ image, singlePodsQPS: 100, totalQPS: 300 }));
    const convergedMs = await waitConverged(admin, ns, 60_000);
    const kept = (d: Obj) => {
      assert.equal(
        d.spec.template.metadata.labels['policy.example.com/scanned'],
        'true',
        'the policy label stays',
      );
      for (const c of d.spec.template.spec.containers)
        assert.equal(c.resources.limits['ephemeral-storage'], '1Gi', 'the policy limit stays');
    };
    for (const d of (await snapshot(admin, ns)).deployments) kept(d as unknown as Obj);
    const idle = await writesOnceSettled(ns, 30_000);
    assert.deepEqual(describeWrites(idle), [], 'no write in 30 s once converged');
    const times = await handEdits(ns, names, kept);
    const idleAfterEdits = await writesOnceSettled(ns, 10_000);
    assert.deepEqual(describeWrites(idleAfterEdits), [], 'no write in 10 s after the repairs');
    const all = await operatorWrites(ns);
    reportFigures('admission: MutatingAdmissionPolicy adds', {
      elasticWebs: names.length,
      convergedMs,
      writesIn30sOnceConverged: idle.length,
      ...times,
      writesIn10sAfterRepairs: idleAfterEdits.length,
      operatorWritesInAll: all.length,
    });
  });

  test('a mutating webhook adding labels, annotations, a limit, a toleration and a sidecar: no writes once converged', async () => {
    const ns = 'adm-inject';
    await createNamespace(admin, ns);
    server.on('/inject', { mutate: injections });
    await webhookConfiguration('Mutating', 'inject.elasticweb.test', ns, server.url('/inject'), 5);
    await waitFor('the webhook in force', async () => {
      const d = (await dryRunDeployment(ns)).json<Obj>();
      return d.metadata?.annotations?.['inject.example.com/scanned'] ? true : undefined;
    });
    const names = await createMany(admin, ns, 3, () => ({ image, singlePodsQPS: 100, totalQPS: 300 }));
    const convergedMs = await waitConverged(admin, ns, 60_000);
    const kept = (d: Obj) => {
      assert.equal(d.metadata.labels['inject.example.com/team'], 'web');
      assert.equal(d.metadata.annotations['inject.example.com/scanned'], 'true');
      const pod = d.spec.template.spec;
      assert.ok(
        pod.containers.some((c: { name: string }) => c.name === 'proxy'),
        'the sidecar stays',
      );
      assert.equal(
        pod.containers.find((c: { name: string }) => c.name === 'web').resources.limits['ephemeral-storage'],
        '2Gi',
      );
      assert.ok(
        pod.tolerations.some((t: { key: string }) => t.key === 'dedicated'),
        'the toleration stays',
      );
    };
    for (const d of (await snapshot(admin, ns)).deployments) kept(d as unknown as Obj);
    const idle = await writesOnceSettled(ns, 30_000);
    assert.deepEqual(describeWrites(idle), [], 'no write in 30 s once converged');
    const times = await handEdits(ns, names, kept);
    const idleAfterEdits = await writesOnceSettled(ns, 10_000);
    assert.deepEqual(describeWrites(idleAfterEdits), [], 'no write in 10 s after the repairs');
    reportFigures('admission: mutating webhook adds', {
      elasticWebs: names.length,
      convergedMs,
      writesIn30sOnceConverged: idle.length,
      ...times,
      writesIn10sAfterRepairs: idleAfterEdits.length,
      webhookCalls: server.calls.get('/inject') ?? 0,
    });
  });

  /**
   * A policy rewrites one of the operator's fields on every write: the operator writes at most once
   * per change (create, then one apply that shows the rewrite), then reports it and stops.
   */
  async function rewritten(
    ns: string,
    field: string,
    spec: Record<string, unknown>,
    later: Record<string, unknown>,
    check: (d: Obj) => void,
  ) {
    const before = Date.now();
    await createElasticWeb(admin, ns, victim, { image, singlePodsQPS: 100, ...spec });
    const condition = await waitFor('Degraded MutatedByAdmission', async () => {
      const d = await degraded(ns, victim);
      return d?.reason === 'MutatedByAdmission' ? d : undefined;
    });
    assert.equal(condition.status, 'True');
    assert.ok(condition.message?.includes(field), `the message names ${field}: ${condition.message}`);
    await waitFor('a MutatedByAdmission Warning event', async () =>
      (await warningEvents(ns, victim)).find((e) => e.reason === 'MutatedByAdmission'),
    );
    const atCreate = (await writesOnceSettled(ns, 15_000)).length;
    const createWrites = (await operatorWrites(ns, 'deployments')).filter((w) => w.at >= before);
    assert.ok(createWrites.length <= 2, `Deployment writes for the create: ${describeWrites(createWrites)}`);
    assert.equal(atCreate, 0, 'no write for 15 s once reported');

    const changed = Date.now();
    await mergePatch(admin, ewPath(ns, victim), { spec: later });
    await waitFor('the change applied', async () => {
      const ew = await getEw(ns, victim);
      return ew.status?.observedGeneration === ew.metadata.generation ? true : undefined;
    });
    const idle = await writesOnceSettled(ns, 15_000);
    const changeWrites = (await operatorWrites(ns, 'deployments')).filter((w) => w.at >= changed);
    assert.ok(changeWrites.length <= 1, `Deployment writes for one change: ${describeWrites(changeWrites)}`);
    assert.equal(idle.length, 0, 'no write for 15 s after the change');
    const d = (await admin.must('GET', deploymentPath(ns, victim))).json<Obj>();
    check(d);
    assert.equal((await degraded(ns, victim))?.reason, 'MutatedByAdmission');
    return { createWrites: createWrites.length, changeWrites: changeWrites.length };
  }

  test('a MutatingAdmissionPolicy rewriting the image: one write per change, then MutatedByAdmission', async () => {
    const ns = 'adm-rewrite-image';
    await createNamespace(admin, ns);
    await admissionPolicy('Mutating', 'mirror-images', ns, {
      reinvocationPolicy: 'Never',
      mutations: [
        {
          patchType: 'ApplyConfiguration',
          applyConfiguration: {
            expression: `Object{spec: Object.spec{template: Object.spec.template{spec: Object.spec.template.spec{
              containers: object.spec.template.spec.containers.map(c, Object.spec.template.spec.containers{
                name: c.name,
                image: c.image.startsWith("mirror.example.com/") ? c.image : "mirror.example.com/" + c.image})}}}}`,
          },
        },
      ],
    });
    await waitFor('the policy in force', async () => {
      const d = (await dryRunDeployment(ns)).json<Obj>();
      return d.spec?.template?.spec?.containers?.[0]?.image === `mirror.example.com/${image}`
        ? true
        : undefined;
    });
    const figures = await rewritten(
      ns,
      'spec.template.spec.containers[].image',
      { totalQPS: 300 },
      { totalQPS: 500 },
      (d) => {
        assert.equal(d.spec.replicas, 5, 'the change landed');
        assert.equal(
          d.spec.template.spec.containers[0].image,
          `mirror.example.com/${image}`,
          'the rewrite stays',
        );
      },
    );
    reportFigures('admission: MutatingAdmissionPolicy rewrites the image', figures);
  });

  test('a mutating webhook capping replicas: one write per change, then MutatedByAdmission', async () => {
    const ns = 'adm-rewrite-replicas';
    await createNamespace(admin, ns);
    server.on('/cap', {
      mutate: (o) => {
        const replicas = (o.spec?.replicas as number | undefined) ?? 1;
        return replicas > 2 ? [{ op: 'replace', path: '/spec/replicas', value: 2 }] : [];
      },
    });
    await webhookConfiguration('Mutating', 'cap-replicas.elasticweb.test', ns, server.url('/cap'), 5);
    await waitFor('the webhook in force', async () =>
      (await dryRunDeployment(ns, 5)).json<Obj>().spec?.replicas === 2 ? true : undefined,
    );
    const figures = await rewritten(ns, 'spec.replicas', { totalQPS: 500 }, { image: 'nginx:1.19' }, (d) => {
      assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.19', 'the change landed');
      assert.equal(d.spec.replicas, 2, 'the rewrite stays');
    });
    reportFigures('admission: mutating webhook caps replicas', figures);
  });
});

/** What the injecting webhook adds to a Deployment, only where it is missing (idempotent, as real ones are). */
function injections(o: Reviewed): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const meta = o.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
  if (!meta.labels)
    ops.push({ op: 'add', path: '/metadata/labels', value: { 'inject.example.com/team': 'web' } });
  else if (!meta.labels['inject.example.com/team'])
    ops.push({ op: 'add', path: '/metadata/labels/inject.example.com~1team', value: 'web' });
  if (!meta.annotations)
    ops.push({ op: 'add', path: '/metadata/annotations', value: { 'inject.example.com/scanned': 'true' } });
  else if (!meta.annotations['inject.example.com/scanned'])
    ops.push({ op: 'add', path: '/metadata/annotations/inject.example.com~1scanned', value: 'true' });
  const pod = (o.spec as { template: { spec: Obj } }).template.spec;
  const containers = pod.containers as { name: string; resources?: { limits?: Record<string, string> } }[];
  containers.forEach((c, i) => {
    if (c.name === 'proxy') return;
    if (!c.resources?.limits)
      ops.push({
        op: 'add',
        path: `/spec/template/spec/containers/${i}/resources`,
        value: { ...c.resources, limits: { 'ephemeral-storage': '2Gi' } },
      });
    else if (!c.resources.limits['ephemeral-storage'])
      ops.push({
        op: 'add',
        path: `/spec/template/spec/containers/${i}/resources/limits/ephemeral-storage`,
        value: '2Gi',
      });
  });
  if (!containers.some((c) => c.name === 'proxy'))
    ops.push({
      op: 'add',
      path: '/spec/template/spec/containers/-',
      value: { name: 'proxy', image: 'envoyproxy/envoy:v1.31.0' },
    });
  const toleration = { key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' };
  if (!pod.tolerations) ops.push({ op: 'add', path: '/spec/template/spec/tolerations', value: [toleration] });
  else if (!(pod.tolerations as { key: string }[]).some((t) => t.key === 'dedicated'))
    ops.push({ op: 'add', path: '/spec/template/spec/tolerations/-', value: toleration });
  return ops;
}
