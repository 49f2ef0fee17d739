/**
 * Leader election on a coordination.k8s.io Lease, with client-go's algorithm and controller-runtime's
 * timings (lease 15 s, renew deadline 10 s, retry every 2 s):
 *  - a candidate tries every retry period; it takes the Lease when it is free, released (no holder),
 *    or not renewed for a whole lease duration as *we* observed it (other machines' clocks are never
 *    compared with ours);
 *  - the leader renews every retry period; each renewal may take only what is left of the renew
 *    deadline, and if none succeeds within it, leadership is lost and the process must stop;
 *  - on shutdown the leader releases the lease (empty holder), so a standby takes over at once.
 * Writes carry the Lease's resourceVersion, so two candidates can never both win the same round.
 *
 * All timing is on the monotonic clock: a wall-clock step cannot stretch a lease. `mayWrite()` is the
 * fence the manager puts in front of every other write: true only while the last successful renewal
 * *started* less than a renew deadline ago. Others wait a whole lease duration from when they saw
 * that renewal, so a replica that was frozen (SIGSTOP, a long GC pause, a VM migration) or cut off
 * stops writing before anyone else can start.
 */

import { classify } from '../client/errors.ts';
import type { KubeClient } from '../client/kube-client.ts';
import { coordination, resourcePath } from '../client/resource-type.ts';
import { type Clock, realClock, sleep } from '../clock.ts';
import type { Logger } from '../log/logger.ts';

