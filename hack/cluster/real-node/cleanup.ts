/**
 * Undoes what a real node whose owner died left on the machine (processes, sysctls, nftables
 * tables, bridge, cgroups, folders), from the record in machine-state.ts. Does nothing while the
 * owner still runs. The reaper runs it when the owner is killed; `npm run cluster -- down` and every
 * real-mode start run the same code first.
 *
 *   node hack/cluster/real-node/cleanup.ts
 */
import { restoreLeftovers } from './machine-state.ts';

const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
try {
  const undone = await restoreLeftovers(log);
  log(undone ? 'real node leftovers undone' : 'nothing to undo');
} catch (err) {
  log(`cleanup failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
