/**
 * A real Prometheus for the local cluster (Debian's `prometheus` package, installed by
 * hack/prometheus/install.sh): it finds pods through the API server (kubernetes_sd_configs, role pod)
 * and scrapes those annotated the usual way (prometheus.io/scrape, /port, /path), every 5 s, keeping
 * the `namespace` and `pod` labels that the autopilot's default query selects by. It listens on
 * loopback only; its data lives in the cluster folder and goes with it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.ts';
import { ManagedProcess } from './process.ts';

export const prometheusBinary = '/usr/bin/prometheus';
const installScript = new URL('../prometheus/install.sh', import.meta.url).pathname;

/** The scrape configuration: annotated pods, their namespace and pod name as labels. */
export function scrapeConfig(kubeconfigPath: string, scrapeIntervalSeconds = 5): Record<string, unknown> {
  return {
    global: {
      scrape_interval: `${scrapeIntervalSeconds}s`,
      evaluation_interval: `${scrapeIntervalSeconds}s`,
    },
    scrape_configs: [
      {
        job_name: 'kubernetes-pods',
        kubernetes_sd_configs: [{ role: 'pod', kubeconfig_file: kubeconfigPath }],
        relabel_configs: [
          {
            source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'],
            action: 'keep',
            regex: 'true',
          },
          {
            source_labels: ['__meta_kubernetes_pod_phase'],
            action: 'drop',
            regex: 'Pending|Succeeded|Failed',
          },
          {
            source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'],
            action: 'replace',
            target_label: '__metrics_path__',
            regex: '(.+)',
          },
          {
            // One target per pod: its IP and the annotated port (the pod role yields one per declared port).
            source_labels: [
              '__meta_kubernetes_pod_ip',
              '__meta_kubernetes_pod_annotation_prometheus_io_port',
            ],
            action: 'replace',
            regex: '(.+);(\\d+)',
            replacement: '$1:$2',
            target_label: '__address__',
          },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
          { action: 'labeldrop', regex: '__meta_kubernetes_pod_container_.*' },
        ],
      },
    ],
  };
}

export interface RunningPrometheus {
  url: string;
  process: ManagedProcess;
}

/** Installs Prometheus if the machine lacks it (Debian package), then starts it in `dir`. */
export async function startPrometheus(options: {
  dir: string;
  kubeconfigPath: string;
  onPidChange: () => void;
  log?: (message: string) => void;
}): Promise<RunningPrometheus> {
  if (!existsSync(prometheusBinary)) {
    options.log?.('installing prometheus (Debian package)');
    execFileSync('bash', [installScript], { stdio: 'inherit' });
  }
  mkdirSync(join(options.dir, 'prometheus-data'), { recursive: true });
  const config = join(options.dir, 'prometheus.yml');
  writeFileSync(config, stringify(scrapeConfig(options.kubeconfigPath)));
  const port = await freePort();
  const proc = new ManagedProcess(
    {
      name: 'prometheus',
      binary: prometheusBinary,
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(options.dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1d',
        '--log.level=warn',
      ],
      logFile: join(options.dir, 'prometheus.log'),
    },
    options.onPidChange,
  );
  proc.start();
  const url = `http://127.0.0.1:${port}`;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 500)) {
    if (!proc.running) throw new Error(`prometheus exited:\n${proc.tail()}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  return { url, process: proc };
}
