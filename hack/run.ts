/**
 * `make run`: the main job, from a fresh machine.
 *
 *  1. Finds the cluster: the current kubeconfig (--kubeconfig / $KUBECONFIG / ~/.kube/config) if there
 *     is one; otherwise starts the project's local full cluster (building it first if needed).
 *  2. Installs the CRD.
 *  3. Runs the operator in the foreground, with readable logs.
 *  4. Applies config/samples/ and shows `kubectl get ew` until the sample serves REAL-QPS 2400.
 *  5. Keeps the operator running until Ctrl-C.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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
  say('No kubeconfig found: starting the local full cluster (npm run cluster -- up --full)');
  await new Promise<void>((ok, fail) => {
    const child = spawn(process.execPath, [join(root, 'hack/cluster/cli.ts'), 'up', '--full'], {
      stdio: 'inherit',
    });
    child.once('exit', (code) =>
      code === 0 ? ok() : fail(new Error(`the local cluster did not start (exit ${code})`)),
    );
  });
  return join(root, '.cluster/kubeconfig');
}

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  return stdout;
}

async function main(): Promise<void> {
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

  say('Starting the operator (its logs follow)');
  const entry = imageEntrypoint();
  const operator: ChildProcess = spawn(
    process.execPath,
    [
      ...entry.nodeArgs,
      join(root, sourceOf(entry.script)),
      `--kubeconfig=${kubeconfig}`,
      '--log-format=text',
    ],
    { stdio: 'inherit' },
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
