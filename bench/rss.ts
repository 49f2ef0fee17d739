/**
 * Settled resident memory of a process: VmRSS from /proc/<pid>/status, sampled every second until the
 * last `samples` samples lie within 2% of their median (or `maxSeconds` pass); that median is the
 * figure. A single sample would catch whatever garbage the last burst of work left.
 */
import { readFileSync } from 'node:fs';
import { sleep } from './kube.ts';

export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
  } catch {
    return 0;
  }
}

export async function settledRss(
  process: { pid: number },
  { samples, maxSeconds }: { samples: number; maxSeconds: number },
  onSample: (mib: number) => void = () => {},
): Promise<number> {
  const seen: number[] = [];
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const v = rssMiB(process.pid);
    onSample(v);
    seen.push(v);
    const last = seen.slice(-samples).sort((a, b) => a - b);
    const median = last[Math.floor(last.length / 2)] as number;
    const settled =
      last.length === samples && (last[samples - 1] as number) - (last[0] as number) <= 0.02 * median;
    if (settled || Date.now() >= deadline) return median;
    await sleep(1000);
  }
}
