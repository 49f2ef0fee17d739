/**
 * What a start does with a record left by a node that died with its machine (power loss, reboot):
 * its pids, namespace numbers and sysctl values meant something only in that boot, so only the
 * folders it created are removed; nothing is signalled and no setting is written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSysctl } from '../../hack/cluster/real-node/machine-facts.ts';
import { machineStateDir, restoreLeftovers } from '../../hack/cluster/real-node/machine-state.ts';

test('a record from an earlier boot: its folders are removed, nothing else is touched', async () => {
  assert.equal(existsSync(join(machineStateDir, 'state.json')), false, 'no real node runs or was left here');
  const scratch = mkdtempSync(join(tmpdir(), 'earlier-boot-'));
  const created = join(scratch, 'created-by-that-node');
  mkdirSync(join(created, 'inside'), { recursive: true });
  const forward = readSysctl('net.ipv4.ip_forward') as string;
  mkdirSync(machineStateDir, { recursive: true });
  writeFileSync(
    join(machineStateDir, 'state.json'),
    JSON.stringify({
      // A process of another boot: its pid is this very test runner's, which must not be killed.
      owner: { pid: process.pid, startTime: '1', bootId: 'another-boot' },
      clusterDir: join(scratch, 'cluster'),
      sysctls: { 'net.ipv4.ip_forward': forward === '0' ? '1' : '0' },
      nftTables: [],
      createdDirs: [created],
      cgroupDirs: [],
      processGroups: [{ pgid: process.pid, startTime: '1' }],
      mountNamespace: 'mnt:[1]',
    }),
  );
  writeFileSync(
    join(machineStateDir, 'lock'),
    JSON.stringify({ pid: process.pid, startTime: '1', bootId: 'another-boot' }),
  );
  const messages: string[] = [];
  assert.equal(await restoreLeftovers((m) => messages.push(m)), true);
  assert.equal(existsSync(created), false, 'the folder it created is gone');
  assert.equal(readSysctl('net.ipv4.ip_forward'), forward, 'no sysctl was written');
  assert.equal(existsSync(machineStateDir), false, 'the record and its folder are gone');
  assert.ok(
    messages.some((m) => m.includes('restarted')),
    messages.join(' | '),
  );
  rmSync(scratch, { recursive: true, force: true });
});
