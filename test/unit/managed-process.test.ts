/**
 * A cluster program that ignores SIGTERM is killed after its grace period, and the caller's teardown
 * goes on. The programs are unref'd (they must never keep a test runner alive on their own), so
 * stop() must hold the process open until the exit arrives: without that, a teardown that had only
 * this wait left ended the whole process mid-way (exit 13, "unsettled top-level await"; in a test
 * file's after() hook, silently), leaving a real node's machine changes to the reaper while the next
 * test file's cluster started (a CI failure).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const processModule = new URL('../../hack/cluster/process.ts', import.meta.url).pathname;

test('stop() of a program that ignores SIGTERM returns after SIGKILL, and the caller carries on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'managed-process-'));
  try {
    const script = join(dir, 'stubborn.ts');
    writeFileSync(
      script,
      `import { ManagedProcess } from ${JSON.stringify(processModule)};
const p = new ManagedProcess(
  { name: 'stubborn', binary: 'bash', args: ['-c', 'trap "" TERM; sleep 30 & wait; sleep 30'], logFile: ${JSON.stringify(join(dir, 'log'))} },
  () => {},
);
p.start();
await new Promise((r) => setTimeout(r, 300));
const pid = p.pid;
await p.stop(200);
console.log(JSON.stringify({ after: 'stop', pid, running: p.running }));
`,
    );
    const { stdout } = await run(process.execPath, [script], { timeout: 20_000 });
    const said = JSON.parse(stdout.trim()) as { after: string; pid: number; running: boolean };
    assert.equal(said.after, 'stop');
    assert.equal(said.running, false);
    assert.throws(() => process.kill(said.pid, 0), /ESRCH/, 'the program is gone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
