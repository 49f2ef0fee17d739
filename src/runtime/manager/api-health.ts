/**
 * Is the API server itself up? The answer decides two things: whether this manager is ready (an
 * operator cut off from its API server should not look healthy), and when keys that failed during
 * an outage may be retried at once instead of waiting out their backoff.
 *
 * A failed request alone does not say: an admission webhook that is down makes the API server answer
 * 500 to one kind of write while everything else works. So a failure that *could* be an outage (no
 * answer, or a 5xx that `classify` does not blame on a webhook) only makes this ask the API server's
 * own /readyz (at most once a second); the outage starts when that fails, and ends when it answers 200
 * again, which any answer during the outage makes it ask. An idle operator makes no requests, so
 * /readyz of the manager asks too (see Manager).
 */

import { ApiError, classify } from '../client/errors.ts';
import type { KubeClient, RequestRecord } from '../client/kube-client.ts';
import { type Clock, realClock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';

export interface ApiHealthOptions {
  client: KubeClient;
  log: Logger;
  clock?: Clock;
  /** Called when an outage ends (the API server answers /readyz 200 again). */
  onRecovered?: () => void;
  /** Minimum time between two /readyz probes (default 1 s). */
  probeIntervalMs?: number;
  /** Timeout of one probe (default 2 s). */
  probeTimeoutMs?: number;
}

export class ApiHealth {
  readonly #o: ApiHealthOptions;
  readonly #clock: Clock;
  /** Since when (monotonic) the API server has been unhealthy, if it is. */
  #outageSince: number | undefined;
  #lastProbe = Number.NEGATIVE_INFINITY;
  #probing: Promise<void> | undefined;

  constructor(options: ApiHealthOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
  }

  /** Milliseconds the API server has been down, 0 when it is up. */
  get downForMs(): number {
    return this.#outageSince === undefined ? 0 : this.#clock.now() - this.#outageSince;
  }

  /** Tells it about a response (the client's onResponse hook). */
  observe(record: RequestRecord): void {
    if (record.path === '/readyz') return; // our own probe
    if (record.status !== 0 && record.status < 500) {
      // An answer during an outage: the API server may be back. Ask (at most once a probe
      // interval), so the outage ends, and what failed in it is retried, without waiting for
      // someone to ask the manager's /readyz: there may be no kubelet probing it (make run, or
      // --health-probe-bind-address=0).
      if (this.#outageSince !== undefined) void this.probe();
      return;
    }
    const err = new ApiError({ status: record.status, method: record.method, path: record.path });
    // Without a body the message is unknown, so a webhook's 500 may be suspected here too: the
    // probe settles it, since /readyz does not go through webhooks.
    if (classify(err).outage) void this.probe();
  }

  /** Asks the API server's /readyz, unless it was asked less than a probe interval ago. */
  probe(): Promise<void> {
    if (this.#probing) return this.#probing;
    if (this.#clock.now() - this.#lastProbe < (this.#o.probeIntervalMs ?? 1000)) return Promise.resolve();
    this.#lastProbe = this.#clock.now();
    this.#probing = (async () => {
      const status = await this.#o.client.health('/readyz', this.#o.probeTimeoutMs ?? 2000);
      this.#settle(status === 200, status);
    })().finally(() => {
      this.#probing = undefined;
    });
    return this.#probing;
  }

  #settle(healthy: boolean, status: number): void {
    if (!healthy && this.#outageSince === undefined) {
      this.#outageSince = this.#clock.now();
      this.#o.log.warn({ readyz: status || 'no answer' }, 'the API server is not ready');
    } else if (healthy && this.#outageSince !== undefined) {
      this.#o.log.info({ downForMs: Math.round(this.downForMs) }, 'the API server is ready again');
      this.#outageSince = undefined;
      this.#o.onRecovered?.();
    }
  }
}
