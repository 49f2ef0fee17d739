/**
 * The list-then-watch loop of one kind of object, as client-go's reflector and kube-rs's watcher
 * run it, with no cache of its own: it tells a sink what it saw and the sink keeps the state.
 *
 *  - List (paginated), then watch from the list's resourceVersion; a watch the server ends is
 *    resumed from the last resourceVersion seen (bookmarks keep it fresh), with no relist.
 *  - 410 Gone, or "resource version too large" (a storage restored from a backup): relist.
 *  - Any other failure: retry after an exponential backoff with jitter (800 ms doubling to 30 s,
 *    as client-go), reset once the watch delivers something again.
 *  - A watch that ends at once without delivering anything is a failure too (a proxy that closes
 *    every long request), so it backs off instead of spinning.
 *  - A watch that delivers nothing for `idleTimeoutMs` is closed, in case its connection died
 *    without a FIN, and so is one that runs its course without delivering anything. Silence alone
 *    proves nothing: the API server bookmarks a watch only once its cache has moved past the watch's
 *    resourceVersion, so a watch of a kind nobody changes hears nothing for minutes (measured on
 *    kube-apiserver 1.37: a label-selected watch of Secrets, 98 s of silence; Watchers of a kind
 *    changed elsewhere got a bookmark each minute). A watch from a resourceVersion the storage does
 *    not have (restored from a backup) is silent too: the API server answers it with an empty stream,
 *    not an error. So a silent watch is followed by a one-item list at its resourceVersion
 *    (resourceVersionMatch=NotOlderThan), which the API server answers at once when it still has that
 *    version and with "too large resource version" when it does not: watch on from the same version,
 *    or relist. Before, every silent watch relisted: a quiet kind of 10,000 objects was listed whole
 *    every 90 s.
 * It never stops on its own: only the signal passed to run() stops it.
 */

import { classify, WatchIdleError } from '../client/errors.ts';
import type { KubeClient, WatchEvent } from '../client/kube-client.ts';
import type { ListSchema } from '../client/protobuf/builtin-messages.ts';
import { type ResourceType, resourcePath } from '../client/resource-type.ts';
import { type Clock, realClock, sleep } from '../clock.ts';
import type { Logger } from '../log/logger.ts';

/** What the watcher tells its owner. */
export interface WatchSink<R> {
  /** A full list: everything that exists now (replaces what was known). */
  listed(items: R[]): void;
  /** An object was added or changed. */
  applied(object: R): void;
  /** An object was deleted (its last state). */
  deleted(object: R): void;
  /** The server answered: the watcher is connected. */
  healthy(): void;
  /** A list or watch failed; the next try is in `retryInMs`. */
  failed(err: unknown, retryInMs: number): void;
  /** `transform` threw for a raw object: it is left out of the cache (and logged by the sink). */
  transformFailed(raw: unknown, err: unknown): void;
}

export interface WatcherOptions<T, R> {
  client: KubeClient;
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Shrinks each object before the sink sees it (what the cache keeps). */
  transform: (raw: T) => R;
  log: Logger;
  clock?: Clock;
  /** First wait after a failure, doubled up to maxBackoffMs (defaults 800 ms and 30 s, as client-go). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side timeout of each watch (default: random 300-600 s, as client-go). */
  watchTimeoutSeconds?: () => number;
  /** See WatchOptions.idleTimeoutMs (default 90 s); a silent watch is checked, then renewed. */
  idleTimeoutMs?: number;
  /** A watch that ends sooner than this having delivered nothing counts as a failure (default 1 s). */
  minWatchMs?: number;
  /** Lists ask for protobuf and decode what this names (see ListTransformOptions.protobuf). */
  protobuf?: ListSchema;
}

export class Watcher<T, R> {
  readonly #o: WatcherOptions<T, R>;
  readonly #clock: Clock;
  #relists = 0;
  #watchRestarts = 0;
  #silentWatches = 0;
  /** Cleared when a protobuf list held what the schema cannot read: later lists are JSON. */
  #protobuf: ListSchema | undefined;

