/**
 * Records Kubernetes Events (core/v1) on objects, as client-go's event recorder does:
 *  - recording never blocks or fails the caller; writes go out in the background, a few at a time,
 *    and failures are only logged (an Event is a hint for people, never state);
 *  - the same event on the same object within ten minutes increments the count of the existing
 *    Event (a PATCH) instead of creating another; if that Event is gone (expired, deleted, or its
 *    create failed), a new one is created;
 *  - a spam filter per object and reason (client-go's rates: a burst of 25, then one every 5 minutes)
 *    bounds what one misbehaving object can send, however often it is reconciled; unlike client-go's,
 *    which counts all of an object's events together, a flood of one reason (Scaled, under a busy
 *    autopilot) cannot silence another (a MetricUnavailable warning).
 */

import { isNotFound } from '../client/errors.ts';
import type { KubeClient } from '../client/kube-client.ts';
import { core } from '../client/resource-type.ts';
import { TokenBucket } from '../client/token-bucket.ts';
import { type Clock, realClock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string };
}

interface Sent {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
  /** Whether the Event exists on the server (its create succeeded). */
  created: boolean;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** source.component and reportingComponent, e.g. the operator's name. */
  component: string;
  /** reportingInstance (default: component-hostname). */
  instance: string;
  fieldManager: string;
  log: Logger;
  clock?: Clock;
  /** Per-object spam filter (default: burst 25, then one every 300 s, as client-go). */
  spamBurst?: number;
  spamRefillSeconds?: number;
}

/** How long an identical event is folded into the previous one (client-go's correlator uses 10 minutes). */
const aggregationWindowMs = 10 * 60_000;
const maxRemembered = 4096;
const maxInFlight = 4;
const maxPending = 1000;

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Recently sent events by identity, oldest first (Map keeps insertion order: an LRU). */
  readonly #sent = new Map<string, Sent>();
  /** One spam bucket per involved object uid (LRU-bounded). */
  readonly #spam = new Map<string, TokenBucket>();
  readonly #pending: (() => Promise<void>)[] = [];
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #dropped = 0;

  constructor(options: EventRecorderOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.#log = options.log.child({ component: 'events' });
  }

  /** Events not sent because of the spam filter or a full backlog, since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Records an event on `object`. Returns at once; the write happens in the background. */
  event(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    if (
      this.#pending.length >= maxPending ||
      !this.#allow(`${object.metadata.uid}\u0000${type}\u0000${reason}`)
    ) {
      this.#dropped++;
      this.#log.debug({ reason, object: object.metadata.name }, 'event dropped (spam filter or backlog)');
      return;
    }
    const namespace = object.metadata.namespace ?? 'default';
    const identity = `${object.metadata.uid}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = this.#clock.now();
    const wall = this.#clock.wall().toISOString();
    const previous = this.#sent.get(identity);
    if (previous && now - previous.lastSeen < aggregationWindowMs) {
      previous.count++;
      previous.lastSeen = now;
      this.#touch(identity, previous);
      const count = previous.count;
      this.#enqueue(async () => {
        if (previous.created) {
          try {
            await this.#o.client.mergePatch(
              core.events,
              { namespace: previous.namespace, name: previous.name },
              { count, lastTimestamp: wall },
              this.#o.fieldManager,
            );
            return;
          } catch (err) {
            if (!isNotFound(err)) throw err;
            // The Event expired or was deleted: tell it again, as a new one.
          }
        }
        await this.#create(object, type, reason, message, previous, wall, count);
      });
      return;
    }
    const sent: Sent = {
      name: eventName(object.metadata.name, this.#clock.wall()),
      namespace,
      count: 1,
      lastSeen: now,
      created: false,
    };
    this.#touch(identity, sent);
    this.#enqueue(() => this.#create(object, type, reason, message, sent, wall, 1));
  }

  /** Resolves once every event recorded so far has been sent (or has failed). */
  flush(): Promise<void> {
    if (this.#inFlight === 0 && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #create(
    object: InvolvedObject,
    type: EventType,
    reason: string,
    message: string,
    sent: Sent,
    timestamp: string,
    count: number,
  ): Promise<void> {
    if (sent.created) sent.name = eventName(object.metadata.name, this.#clock.wall());
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: sent.name, namespace: sent.namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.#o.component },
      reportingComponent: this.#o.component,
      reportingInstance: this.#o.instance,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count,
    };
    sent.created = false;
    await this.#o.client.create(core.events, sent.namespace, body, this.#o.fieldManager);
    sent.created = true;
  }

  /** The spam filter: one token per event, per object. */
  #allow(source: string): boolean {
    let bucket = this.#spam.get(source);
    if (!bucket) {
      const refill = this.#o.spamRefillSeconds ?? 300;
      bucket = new TokenBucket(1 / refill, this.#o.spamBurst ?? 25, () => this.#clock.now(), this.#clock);
      this.#spam.set(source, bucket);
      if (this.#spam.size > maxRemembered) this.#spam.delete(this.#spam.keys().next().value as string);
    }
    if (bucket.tryTake()) return true;
    return false;
  }

  #touch(identity: string, sent: Sent): void {
    this.#sent.delete(identity);
    this.#sent.set(identity, sent);
    if (this.#sent.size > maxRemembered) this.#sent.delete(this.#sent.keys().next().value as string);
  }

  #enqueue(send: () => Promise<void>): void {
    this.#pending.push(send);
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight < maxInFlight && this.#pending.length > 0) {
      const send = this.#pending.shift() as () => Promise<void>;
      this.#inFlight++;
      send()
        .catch((err: unknown) => this.#log.warn({ err }, 'could not write event'))
        .finally(() => {
          this.#inFlight--;
          this.#pump();
          if (this.#inFlight === 0 && this.#pending.length === 0)
            for (const resolve of this.#idle.splice(0)) resolve();
        });
    }
  }
}

/** Counts within a millisecond: the sub-millisecond part of Event names. */
let sequence = Math.floor(Math.random() * 1e6);

/**
 * A unique Event name: the object's name and a time in nanoseconds in hex, as client-go names them.
 * Computed as a bigint: milliseconds × 10^6 is past 2^53, where a number keeps steps of 256 and
 * loses the sub-millisecond part. That part counts up (from a random start, so two processes rarely
 * meet), so events of one object in one millisecond never share a name and none is refused as a
 * duplicate.
 */
function eventName(objectName: string, at: Date): string {
  sequence = (sequence + 1) % 1_000_000;
  const nanoseconds = BigInt(at.getTime()) * 1_000_000n + BigInt(sequence);
  return `${objectName}.${nanoseconds.toString(16)}`;
}
