/**
 * The parts of prom-client the runtime uses, loaded one by one instead of through its index.
 *
 * Why: prom-client's index loads every default metric, and its process CPU counters load
 * @opentelemetry/api (for exemplars the runtime never uses): 8 MiB more resident memory, measured
 * (node 24, loading `prom-client` vs. these parts next to `https`: 63.5 vs 54.4 MiB), a sixth of an
 * idle operator. The CPU counters are made here instead, with the same names and meaning.
 *
 * The parts are static imports of prom-client's CommonJS files (no `exports` map restricts them), so
 * the image's bundle (hack/build/bundle.ts) carries them instead of loading each from node_modules.
 * Their types are prom-client's own, through prom-parts.d.ts.
 */
import type * as PromClient from 'prom-client';
import CounterClass from 'prom-client/lib/counter.js';
import GaugeClass from 'prom-client/lib/gauge.js';
import HistogramClass from 'prom-client/lib/histogram.js';
import eventLoopLag from 'prom-client/lib/metrics/eventLoopLag.js';
import gc from 'prom-client/lib/metrics/gc.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import processResources from 'prom-client/lib/metrics/processResources.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import version from 'prom-client/lib/metrics/version.js';
import RegistryClass from 'prom-client/lib/registry.js';

export const Registry = RegistryClass;
export type Registry = PromClient.Registry;
export const Counter = CounterClass;
export const Gauge = GaugeClass;
export const Histogram = HistogramClass;

/** prom-client's default metrics but its CPU counters (see processCpu below). */
const defaultMetrics = [
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag,
  processResources,
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
  gc,
];

/**
 * The default process and Node.js metrics (process_resident_memory_bytes, nodejs_eventloop_lag_*,
 * nodejs_gc_duration_seconds, nodejs_heap_*...) and process_cpu_{user,system,}_seconds_total.
 */
export function collectDefaultMetrics(registry: PromClient.Registry): void {
  const config = { register: registry, eventLoopMonitoringPrecision: 10 };
  for (const metric of defaultMetrics) {
    if (metric === processResources && typeof process.getActiveResourcesInfo !== 'function') continue;
    metric(registry, config);
  }
  processCpu(registry);
}

/** process_cpu_user_seconds_total, _system_, and their sum, as prom-client defines them. */
function processCpu(registry: PromClient.Registry): void {
  let last = process.cpuUsage();
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers: [registry],
  });
  const system = new Counter({
    name: 'process_cpu_system_seconds_total',
    help: 'Total system CPU time spent in seconds.',
    registers: [registry],
  });
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers: [registry],
    collect() {
      const now = process.cpuUsage();
      const u = (now.user - last.user) / 1e6;
      const s = (now.system - last.system) / 1e6;
      last = now;
      user.inc(u);
      system.inc(s);
      this.inc(u + s);
    },
  });
}
