/**
 * The floor of a Node operator's idle memory on this machine: a `node` with ours' flags that has
 * loaded `https` and does nothing else. The idle-RSS goal is judged beside it.
 */
import { spawn } from 'node:child_process';
import { imageEntrypoint } from '../hack/entrypoint.ts';
import { settledRss } from './rss.ts';

/** `node`'s arguments for that process (also one of bench/idle-floor's subjects). */
export function bareNodeArgs(): string[] {
  return [...imageEntrypoint().nodeArgs, '-e', "require('node:https'); setInterval(() => {}, 1 << 30);"];
}

export async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, bareNodeArgs(), { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    return await settledRss(child as { pid: number }, { samples: 5, maxSeconds: 15 });
  } finally {
    child.kill('SIGKILL');
  }
}
