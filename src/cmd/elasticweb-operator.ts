#!/usr/bin/env node
/**
 * elasticweb-operator: the manager process. Flags -> manager -> controllers -> run until SIGTERM.
 * See `elasticweb-operator --help`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fieldManager } from '../controllers/elasticweb/desired.ts';
import { setupElasticWebController } from '../controllers/elasticweb/setup.ts';
import { loadMallocTrim } from '../native/malloc-trim.ts';
import { createLogger, loadRestConfig, Manager } from '../runtime/index.ts';
import { type Flags, parseFlags, usage } from './flags.ts';

const inClusterNamespaceFile = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function leaseNamespace(flags: Flags): string {
  if (flags.leaderElectionNamespace) return flags.leaderElectionNamespace;
  if (existsSync(inClusterNamespaceFile)) return readFileSync(inClusterNamespaceFile, 'utf8').trim();
  throw new Error('--leader-elect needs --leader-election-namespace when not running in a cluster');
}

async function main(): Promise<number> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${usage()}`);
    return 2;
  }
  if (flags.help) {
    console.log(usage());
    return 0;
  }
  const log = createLogger({ level: flags.logLevel, format: flags.logFormat });
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));

  const nativeTrim = loadMallocTrim();
  if ('unavailable' in nativeTrim)
    log.info({ reason: nativeTrim.unavailable }, 'idle release without malloc_trim');

  let manager: Manager;
  try {
    const restConfig = await loadRestConfig(flags.kubeconfig);
    log.info(
      { server: restConfig.server, kubeconfig: restConfig.source, namespace: flags.namespace ?? '(all)' },
      'starting manager',
    );
    manager = new Manager({
      restConfig,
      log,
      name: fieldManager,
      version: '0.1.0',
      namespace: flags.namespace,
      metricsBindAddress: flags.metricsBindAddress,
      metricsSecure: flags.metricsSecure,
      metricsCertDir: flags.metricsCertDir,
      healthProbeBindAddress: flags.healthProbeBindAddress,
      watchTimeoutSeconds: flags.watchTimeoutSeconds,
      leaderElection: flags.leaderElect
        ? { namespace: leaseNamespace(flags), id: flags.leaderElectionId }
        : undefined,
      idleMemoryRelease: 'trim' in nativeTrim ? { trimNative: nativeTrim.trim } : true,
    });
    setupElasticWebController(manager, {
      maxConcurrentReconciles: flags.maxConcurrentReconciles,
      prometheusUrl: flags.prometheusUrl,
      autoscalingIntervalMs: flags.autoscalingIntervalSeconds * 1000,
    });
    await manager.start();
  } catch (err) {
    log.fatal({ err }, 'could not start');
    return 1;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      manager.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    void manager.whenLeaderLost.then((lost) => {
      // Another replica may be reconciling already: stop at once rather than gracefully.
      if (lost && !stopping) {
        log.fatal('leader election lost');
        resolve(1);
      }
    });
  });
}

process.exit(await main());
