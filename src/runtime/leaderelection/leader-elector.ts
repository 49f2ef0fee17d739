/**
 * Leader election on a coordination.k8s.io Lease, with client-go's algorithm and controller-runtime's
 * timings (lease 15 s, renew deadline 10 s, retry every 2 s):
 *  - a candidate tries every retry period; it takes the Lease when it is free, released (no holder),
 *    or not renewed for a whole lease duration as *we* observed it (clocks of other machines are never
 *    compared with ours);
 *  - the leader renews every retry period; if it cannot renew for the renew deadline it has lost the
 *    lease and must stop at once (the caller exits, as controller-runtime does);
 *  - on shutdown the leader releases the lease (empty holder), so a standby takes over at its next try.
 * Writes use the Lease's resourceVersion, so two candidates can never both win the same round.
 */
import { ApiError, isApiError } from '../client/errors.ts';
import type { KubeClient } from '../client/kube-client.ts';
import { coordination } from '../client/resource-type.ts';
import type { Logger } from '../log/logger.ts';
import { sleep } from '../sleep.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  /** Called with true on becoming leader, false on losing or releasing the lease. */
  onLeadingChange?: (leading: boolean) => void;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** MicroTime, as the Lease API expects it. */
function microTime(date: Date): string {
  return date.toISOString().replace('Z', '000Z');
}

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, 'onLeadingChange'>> &
    Pick<LeaderElectionOptions, 'onLeadingChange'>;
  #leading = false;
  /** The last Lease we read or wrote, and when we saw its record change (our clock). */
  #observed: Lease | undefined;
  #observedAt = 0;
  #lastRenew = 0;

  constructor(options: LeaderElectionOptions) {
    this.#o = {
      ...options,
      leaseDurationMs: options.leaseDurationMs ?? 15_000,
      renewDeadlineMs: options.renewDeadlineMs ?? 10_000,
      retryPeriodMs: options.retryPeriodMs ?? 2_000,
    };
  }

  get leading(): boolean {
    return this.#leading;
  }

  get identity(): string {
    return this.#o.identity;
  }

  /** Waits until this candidate holds the lease; resolves false if `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.#o.log.info(
      { lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity },
      'attempting to acquire leader lease',
    );
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) {
        this.#setLeading(true);
        this.#o.log.info({ lease: `${this.#o.namespace}/${this.#o.name}` }, 'successfully acquired lease');
        return true;
      }
      await sleep(this.#o.retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    return false;
  }

  /**
   * Renews every retry period while leading. Resolves when the lease is lost (could not renew within
   * the renew deadline, or someone else holds it) or when `signal` aborts.
   * Returns true if leadership was lost, false if stopped by the signal.
   */
  async holdUntilLost(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      await sleep(this.#o.retryPeriodMs, signal);
      if (signal.aborted) break;
      const renewed = await this.#tryAcquireOrRenew();
      if (renewed) continue;
      if (this.#holderIsOther() || Date.now() - this.#lastRenew > this.#o.renewDeadlineMs) {
        this.#o.log.error({ lease: `${this.#o.namespace}/${this.#o.name}` }, 'leader lease lost');
        this.#setLeading(false);
        return true;
      }
    }
    return false;
  }

  /** Gives the lease up (empty holder) so a standby can take it at once. Best effort. */
  async release(): Promise<void> {
    if (!this.#leading || !this.#observed) return;
    const now = new Date();
    const lease: Lease = {
      ...this.#observed,
      spec: {
        ...this.#observed.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: microTime(now),
        acquireTime: microTime(now),
      },
    };
    try {
      await this.#o.client.replace(coordination.leases, lease as never, 'elasticweb-operator');
      this.#o.log.info({ lease: `${this.#o.namespace}/${this.#o.name}` }, 'released leader lease');
    } catch (err) {
      this.#o.log.warn({ err }, 'could not release the leader lease; standbys take over when it expires');
    }
    this.#setLeading(false);
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.#o.onLeadingChange?.(leading);
  }

  #holderIsOther(): boolean {
    const holder = this.#observed?.spec.holderIdentity;
    return !!holder && holder !== this.#o.identity;
  }

  /** One round of client-go's tryAcquireOrRenew. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.#o;
    const now = new Date();
    const leaseSeconds = Math.round(this.#o.leaseDurationMs / 1000);
    try {
      const current = await client.getOrUndefined<Lease>(coordination.leases, { namespace, name });
      if (!current) {
        const created = await client.create<Lease>(
          coordination.leases,
          namespace,
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: leaseSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          'elasticweb-operator',
        );
        this.#observe(created);
        this.#lastRenew = Date.now();
        return true;
      }
      if (!this.#observed || this.#observed.metadata.resourceVersion !== current.metadata.resourceVersion) {
        this.#observe(current);
      }
      const holder = current.spec.holderIdentity ?? '';
      const heldByOther = holder !== '' && holder !== identity;
      const durationMs = (current.spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
      if (heldByOther && this.#observedAt + durationMs > Date.now()) return false;

      const weHeldIt = holder === identity;
      const next: Lease = {
        ...current,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: leaseSeconds,
          renewTime: microTime(now),
          acquireTime: weHeldIt ? current.spec.acquireTime : microTime(now),
          leaseTransitions: (current.spec.leaseTransitions ?? 0) + (weHeldIt ? 0 : 1),
        },
      };
      const updated = await client.replace<Lease>(coordination.leases, next as never, 'elasticweb-operator');
      this.#observe(updated);
      this.#lastRenew = Date.now();
      return true;
    } catch (err) {
      // A conflict means another candidate wrote first: not an error, just not us this round.
      if (!(isApiError(err) && err.conflict)) {
        this.#o.log.warn(
          { err: err instanceof ApiError ? err.message : String(err) },
          'leader election round failed',
        );
      }
      return false;
    }
  }

  #observe(lease: Lease): void {
    this.#observed = lease;
    this.#observedAt = Date.now();
  }
}