export interface LeaderElectionOptions {
  /** Its own client (own connections, no server-asked retries): renewals never queue behind reconciles. */
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  /** Field manager of the Lease writes. */
  fieldManager: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  clock?: Clock;
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
  readonly #o: LeaderElectionOptions & {
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  readonly #clock: Clock;
  #leading = false;
  /** The last Lease we read or wrote, and when (monotonic) we saw its record change. */
  #observed: Lease | undefined;
  #observedAt = 0;
  /** When (monotonic) the last successful acquire or renewal was sent. */
  #renewedAt = Number.NEGATIVE_INFINITY;
  /** The renewal round under way, if any (release waits for it). */
  #renewing: Promise<boolean> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#o = {
      ...options,
      leaseDurationMs: options.leaseDurationMs ?? 15_000,
      renewDeadlineMs: options.renewDeadlineMs ?? 10_000,
      retryPeriodMs: options.retryPeriodMs ?? 2_000,
    };
    this.#clock = options.clock ?? realClock;
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs)
      throw new Error('the renew deadline must be shorter than the lease duration');
  }

  get leading(): boolean {
    return this.#leading;
  }

  get identity(): string {
    return this.#o.identity;
  }

  /** Whether this replica may write: it leads, and its lease cannot have lapsed (see the file comment). */
  mayWrite(): boolean {
    return this.#leading && this.#clock.now() - this.#renewedAt < this.#o.renewDeadlineMs;
  }

  /** Waits until this candidate holds the lease; resolves false if `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.#o.log.info(
      { lease: this.#leaseName(), identity: this.#o.identity },
      'attempting to acquire leader lease',
    );
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(this.#o.renewDeadlineMs)) {
        this.#setLeading(true);
        this.#o.log.info({ lease: this.#leaseName() }, 'successfully acquired lease');
        return true;
      }
      await sleep(this.#o.retryPeriodMs * (1 + Math.random() * 0.2), signal, this.#clock);
    }
    return false;
  }

  /**
   * Renews every retry period while leading. Resolves true when the lease is lost (no renewal within
   * the renew deadline, or someone else holds it), false when `signal` aborts first.
   */
  async holdUntilLost(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      await sleep(this.#o.retryPeriodMs, signal, this.#clock);
      if (signal.aborted) break;
      const left = this.#o.renewDeadlineMs - (this.#clock.now() - this.#renewedAt);
      this.#renewing = left > 0 ? this.#tryAcquireOrRenew(left) : Promise.resolve(false);
      const renewed = await this.#renewing;
      if (renewed) continue;
      if (this.#holderIsOther() || this.#clock.now() - this.#renewedAt >= this.#o.renewDeadlineMs) {
        this.#o.log.error(
          { lease: this.#leaseName(), sinceRenewMs: Math.round(this.#clock.now() - this.#renewedAt) },
          'leader lease lost',
        );
        this.#setLeading(false);
        return true;
      }
    }
    return false;
  }

  /** Gives the lease up (empty holder) so a standby can take it at once. Best effort. */
  async release(): Promise<void> {
    // A renewal still in flight would give the Lease a new resourceVersion under our write, which
    // then fails with a conflict and leaves the lease held: standbys would wait a lease duration.
    // Let it end first (it is bounded by the renew deadline), then release what it left.
    await this.#renewing;
    if (!this.#leading || !this.#observed || this.#holderIsOther()) return;
    this.#setLeading(false);
    const now = this.#clock.wall();
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
      await this.#o.client.replace(coordination.leases, lease as never, this.#o.fieldManager);
      this.#o.log.info({ lease: this.#leaseName() }, 'released leader lease');
    } catch (err) {
      this.#o.log.warn({ err }, 'could not release the leader lease; standbys take over when it expires');
    }
  }

  #leaseName(): string {
    return `${this.#o.namespace}/${this.#o.name}`;
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

  /** One round of client-go's tryAcquireOrRenew, all of it within `budgetMs`. */
  async #tryAcquireOrRenew(budgetMs: number): Promise<boolean> {
    const { client, namespace, name, identity, fieldManager } = this.#o;
    const started = this.#clock.now();
    // The budget runs on our clock, as every other wait does: AbortSignal.timeout would cut the
    // round on the process's timers, which an injected clock (a test's, a simulation's) cannot drive.
    const budget = new AbortController();
    const deadline = this.#clock.setTimer(() => budget.abort(), Math.max(1, budgetMs));
    const signal = budget.signal;
    const now = this.#clock.wall();
    const leaseSeconds = Math.round(this.#o.leaseDurationMs / 1000);
    // A process frozen (SIGSTOP, a long pause) between the read and the write may run on past the
    // budget before the abort timer fires (I/O is handled before timers after a thaw): a Lease write
    // sent then could renew a lease this replica may already have lost. Check the clock itself.
    const spent = () => this.#clock.now() - started >= budgetMs;
    try {
      const current = await client.getOrUndefined<Lease>(coordination.leases, { namespace, name }, signal);
      if (spent()) return false;
      if (!current) {
        const created = await client.request<Lease>('POST', resourcePath(coordination.leases, namespace), {
          body: {
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
          query: { fieldManager },
          signal,
        });
        this.#observe(created);
        this.#renewedAt = started;
        return true;
      }
      if (!this.#observed || this.#observed.metadata.resourceVersion !== current.metadata.resourceVersion) {
        this.#observe(current);
      }
      const holder = current.spec.holderIdentity ?? '';
      const heldByOther = holder !== '' && holder !== identity;
      const durationMs = (current.spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
      if (heldByOther && this.#observedAt + durationMs > this.#clock.now()) return false;

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
      const updated = await client.request<Lease>('PUT', resourcePath(coordination.leases, namespace, name), {
        body: next,
        query: { fieldManager },
        signal,
      });
      this.#observe(updated);
      this.#renewedAt = started;
      return true;
    } catch (err) {
      // A conflict means another candidate wrote first: not an error, just not us this round.
      if (classify(err).kind !== 'conflict') {
        this.#o.log.warn(
          {
            err: err instanceof Error ? err.message : String(err),
            tookMs: Math.round(this.#clock.now() - started),
          },
          'leader election round failed',
        );
      }
      return false;
    } finally {
      deadline.cancel();
    }
  }

  #observe(lease: Lease): void {
    this.#observed = lease;
    this.#observedAt = this.#clock.now();
  }
}
