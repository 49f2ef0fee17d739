/**
 * `make run`: the main job, from a fresh machine.
 *
 *  1. Finds the cluster: the current kubeconfig (--kubeconfig / $KUBECONFIG / ~/.kube/config) if there
 *     is one; otherwise starts the project's local cluster (building it first if needed), with a real
 *     node when this machine can run one, else with kwok's simulated nodes, and says which and why.
 *  2. Installs the CRD.
 *  3. Runs the operator in the foreground, with readable logs.
 *  4. Applies config/samples/ and shows `kubectl get ew` until the sample serves REAL-QPS 2400.
 *  5. On a real node, shows `curl http://127.0.0.1:30003/`: nginx's page, served by the sample's pods.
 *  6. With --autopilot (real node only): the autopilot sample under a load profile (autopilot-demo.ts).
 *  7. Keeps the operator running until Ctrl-C.
 *
 * On the local cluster with a real node, the operator gets its Prometheus (--prometheus-url), so
 * ElasticWebs in Observed mode are measured; elsewhere PROMETHEUS_URL is passed on if set.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { autopilotDemo } from './autopilot-demo.ts';
import { realNodeProblems } from './cluster/real-node/preflight.ts';
import { imageEntrypoint, sourceOf } from './entrypoint.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const say = (text: string) => console.log(`\n==> ${text}`);

/** The kubeconfig to use, starting the local cluster when the machine has none. */
async function findCluster(): Promise<string> {
  const configured = process.env.KUBECONFIG || join(homedir(), '.kube', 'config');
  if (existsSync(configured.split(':')[0] as string)) {
    say(`Using the current kubeconfig (${configured})`);
    return configured;
  }
  const problems = await realNodeProblems();
  let mode: '--real' | '--full' = '--real';
  if (problems.length === 0) {
    say('No kubeconfig found: starting the local cluster with a real node (npm run cluster -- up --real)');
  } else {
    mode = '--full';
    say(
      [
        'No kubeconfig found, and this machine cannot run a real node:',
        ...problems.map((p) => `      - ${p}`),
        "    Starting the local cluster with kwok's simulated nodes instead (npm run cluster -- up --full):",
        '    pods turn Ready without running, so nothing answers on the NodePort.',
      ].join('\n'),
    );
  }
  await new Promise<void>((ok, fail) => {
    const child = spawn(process.execPath, [join(root, 'hack/cluster/cli.ts'), 'up', mode], {
      stdio: 'inherit',
    });
    child.once('exit', (code) =>
      code === 0 ? ok() : fail(new Error(`the local cluster did not start (exit ${code})`)),
    );
  });
  return join(root, '.cluster/kubeconfig');
}

/** Whether the kubeconfig is the project's local cluster with a real node (the CLI's state says). */
function onLocalRealNode(kubeconfig: string): boolean {
  try {
    const state = JSON.parse(readFileSync(join(root, '.cluster/state.json'), 'utf8')) as { mode?: string };
    return kubeconfig === join(root, '.cluster/kubeconfig') && state.mode === 'real';
  } catch {
    return false;
  }
}

/** GET on loopback, for the closing `curl`: status line and body. */
function curl(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(`HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}\n${body}`));
    });
    req.once('timeout', () => req.destroy(new Error(`${url} did not answer in 5 s`)));
    req.once('error', reject);
  });
}

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  return stdout;
}

/** The Prometheus the operator measures traffic with: the local cluster's, else $PROMETHEUS_URL. */
function prometheusUrl(kubeconfig: string): string | undefined {
  const local = join(root, '.cluster/prometheus-url');
  if (kubeconfig === join(root, '.cluster/kubeconfig') && existsSync(local))
    return readFileSync(local, 'utf8').trim();
  return process.env.PROMETHEUS_URL || undefined;
}

async function main(): Promise<void> {
  const autopilot = process.argv.includes('--autopilot');
  const kubeconfig = await findCluster();
  try {
    await kubectl(kubeconfig, 'version', '--request-timeout=10s');
  } catch (err) {
    throw new Error(`the cluster of ${kubeconfig} does not answer: ${(err as Error).message.split('\n')[0]}`);
  }

  say('Installing the ElasticWeb CRD (kubectl apply -f config/crd/bases)');
  process.stdout.write(
    await kubectl(kubeconfig, 'apply', '--server-side', '-f', join(root, 'config/crd/bases')),
  );
  await kubectl(kubeconfig, 'wait', '--for=condition=Established', 'crd/elasticwebs.elasticweb.example.com');

  const prometheus = prometheusUrl(kubeconfig);
  say(
    `Starting the operator (its logs follow)${prometheus ? `, measuring traffic with the Prometheus at ${prometheus}` : ''}`,
  );
  const entry = imageEntrypoint();
  const operator: ChildProcess = spawn(
    process.execPath,
    [
      ...entry.nodeArgs,
      join(root, sourceOf(entry.script)),
      `--kubeconfig=${kubeconfig}`,
      '--log-format=text',
      ...(prometheus ? [`--prometheus-url=${prometheus}`] : []),
    ],
    { stdio: 'inherit', env: { ...process.env, ...entry.env } },
  );
  const stop = () => operator.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const exited = new Promise<number | null>((r) => operator.once('exit', (code) => r(code)));

  say('Applying the sample (kubectl apply -k config/samples)');
  process.stdout.write(await kubectl(kubeconfig, 'apply', '-k', join(root, 'config/samples')));

  const deadline = Date.now() + 180_000;
  let real = '';
  while (Date.now() < deadline && real !== '2400') {
    await new Promise((r) => setTimeout(r, 500));
    real = (
      await kubectl(kubeconfig, 'get', 'ew', 'elasticweb-sample', '-o', 'jsonpath={.status.realQPS}')
    ).trim();
  }
  say(real === '2400' ? 'The sample serves REAL-QPS 2400: kubectl get ew -o wide' : 'kubectl get ew -o wide');
  process.stdout.write(await kubectl(kubeconfig, 'get', 'ew', 'elasticweb-sample', '-o', 'wide'));
  if (onLocalRealNode(kubeconfig)) {
    // Real pods serve the sample's NodePort; show the page as a browser would get it.
    say('curl http://127.0.0.1:30003/');
    let page = '';
    for (let i = 0; i < 20 && !page.includes('Welcome to nginx!'); i++) {
      page = await curl('http://127.0.0.1:30003/').catch((e: Error) => `(no answer yet: ${e.message})`);
      if (!page.includes('Welcome to nginx!')) await new Promise((r) => setTimeout(r, 500));
    }
    process.stdout.write(`${page}\n`);
    if (autopilot) await autopilotDemo(kubeconfig, root, say);
  } else if (autopilot) {
    say('--autopilot needs the local cluster with a real node (pods that really serve traffic): skipped');
  }
  say(
    [
      'The operator keeps running. Try: kubectl patch ew elasticweb-sample --type=merge -p \'{"spec":{"totalQPS":4000}}\'',
      `    (with KUBECONFIG=${kubeconfig})`,
      '    Press Ctrl-C to stop the operator. The local cluster, if this started one, stays up: npm run cluster -- down',
    ].join('\n'),
  );
  const code = await exited;
  process.exit(code ?? 0);
}

main().catch((err: unknown) => {
  console.error(`make run failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
