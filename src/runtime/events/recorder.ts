/**
 * Records Kubernetes Events (core/v1) on objects, as client-go's event recorder does: recording never
 * blocks or fails the caller; the same event on the same object within ten minutes increments the
 * count of the existing Event instead of creating another; writes go out in the background, a few at
 * a time, and failures are only logged (an Event is a hint for people, never state).
 */
import { hostname } from 'node:os';
import type { KubeClient } from '../client/kube-client.ts';
import { core } from '../client/resource-type.ts';
import type { Logger } from '../log/logger.ts';

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string };
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastSeenMs: number;
}

/** How long an identical event is folded into the previous one (client-go's correlator uses 10 minutes). */
const aggregationWindowMs = 10 * 60_000;
const maxRemembered = 4096;
const maxInFlight = 4;
const maxPending = 1000;

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #instance: string;
  readonly #log: Logger;
  readonly #fieldManager: string;
  /** Recently sent events by identity, oldest first (Map keeps insertion order: an LRU). */
  readonly #seen = new Map<string, Seen>();
  readonly #pending: (() => Promise<void>)[] = [];
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(options: { client: KubeClient; component: string; log: Logger; fieldManager: string }) {
    this.#client = options.client;
    this.#component = options.component;
    this.#instance = `${options.component}-${hostname()}`;
    this.#log = options.log.child({ component: 'events' });
    this.#fieldManager = options.fieldManager;
  }

  /** Records an event on `object`. Returns at once; the write happens in the background. */
  event(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    const namespace = object.metadata.namespace ?? 'default';
    const identity = `${object.metadata.uid}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = new Date();
    const previous = this.#seen.get(identity);
    if (this.#pending.length >= maxPending) {
      this.#log.warn(
        { reason, object: object.metadata.name },
        'event dropped: too many events waiting to be sent',
      );
      return;
    }
    if (previous && now.getTime() - previous.lastSeenMs < aggregationWindowMs) {
      previous.count++;
      previous.lastSeenMs = now.getTime();
      this.#seen.delete(identity);
      this.#seen.set(identity, previous);
      const patch = { count: previous.count, lastTimestamp: now.toISOString() };
      this.#enqueue(() =>
        this.#client
          .mergePatch(
            core.events,
            { namespace: previous.namespace, name: previous.name },
            patch,
            this.#fieldManager,
          )
          .then(() => undefined),
      );
      return;
    }
    const name = `${object.metadata.name}.${(now.getTime() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`;
    const timestamp = now.toISOString();
    this.#remember(identity, {
      name,
      namespace,
      count: 1,
      firstTimestamp: timestamp,
      lastSeenMs: now.getTime(),
    });
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
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
      source: { component: this.#component },
      reportingComponent: this.#component,
      reportingInstance: this.#instance,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
    };
    this.#enqueue(() =>
      this.#client.create(core.events, namespace, body, this.#fieldManager).then(() => undefined),
    );
  }

  /** Resolves once every event recorded so far has been sent (or has failed). */
  flush(): Promise<void> {
    if (this.#inFlight === 0 && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #remember(identity: string, seen: Seen): void {
    this.#seen.set(identity, seen);
    if (this.#seen.size > maxRemembered) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
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