  constructor(options: WatcherOptions<T, R>) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.#protobuf = options.protobuf;
  }

  /** Lists made, watches renewed, and silent watches checked (each with a one-item list). */
  get stats(): { relists: number; watchRestarts: number; silentWatches: number } {
    return { relists: this.#relists, watchRestarts: this.#watchRestarts, silentWatches: this.#silentWatches };
  }

  /** Lists and watches until `signal` aborts, telling `sink`. Never rejects. */
  async run(sink: WatchSink<R>, signal: AbortSignal): Promise<void> {
    const { initialBackoffMs = 800, maxBackoffMs = 30_000, minWatchMs = 1000 } = this.#o;
    let resourceVersion: string | undefined;
    let backoff = initialBackoffMs;
    const fail = async (err: unknown) => {
      const wait = backoff * (0.5 + Math.random()); // jitter, so many watchers do not retry in step
      sink.failed(err, wait);
      await sleep(wait, signal, this.#clock);
      backoff = Math.min(backoff * 2, maxBackoffMs);
    };
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.#list(sink, signal);
          this.#relists++;
        }
        const started = this.#clock.now();
        let delivered = 0;
        await this.#o.client.watch<T>(
          this.#o.type,
          {
            namespace: this.#o.namespace,
            labelSelector: this.#o.labelSelector,
            fieldSelector: this.#o.fieldSelector,
            resourceVersion,
            timeoutSeconds: this.#o.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300),
            idleTimeoutMs: this.#o.idleTimeoutMs ?? 90_000,
            signal,
          },
          (event) => {
            delivered++;
            resourceVersion = this.#deliver(event, sink) ?? resourceVersion;
            sink.healthy();
            backoff = initialBackoffMs;
          },
        );
        if (signal.aborted) break;
        this.#watchRestarts++;
        if (delivered === 0 && this.#clock.now() - started < minWatchMs) {
          await fail(new Error(`the watch of ${this.#o.type.kind} ended at once without an event`));
        } else if (delivered === 0) {
          resourceVersion = await this.#afterSilence(resourceVersion, 'ran its course', signal);
        } else {
          sink.healthy();
        }
      } catch (thrown) {
        if (signal.aborted) break;
        let err = thrown;
        if (err instanceof WatchIdleError && resourceVersion !== undefined) {
          try {
            resourceVersion = await this.#afterSilence(resourceVersion, 'idle', signal);
            continue;
          } catch (checkErr) {
            // The check failed as any request may (the API server is unreachable): back off below,
            // then watch again from the same version.
            if (signal.aborted) break;
            err = checkErr;
          }
        }
        if (classify(err).kind === 'gone' && resourceVersion !== undefined) {
          // Our resourceVersion was compacted away (or is ahead of the storage): only a fresh list
          // can tell what changed meanwhile.
          this.#o.log.info({ resourceVersion, reason: classify(err).reason }, 'watch expired; relisting');
          resourceVersion = undefined;
          continue;
        }
        // A list that failed, 'gone' included (an expired continue token, "too large resource
        // version"), waits like any failure: listing again at once asks the same question in a loop.
        await fail(err);
      }
    }
  }

  /**
   * After a watch from `resourceVersion` heard nothing (see the top of the file): the version to
   * watch on from, or undefined to relist when the storage no longer has it. Throws what the check
   * list throws otherwise.
   */
  async #afterSilence(
    resourceVersion: string,
    how: 'idle' | 'ran its course',
    signal: AbortSignal,
  ): Promise<string | undefined> {
    this.#silentWatches++;
    try {
      await this.#o.client.request('GET', resourcePath(this.#o.type, this.#o.namespace), {
        verb: 'list',
        signal,
        // "Too large" comes with Retry-After: 1, and retried it takes 43 s (measured) to be final.
        // It is the answer here; any other failure is retried by the loop, from the same version.
        maxServerRetries: 0,
        query: {
          labelSelector: this.#o.labelSelector,
          fieldSelector: this.#o.fieldSelector,
          limit: 1,
          resourceVersion,
          resourceVersionMatch: 'NotOlderThan',
        },
      });
    } catch (err) {
      const failure = classify(err);
      if (failure.kind !== 'gone') throw err;
      this.#o.log.warn(
        { resourceVersion, reason: failure.reason },
        'a silent watch was waiting for a resourceVersion the storage does not have; relisting',
      );
      return undefined;
    }
    this.#o.log.debug(
      { resourceVersion, how },
      'a silent watch; its resourceVersion is still served, watching on',
    );
    return resourceVersion;
  }

  async #list(sink: WatchSink<R>, signal: AbortSignal): Promise<string> {
    const skipped = Symbol('skipped');
    const list = await this.#o.client.listTransformed<T, R | typeof skipped>(this.#o.type, {
      namespace: this.#o.namespace,
      labelSelector: this.#o.labelSelector,
      fieldSelector: this.#o.fieldSelector,
      signal,
      protobuf: this.#protobuf,
      onProtobufUnsupported: (err) => {
        this.#protobuf = undefined;
        this.#o.log.warn({ err: err.message }, 'protobuf list unreadable; listing as JSON from now on');
      },
      transform: (raw) => {
        try {
          return this.#o.transform(raw);
        } catch (err) {
          sink.transformFailed(raw, err);
          return skipped;
        }
      },
    });
    sink.healthy();
    sink.listed(list.items.filter((i): i is R => i !== skipped));
    return list.resourceVersion;
  }

  /** Hands one watch event to the sink; returns its resourceVersion. */
  #deliver(event: WatchEvent<T>, sink: WatchSink<R>): string | undefined {
    const rv = (event.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') return rv;
    let object: R;
    try {
      object = this.#o.transform(event.object);
    } catch (err) {
      // Skipped, not retried: the same object would fail the same way on every relist.
      sink.transformFailed(event.object, err);
      return rv;
    }
    if (event.type === 'DELETED') sink.deleted(object);
    else sink.applied(object);
    return rv;
  }
}
