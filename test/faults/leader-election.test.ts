/**
 * HA: two operator processes with --leader-elect against one API server, each authenticated as its
 * own ServiceAccount (with the roles of config/rbac), so the audit log tells their requests apart,
 * while a stream of ElasticWeb changes goes on. Three faults hit the leader:
 *  (a) frozen (SIGSTOP) for 20 s, longer than its lease, then thawed (SIGCONT);
 *  (b) its connection to the API server stalls: it reaches the API server through a loopback TCP
 *      proxy that stops forwarding in both directions and keeps the sockets open;
 *  (c) SIGTERM while 200 ElasticWebs are being created;
 *  (d) its Lease renewals are refused (a ValidatingAdmissionPolicy) while everything else works.
 * In each, the standby takes over once the lease could have expired (a, b, d: a lease duration after
 * it last saw a renewal, plus up to a retry period to notice) or at its next try after the release
 * (c); the replica whose lease may have lapsed writes nothing after its renew deadline and exits; the
 * two never write at the same time; everything converges to the last change. Per-ElasticWeb gauges
 * come only from the leader.
 *
 * "Renew deadline passed" is measured as the operator measures it: from when its last successful
 * renewal started (the API server's receipt of that renewal's GET, a few ms after the replica's own
 * start) plus 10 s.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { createElasticWeb, ewPath, installCrd, waitFor } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import {
  type AuditRecord,
  auditRequests,
  createMany,
  inParallel,
  mergePatch,
  operatorServiceAccount,
  reportFigures,
  serviceAccountUser,
  waitConverged,
} from './support.ts';
import { TcpProxy } from './tcp-proxy.ts';

const systemNs = 'elasticweb-system';
const leaseMs = 15_000;
const renewDeadlineMs = 10_000;
const retryMs = 2_000;
/** A candidate retries every retry period plus up to 20% jitter. */
const retryMaxMs = retryMs * 1.2;
const image = 'nginx:1.17.1';

let cluster: LocalCluster;
let admin: RawClient;
const kubeconfigs: Record<'a' | 'b', string> = { a: '', b: '' };
const users = { a: serviceAccountUser(systemNs, 'replica-a'), b: serviceAccountUser(systemNs, 'replica-b') };
const started: OperatorProcess[] = [];
const proxies: TcpProxy[] = [];

before(async () => {
  cluster = await LocalCluster.start({ mode: 'api', auditLog: true });
  admin = cluster.admin;
  await installCrd(admin);
  kubeconfigs.a = await operatorServiceAccount(cluster, systemNs, 'replica-a');
  kubeconfigs.b = await operatorServiceAccount(cluster, systemNs, 'replica-b');
});

