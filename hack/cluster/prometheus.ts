/**
 * A real Prometheus for the local cluster (Debian's `prometheus` package, installed by
 * hack/prometheus/install.sh). It scrapes the pods annotated the usual way (prometheus.io/scrape,
 * /port, /path) every 5 s, with the `namespace` and `pod` labels that the autopilot's default query
 * selects by. Debian builds it without Kubernetes service discovery, so the pods come from a target
 * file that pod-targets.ts keeps current. It listens on loopback only; its data lives in the cluster
 * folder and goes with it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { keepPodTargets } from './pod-targets.ts';
import { freePort } from './ports.ts';
import { ManagedProcess } from './process.ts';
import type { RawClient } from './raw-client.ts';

export const prometheusBinary = '/usr/bin/prometheus';
const installScript = new URL('../prometheus/install.sh', import.meta.url).pathname;

/** The scrape configuration: the annotated pods of the target file. */
export function scrapeConfig(targetFile: string, scrapeIntervalSeconds = 5): Record<string, unknown> {
  return {
    global: {
      scrape_interval: `${scrapeIntervalSeconds}s`,
      evaluation_interval: `${scrapeIntervalSeconds}s`,
    },
    scrape_configs: [
      {
        job_name: 'kubernetes-pods',
        file_sd_configs: [{ files: [targetFile], refresh_interval: '5s' }],
      },
    ],
  };
}

export interface RunningPrometheus {
  url: string;
  process: ManagedProcess;
  /** Stops the pod discovery (the process is stopped with the cluster's others). */
  stopDiscovery(): void;
}

/** Installs Prometheus if the machine lacks it (Debian package), then starts it in `dir`. */
export async function startPrometheus(options: {
  dir: string;
  admin: RawClient;
  onPidChange: () => void;
  log?: (message: string) => void;
}): Promise<RunningPrometheus> {
  if (!existsSync(prometheusBinary)) {
    options.log?.('installing prometheus (Debian package)');
    execFileSync('bash', [installScript], { stdio: 'inherit' });
  }
  mkdirSync(join(options.dir, 'prometheus-data'), { recursive: true });
  const targets = join(options.dir, 'prometheus-targets.json');
  const discovery = new AbortController();
  void keepPodTargets(options.admin, targets, discovery.signal);
  const config = join(options.dir, 'prometheus.yml');
  writeFileSync(config, stringify(scrapeConfig(targets)));
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
    if (!proc.running) {
      discovery.abort();
      throw new Error(`prometheus exited:\n${proc.tail()}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  return { url, process: proc, stopDiscovery: () => discovery.abort() };
}
