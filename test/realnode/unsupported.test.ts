/**
 * A machine (or user) that cannot run a real node is told so, and why: `npm run cluster -- up --real`
 * run as an unprivileged user exits 1 naming the reason, changes nothing, and `make run`'s choice
 * (realNodeProblems) falls back to kwok for the same reason.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/** Runs node with `args` as user nobody (65534), from the repository; resolves with exit code and output. */
async function asNobody(...args: string[]): Promise<{ code: number; out: string }> {
  return run(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', process.execPath, ...args],
    {
      cwd: root,
    },
  ).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

test('up --real as a non-root user says why it cannot, exits 1, and starts nothing', async () => {
  const hadState = existsSync('/var/lib/elasticweb-real-node/state.json');
  const { code, out } = await asNobody('hack/cluster/cli.ts', 'up', '--real');
  assert.equal(code, 1, out);
  assert.match(out, /this machine cannot run a real node:\n {2}- not root: a node mounts file systems/);
  assert.equal(
    existsSync('/var/lib/elasticweb-real-node/state.json'),
    hadState,
    'no machine change was recorded',
  );
});

test("make run's choice: the same reasons, so it falls back to kwok and says why", async () => {
  const { code, out } = await asNobody(
    '--input-type=module',
    '-e',
    "const m = await import('./hack/cluster/real-node/preflight.ts'); console.log(JSON.stringify(await m.realNodeProblems()));",
  );
  assert.equal(code, 0, out);
  const problems = JSON.parse(out) as string[];
  assert.ok(
    problems.some((p) => p.startsWith('not root')),
    out,
  );
});