after(async () => {
  for (const op of started) op.signal('SIGCONT');
  await Promise.all(started.map((op) => op.stop(5000)));
  for (const p of proxies) await p.close();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A copy of `kubeconfig` whose server is the proxy. */
async function throughProxy(kubeconfig: string, proxy: TcpProxy): Promise<string> {
  const config = parse(await readFile(kubeconfig, 'utf8'));
  for (const c of config.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
  const path = join(cluster.dir, `proxied-${proxy.port}.kubeconfig`);
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
}

async function startReplica(kubeconfig: string, id: string, ns: string): Promise<OperatorProcess> {
  const op = await OperatorProcess.start(kubeconfig, [
    '--leader-elect',
    `--leader-election-namespace=${systemNs}`,
    `--leader-election-id=${id}`,
    `--namespace=${ns}`,
  ]);
  started.push(op);
  return op;
}

const leading = async (op: OperatorProcess, id: string) =>
  (await op.metric(`leader_election_master_status{name="${id}"}`)) === 1;

/** Lines of elasticweb_desired_qps in a replica's /metrics. */
async function desiredGauges(op: OperatorProcess): Promise<number> {
  const text = await op.metricsText();
  return text.split('\n').filter((l) => l.startsWith('elasticweb_desired_qps{')).length;
}

/**
 * Changes totalQPS of one ElasticWeb every `intervalMs`, round robin, until stopped (at most `maxMs`).
 * Returns the number of changes made.
 */
function changeStream(ns: string, names: string[], intervalMs = 250, maxMs = 90_000) {
  let stopped = false;
  let changes = 0;
  const done = (async () => {
    const until = Date.now() + maxMs;
    for (let i = 0; !stopped && Date.now() < until; i++) {
      const name = names[i % names.length] as string;
      await mergePatch(admin, ewPath(ns, name), { spec: { totalQPS: 100 * (1 + (i % 7)) } });
      changes++;
      await sleep(intervalMs);
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await done;
      return changes;
    },
  };
}

interface Analysis {
  /** The old leader's last successful renewal started (its GET received) at this time. */
  lastRenewStart: number;
  /** lastRenewStart + renew deadline: the old leader may write nothing from then on. */
  cutoff: number;
  /** The new leader's first successful Lease write (it took the lease). */
  acquired: number;
  /** The new leader's first write of anything else. */
  firstWrite: number | undefined;
  /** The old leader's writes after the cutoff, except Lease writes the API server refused. */
  stale: AuditRecord[];
  /** The old leader's writes after the new leader took the lease (same exception). */
  overlapping: AuditRecord[];
  /** The old leader's Lease writes refused (conflict, policy) after the cutoff. */
  refusedLeaseWrites: number;
  oldWritesTotal: number;
}

/**
 * Reads the audit log: the old leader's last successful Lease write received before `before` (a
 * renewal, or its release: a release sends no GET first, so the GET found is its last renewal's), and
 * what each replica wrote around the handover.
 */
async function analyse(id: string, oldUser: string, newUser: string, before: number): Promise<Analysis> {
  const all = await auditRequests(cluster);
  const isLease = (r: AuditRecord) => r.resource === 'leases' && r.name === id;
  const writes = (r: AuditRecord) => ['create', 'update', 'patch', 'delete'].includes(r.verb);
  const oldOnes = all.filter((r) => r.user === oldUser);
  const renewals = oldOnes.filter((r) => isLease(r) && writes(r) && r.code >= 200 && r.code < 300);
  const lastRenewal = renewals.filter((r) => r.at <= before).at(-1);
  assert.ok(lastRenewal, 'the old leader renewed its lease');
  const renewGet = oldOnes.filter((r) => isLease(r) && r.verb === 'get' && r.at <= lastRenewal.at).at(-1);
  const lastRenewStart = renewGet?.at ?? lastRenewal.at;
  const cutoff = lastRenewStart + renewDeadlineMs;
  const newLease = all.filter((r) => r.user === newUser && isLease(r) && writes(r) && r.code < 300);
  const acquired = newLease[0]?.at;
  assert.ok(acquired !== undefined, 'the new leader wrote the lease');
  const firstWrite = all.find((r) => r.user === newUser && writes(r) && !isLease(r) && r.at >= acquired)?.at;
  // A Lease write the API server refused (a conflict, a policy) changed nothing.
  const refusedLease = (r: AuditRecord) => isLease(r) && r.code >= 400;
  const oldWrites = oldOnes.filter(writes);
  return {
    lastRenewStart,
    cutoff,
    acquired,
    firstWrite,
    stale: oldWrites.filter((r) => r.at > cutoff && !refusedLease(r)),
    overlapping: oldWrites.filter((r) => r.at >= acquired && !refusedLease(r)),
    refusedLeaseWrites: oldWrites.filter((r) => r.at > cutoff && refusedLease(r)).length,
    oldWritesTotal: oldWrites.length,
  };
}

const show = (rs: AuditRecord[]) =>
  rs.map((r) => `${new Date(r.at).toISOString()} ${r.verb} ${r.resource}/${r.name ?? ''} ${r.code}`);

/** A leader (replica a) and a standby (replica b), converged over `count` ElasticWebs, with checks. */
async function pair(id: string, ns: string, count: number, kubeconfigA = kubeconfigs.a) {
  const names = await createMany(admin, ns, count, () => ({ image, singlePodsQPS: 100, totalQPS: 100 }));
  const a = await startReplica(kubeconfigA, id, ns);
  await a.waitReady();
  await waitFor('replica a to lead', async () => ((await leading(a, id)) ? true : undefined), 30_000);
  await waitConverged(admin, ns, 60_000);
  const b = await startReplica(kubeconfigs.b, id, ns);
  await b.waitReady();
  await sleep(retryMaxMs + 500); // b has tried at least once
  assert.equal(await leading(b, id), false, 'the standby does not lead');
  assert.equal(await desiredGauges(a), count, 'the leader exports one elasticweb_desired_qps per ElasticWeb');
  assert.equal(await desiredGauges(b), 0, 'the standby exports no per-ElasticWeb gauge');
  return { a, b, names };
}

describe('leader election', () => {
  test('(a) the leader frozen (SIGSTOP) past its lease: the standby takes over, the thawed one writes nothing and exits', async () => {
    const id = 'ha-freeze';
    const ns = 'ha-freeze';
    const { a, b, names } = await pair(id, ns, 20);
    const stream = changeStream(ns, names);
    await sleep(3000);
    const frozeAt = Date.now();
    a.signal('SIGSTOP');
    const tookOver = await waitFor(
      'the standby to lead',
      async () => ((await leading(b, id)) ? Date.now() : undefined),
      40_000,
    );
    await sleep(frozeAt + 20_000 - Date.now());
    const thawedAt = Date.now();
    a.signal('SIGCONT');
    const code = await Promise.race([a.exited, sleep(10_000).then(() => 'still running')]);
    const exitedAfterThawMs = Date.now() - thawedAt;
    assert.equal(code, 1, 'the thawed replica exits at once: its lease was lost');
    assert.ok(a.logs.some((l) => l.msg === 'leader lease lost' || l.msg === 'leader election lost'));
    const changes = await stream.stop();
    await waitConverged(admin, ns, 60_000);
    assert.equal(await desiredGauges(b), names.length, 'the new leader exports the gauges');

    await sleep(1000);
    const r = await analyse(id, users.a, users.b, frozeAt + 1000);
    assert.deepEqual(show(r.stale), [], 'no write by the frozen replica after its renew deadline');
    assert.deepEqual(show(r.overlapping), [], 'no write by the frozen replica once the standby led');
    assert.ok(
      r.acquired >= r.cutoff,
      'the standby took the lease only after the old one could no longer write',
    );
    const takeoverMs = r.acquired - frozeAt;
    assert.ok(takeoverMs <= leaseMs + 2 * retryMaxMs + 1000, `takeover ${takeoverMs} ms after the freeze`);
    const fenced = a.logs.filter((l) => l.msg === 'reconcile stopped: not the leader').length;
    const afterThaw = a.logs.filter((l) => Date.parse(l.time) >= thawedAt);
    await b.stop();
    reportFigures('leader election: leader frozen 20 s', {
      changes,
      takeoverMs,
      takeoverFromLastRenewalMs: r.acquired - r.lastRenewStart,
      newLeaderFirstWriteMs: r.firstWrite === undefined ? 'none' : r.firstWrite - frozeAt,
      metricSawTakeoverMs: tookOver - frozeAt,
      staleWrites: r.stale.length,
      overlappingWrites: r.overlapping.length,
      leaseWritesRefused: r.refusedLeaseWrites,
      fencedReconciles: fenced,
      reconcilesAfterThaw: afterThaw.filter((l) => l.msg === 'reconciled').length,
      exitedAfterThawMs,
    });
  });

  test('(b) the leader cut off by a stalled connection: it stops within its renew deadline, the standby takes over', async () => {
    const id = 'ha-stall';
    const ns = 'ha-stall';
    const target = new URL(cluster.server);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    proxies.push(proxy);
    const { a, b, names } = await pair(id, ns, 20, await throughProxy(kubeconfigs.a, proxy));
    const stream = changeStream(ns, names);
    await sleep(3000);
    const stalledAt = Date.now();
    proxy.stall();
    const code = await Promise.race([a.exited, sleep(renewDeadlineMs + 1000).then(() => 'still running')]);
    const exitedMs = Date.now() - stalledAt;
    // Its lease may have lapsed now (its last renewal started before the stall): let its requests
    // through again, so that anything it still sent would reach the API server and the audit log.
    await sleep(stalledAt + renewDeadlineMs + 1000 - Date.now());
    proxy.heal();
    assert.equal(code, 1, 'the cut-off leader exits once its renew deadline passed');
    const tookOver = await waitFor(
      'the standby to lead',
      async () => ((await leading(b, id)) ? Date.now() : undefined),
      40_000,
    );
    const changes = await stream.stop();
    await waitConverged(admin, ns, 60_000);
    assert.equal(await desiredGauges(b), names.length, 'the new leader exports the gauges');

    await sleep(1000);
    const r = await analyse(id, users.a, users.b, stalledAt + 1000);
    assert.deepEqual(show(r.stale), [], 'no write by the cut-off replica after its renew deadline');
    assert.deepEqual(show(r.overlapping), [], 'no write by the cut-off replica once the standby led');
    assert.ok(
      r.acquired >= r.cutoff,
      'the standby took the lease only after the old one could no longer write',
    );
    const takeoverMs = r.acquired - stalledAt;
    assert.ok(takeoverMs <= leaseMs + 2 * retryMaxMs + 1000, `takeover ${takeoverMs} ms after the stall`);
    const exitedAfterRenewalMs = stalledAt + exitedMs - r.lastRenewStart;
    assert.ok(
      exitedAfterRenewalMs <= renewDeadlineMs + 2000,
      `exited ${exitedAfterRenewalMs} ms after its last successful renewal started`,
    );
    await b.stop();
    reportFigures('leader election: connection stalled', {
      changes,
      takeoverMs,
      takeoverFromLastRenewalMs: r.acquired - r.lastRenewStart,
      newLeaderFirstWriteMs: r.firstWrite === undefined ? 'none' : r.firstWrite - stalledAt,
      metricSawTakeoverMs: tookOver - stalledAt,
      oldLeaderExitedMs: exitedMs,
      oldLeaderExitedAfterLastRenewalMs: exitedAfterRenewalMs,
      staleWrites: r.stale.length,
      overlappingWrites: r.overlapping.length,
      bytesDroppedByTheStall: proxy.droppedBytes,
    });
  });

  test('(d) the leader may not renew (a policy refuses its Lease writes) while the rest works: it stops at its renew deadline', async () => {
    const id = 'ha-refused';
    const ns = 'ha-refused';
    const { a, b, names } = await pair(id, ns, 20);
    const stream = changeStream(ns, names);
    await sleep(3000);
    const api = '/apis/admissionregistration.k8s.io/v1';
    await admin.must('POST', `${api}/validatingadmissionpolicies`, {
      metadata: { name: 'no-renewal-for-a' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['coordination.k8s.io'],
              apiVersions: ['v1'],
              operations: ['UPDATE'],
              resources: ['leases'],
            },
          ],
        },
        matchConditions: [{ name: 'this-lease', expression: `object.metadata.name == '${id}'` }],
        validations: [
          { expression: `request.userInfo.username != '${users.a}'`, message: 'replica-a may not renew' },
        ],
      },
    });
    await admin.must('POST', `${api}/validatingadmissionpolicybindings`, {
      metadata: { name: 'no-renewal-for-a' },
      spec: {
        policyName: 'no-renewal-for-a',
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': systemNs } } },
      },
    });
    const refusedAt = Date.now();
    const code = await Promise.race([
      a.exited,
      sleep(renewDeadlineMs + retryMaxMs + 5000).then(() => 'still running'),
    ]);
    const exitedMs = Date.now() - refusedAt;
    assert.equal(code, 1, 'the leader that cannot renew exits once its renew deadline passed');
    const tookOver = await waitFor(
      'the standby to lead',
      async () => ((await leading(b, id)) ? Date.now() : undefined),
      40_000,
    );
    const changes = await stream.stop();
    await waitConverged(admin, ns, 60_000);
    await admin.must('DELETE', `${api}/validatingadmissionpolicybindings/no-renewal-for-a`);
    await admin.must('DELETE', `${api}/validatingadmissionpolicies/no-renewal-for-a`);

    await sleep(1000);
    const firstRefusal = (await auditRequests(cluster)).find(
      (r) =>
        r.user === users.a &&
        r.resource === 'leases' &&
        r.name === id &&
        r.verb === 'update' &&
        r.code >= 400,
    );
    assert.ok(firstRefusal, 'a renewal was refused');
    const r = await analyse(id, users.a, users.b, firstRefusal.at);
    assert.deepEqual(show(r.stale), [], 'no write by the replica after its renew deadline');
    assert.deepEqual(show(r.overlapping), [], 'no write by the replica once the standby led');
    assert.ok(
      r.acquired >= r.cutoff,
      'the standby took the lease only after the old one could no longer write',
    );
    const exitedAfterRenewalMs = refusedAt + exitedMs - r.lastRenewStart;
    assert.ok(
      exitedAfterRenewalMs <= renewDeadlineMs + retryMaxMs + 1000,
      `exited ${exitedAfterRenewalMs} ms after its last successful renewal started`,
    );
    const takeoverMs = r.acquired - r.lastRenewStart;
    assert.ok(
      takeoverMs <= leaseMs + 2 * retryMaxMs + 1000,
      `takeover ${takeoverMs} ms after the last renewal`,
    );
    await b.stop();
    reportFigures('leader election: renewals refused', {
      changes,
      takeoverFromLastRenewalMs: takeoverMs,
      newLeaderFirstWriteFromLastRenewalMs:
        r.firstWrite === undefined ? 'none' : r.firstWrite - r.lastRenewStart,
      metricSawTakeoverFromPolicyMs: tookOver - refusedAt,
      oldLeaderExitedAfterLastRenewalMs: exitedAfterRenewalMs,
      leaseWritesRefused: r.refusedLeaseWrites,
      fencedReconciles: a.logs.filter((l) => l.msg === 'reconcile stopped: not the leader').length,
      staleWrites: r.stale.length,
      overlappingWrites: r.overlapping.length,
    });
  });

  test('(c) SIGTERM to the leader while 200 ElasticWebs are created: it drains and releases, the standby takes over at once', async () => {
    const id = 'ha-term';
    const ns = 'ha-term';
    const { a, b, names } = await pair(id, ns, 10);
    const stream = changeStream(ns, names);
    const burst = (async () => {
      const more = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
      await inParallel(more, 20, (name) =>
        createElasticWeb(admin, ns, name, { image, singlePodsQPS: 100, totalQPS: 200 }),
      );
    })();
    await waitFor('the burst under way', async () => {
      const list = (await admin.must('GET', `/apis/apps/v1/namespaces/${ns}/deployments`)).json<{
        items: unknown[];
      }>();
      return list.items.length >= names.length + 30 ? true : undefined;
    });
    const termAt = Date.now();
    a.signal('SIGTERM');
    const tookOver = await waitFor(
      'the standby to lead',
      async () => ((await leading(b, id)) ? Date.now() : undefined),
      40_000,
    );
    assert.equal(await a.exited, 0, 'the old leader exits 0');
    await burst;
    const changes = await stream.stop();
    await waitConverged(admin, ns, 120_000);
    assert.equal(await desiredGauges(b), names.length + 200, 'the new leader exports the gauges');

    await sleep(1000);
    const r = await analyse(id, users.a, users.b, Date.now());
    assert.deepEqual(show(r.stale), [], 'no write by the old leader after its renew deadline');
    assert.deepEqual(show(r.overlapping), [], 'no write by the old leader once the standby led');
    const takeoverMs = r.acquired - termAt;
    assert.ok(
      a.logs.some((l) => l.msg === 'released leader lease'),
      'the old leader released the lease',
    );
    assert.ok(takeoverMs <= 8000, `takeover ${takeoverMs} ms after SIGTERM`);
    await b.stop();
    reportFigures('leader election: SIGTERM during a burst of 200', {
      changes,
      takeoverMs,
      newLeaderFirstWriteMs: r.firstWrite === undefined ? 'none' : r.firstWrite - termAt,
      metricSawTakeoverMs: tookOver - termAt,
      oldLeaderWrites: r.oldWritesTotal,
      staleWrites: r.stale.length,
      overlappingWrites: r.overlapping.length,
    });
  });
});
