/**
 * `npm run demo -- --autopilot`: after the sample, applies the autopilot sample
 * (config/samples/elasticweb_v1_elasticweb_autopilot.yaml: Observed mode, 25 QPS per pod) and sends
 * its NodePort a load profile on 127.0.0.1: a pause, 180 requests a second, then 15. Every few
 * seconds it prints the load, the QPS the operator measured and the replicas, and at the end writes
 * the run to docs/autopilot-run.json and the chart to docs/autopilot.svg.
 *
 * Needs pods that really serve (the local cluster's real node) and the operator started with
 * --prometheus-url (make run passes the local cluster's).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type LoadStep, runLoad } from './traffic/load.ts';
import { renderTimeline, type TimelinePoint } from './traffic/plot.ts';

const run = promisify(execFile);
const name = 'elasticweb-autopilot';
const url = 'http://127.0.0.1:30004/';
export const chartTitle =
  'Observed mode on a real node: 25 QPS per pod at 80% utilization, scale-down window 60 s';
export const profile: LoadStep[] = [
  { rps: 0, seconds: 20 },
  { rps: 180, seconds: 100 },
  { rps: 15, seconds: 160 },
];

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  return (await run('kubectl', ['--kubeconfig', kubeconfig, ...args])).stdout;
}

interface Observed {
  status?: { observedQPS?: number; conditions?: { type: string; status: string; reason: string }[] };
}

export async function autopilotDemo(
  kubeconfig: string,
  root: string,
  say: (s: string) => void,
): Promise<void> {
  say(
    `Applying the autopilot sample (kubectl apply -f config/samples/${name.replace('elasticweb-', 'elasticweb_v1_elasticweb_')}.yaml)`,
  );
  process.stdout.write(
    await kubectl(
      kubeconfig,
      'apply',
      '-f',
      join(root, 'config/samples/elasticweb_v1_elasticweb_autopilot.yaml'),
    ),
  );
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ew = JSON.parse(await kubectl(kubeconfig, 'get', 'ew', name, '-o', 'json')) as Observed;
    const autoscaling = ew.status?.conditions?.find((c) => c.type === 'Autoscaling');
    if (autoscaling?.status === 'True') break;
    if (Date.now() > deadline)
      throw new Error(
        `${name} is not measured (Autoscaling ${autoscaling?.reason ?? 'unknown'}): is the operator started with --prometheus-url?`,
      );
    await new Promise((r) => setTimeout(r, 2000));
  }
  say(`Sending load to ${url}: ${profile.map((s) => `${s.rps}/s for ${s.seconds} s`).join(', then ')}`);
  const points: TimelinePoint[] = [];
  const started = Date.now();
  const load = runLoad({ url, steps: profile });
  const rateAt = (t: number) => {
    let end = 0;
    for (const step of profile) {
      end += step.seconds;
      if (t < end) return step.rps;
    }
    return 0;
  };
  const total = profile.reduce((s, p) => s + p.seconds, 0);
  console.log('   time  load  observed  replicas  ready');
  let lastPrint = -5;
  while ((Date.now() - started) / 1000 < total + 2) {
    const t = (Date.now() - started) / 1000;
    const [ew, deployment] = await Promise.all([
      kubectl(kubeconfig, 'get', 'ew', name, '-o', 'json').then((s) => JSON.parse(s) as Observed),
      kubectl(kubeconfig, 'get', 'deployment', name, '-o', 'json').then(
        (s) => JSON.parse(s) as { spec: { replicas: number }; status: { readyReplicas?: number } },
      ),
    ]);
    const point: TimelinePoint = {
      t: Math.round(t * 10) / 10,
      load: rateAt(t),
      ...(ew.status?.observedQPS !== undefined ? { observed: ew.status.observedQPS } : {}),
      replicas: deployment.spec.replicas,
      ready: deployment.status.readyReplicas ?? 0,
    };
    points.push(point);
    if (t - lastPrint >= 5) {
      lastPrint = t;
      console.log(
        `${String(Math.round(t)).padStart(6)}s ${String(point.load).padStart(5)} ${String(point.observed ?? '-').padStart(9)} ${String(point.replicas).padStart(9)} ${String(point.ready).padStart(6)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  const result = await load;
  say(`Load done: ${result.ok} answered, ${result.failed} failed`);
  const file = join(root, 'docs/autopilot-run.json');
  writeFileSync(
    file,
    `${JSON.stringify({ recordedAt: new Date().toISOString(), profile, points, ok: result.ok, failed: result.failed }, null, 1)}\n`,
  );
  writeFileSync(
    join(root, 'docs/autopilot.svg'),
    renderTimeline(
      points,
      'Observed mode on a real node: 25 QPS per pod at 80% utilization, scale-down window 60 s',
    ),
  );
  say(`Wrote ${file} and docs/autopilot.svg`);
}
