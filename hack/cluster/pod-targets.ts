/**
 * Which pods the local Prometheus scrapes, written as a file_sd target file.
 *
 * Debian's Prometheus (2.42) is built without Kubernetes service discovery, so the cluster's owner
 * discovers instead, as kubernetes_sd_configs would with the usual "kubernetes-pods" relabelling:
 * every Running pod annotated prometheus.io/scrape: "true" becomes a target at its IP and
 * prometheus.io/port, with prometheus.io/path as its metrics path and the `namespace` and `pod`
 * labels. The file is rewritten (atomically) whenever the set changes; Prometheus watches it.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { RawClient } from './raw-client.ts';

interface Pod {
  metadata: {
    name: string;
    namespace: string;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  status?: { phase?: string; podIP?: string };
}

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** The target groups for `pods` (pure, for tests). */
export function podTargets(pods: Pod[]): TargetGroup[] {
  const groups: TargetGroup[] = [];
  for (const pod of pods) {
    const a = pod.metadata.annotations ?? {};
    if (a['prometheus.io/scrape'] !== 'true' || pod.status?.phase !== 'Running' || !pod.status.podIP)
      continue;
    const port = a['prometheus.io/port'];
    if (!port || !/^\d+$/.test(port)) continue;
    groups.push({
      targets: [`${pod.status.podIP}:${port}`],
      labels: {
        namespace: pod.metadata.namespace,
        pod: pod.metadata.name,
        ...(a['prometheus.io/path'] ? { __metrics_path__: a['prometheus.io/path'] } : {}),
      },
    });
  }
  return groups.sort((x, y) => (x.targets[0] as string).localeCompare(y.targets[0] as string));
}

/** Keeps `file` current every `intervalMs` until `signal` aborts. Failures are retried quietly. */
export async function keepPodTargets(
  admin: RawClient,
  file: string,
  signal: AbortSignal,
  intervalMs = 2000,
): Promise<void> {
  let last = '';
  const write = (text: string) => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  write('[]\n');
  while (!signal.aborted) {
    try {
      const pods = (await admin.must('GET', '/api/v1/pods')).json<{ items: Pod[] }>().items;
      const text = `${JSON.stringify(podTargets(pods), null, 1)}\n`;
      if (text !== last) {
        write(text);
        last = text;
      }
    } catch {
      // the API server restarting, or the cluster stopping: try again
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
