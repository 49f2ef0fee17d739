/**
 * The one client for the API server: JSON over a shared pool of kept-alive HTTPS connections (node's
 * own https module: no extra library to load), with server-side apply, the status subresource,
 * paginated lists and streaming watches.
 *
 * Objects are plain parsed JSON, never run through generated model classes: nothing is dropped
 * silently, and nothing is serialised twice.
 *
 * Retries here are only the ones the server asks for (429 or 5xx with Retry-After, as client-go does)
 * and one retry after a 401 with a fresh credential. Every other failure is an ApiError for the caller
 * (usually the controller, which retries with per-key backoff).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { sleep } from '../sleep.ts';
import { ApiError, type StatusBody } from './errors.ts';
import { type ObjectKey, type ResourceType, resourcePath } from './resource-type.ts';
import type { RestConfig } from './rest-config.ts';
import { TokenBucket } from './token-bucket.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What the client reports after every response (for rest_client_requests_total and tests). */
export interface RequestRecord {
  method: HttpMethod;
  /** The verb in API terms: get, list, watch, create, update, patch, apply, delete. */
  verb: string;
  path: string;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  durationSeconds: number;
}

export interface KubeClientOptions {
  userAgent?: string;
  /** Client-side rate limit in requests per second; 0 or less turns it off (the default, as in controller-runtime). */
  qps?: number;
  burst?: number;
  /** Called after every response; must not throw. */
  onResponse?: (record: RequestRecord) => void;
  /** Called when the client waits before a retry the server asked for. */
  onRetry?: (record: RequestRecord, waitSeconds: number) => void;
  /** Per-request timeout for everything but watches (default 60 s). */
  timeoutMs?: number;
  /** Connections kept per server (default 32); each open watch holds one. */
  maxSockets?: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Recorded verb, when the method alone does not say it (list, watch, apply). */
  verb?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size (default 500, as client-go's pager). */
  limit?: number;
  signal?: AbortSignal;
}

export interface ListTransformOptions<T, R> extends ListOptions {
  /** Applied to each item as its page arrives, so full objects never pile up across pages. */
  transform: (item: T) => R;
}

export interface List<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  /** Server-side timeout; the server ends the watch cleanly after this (default 300 s). */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** Retries the server asks for (Retry-After) before giving up, as client-go's default. */
const maxServerRetries = 10;
const maxRetryAfterSeconds = 30;

const applyPatch = 'application/apply-patch+yaml';
const mergePatch = 'application/merge-patch+json';

export class KubeClient {
  readonly config: RestConfig;
  readonly #agent: HttpAgent;
  readonly #options: KubeClientOptions;
  readonly #limiter: TokenBucket | undefined;
  readonly #url: URL;
  readonly #basePath: string;
  readonly #request: typeof httpsRequest;

  constructor(config: RestConfig, options: KubeClientOptions = {}) {
    this.config = config;
    this.#options = options;
    this.#url = new URL(config.server);
    this.#basePath = this.#url.pathname.replace(/\/+$/, '');
    const pool = {
      keepAlive: true,
      // TCP keep-alive probes find connections that died without a FIN (a restarted API server).
      keepAliveMsecs: 30_000,
      maxSockets: options.maxSockets ?? 32,
      maxFreeSockets: 16,
      scheduling: 'lifo' as const,
    };
    const https = this.#url.protocol === 'https:';
    this.#agent = https ? new HttpsAgent({ ...pool, ...config.tls }) : new HttpAgent(pool);
    this.#request = https ? httpsRequest : httpRequest;
    this.#limiter =
      options.qps && options.qps > 0 ? new TokenBucket(options.qps, options.burst ?? options.qps) : undefined;
  }

  /** Host label for metrics, as client-go reports it. */
  get host(): string {
    return new URL(this.config.server).host;
  }

  // ---- typed verbs --------------------------------------------------------------------------------

  async get<T>(type: ResourceType, key: ObjectKey, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', resourcePath(type, key.namespace, key.name), { signal });
  }

  /** get, but undefined instead of a 404 error. */
  async getOrUndefined<T>(type: ResourceType, key: ObjectKey, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.get<T>(type, key, signal);
    } catch (err) {
      if (err instanceof ApiError && err.notFound) return undefined;
      throw err;
    }
  }

  /** Lists every page (limit/continue) and returns all items with the list's resourceVersion. */
  async list<T>(type: ResourceType, options: ListOptions = {}): Promise<List<T>> {
    return this.listTransformed<T, T>(type, { ...options, transform: (item) => item });
  }

  /**
   * Lists every page, transforming each item as its page arrives: with thousands of objects, only
   * one page of full objects is alive at a time, not the whole list.
   */
  async listTransformed<T, R>(type: ResourceType, options: ListTransformOptions<T, R>): Promise<List<R>> {
    const items: R[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.request<{
        items: T[];
        metadata: { resourceVersion: string; continue?: string };
      }>('GET', resourcePath(type, options.namespace), {
        verb: 'list',
        signal: options.signal,
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: options.limit ?? 500,
          continue: continueToken,
        },
      });
      for (const item of page.items) items.push(options.transform(item));
      resourceVersion = page.metadata.resourceVersion;
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    return { items, resourceVersion };
  }

  async create<T>(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    fieldManager: string,
  ): Promise<T> {
    return this.request<T>('POST', resourcePath(type, namespace), { body, query: { fieldManager } });
  }

  /**
   * Server-side apply of `body` (which must carry apiVersion, kind, metadata.name and, if namespaced,
   * metadata.namespace) under `fieldManager`. With `force`, conflicting fields owned by other managers
   * are taken over, as a controller must to undo drift.
   */
  async apply<T>(type: ResourceType, body: ObjectWithMeta, fieldManager: string, force = true): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, body.metadata.namespace, body.metadata.name), {
      verb: 'apply',
      body,
      contentType: applyPatch,
      query: { fieldManager, force: force ? true : undefined },
    });
  }

  /** Server-side apply to the status subresource. */
  async applyStatus<T>(type: ResourceType, body: ObjectWithMeta, fieldManager: string): Promise<T> {
    return this.request<T>(
      'PATCH',
      resourcePath(type, body.metadata.namespace, body.metadata.name, 'status'),
      {
        verb: 'apply',
        body,
        contentType: applyPatch,
        query: { fieldManager, force: true },
      },
    );
  }

  /** JSON merge patch (RFC 7386) of the status subresource. */
  async mergePatchStatus<T>(
    type: ResourceType,
    key: ObjectKey,
    patch: unknown,
    fieldManager: string,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, key.namespace, key.name, 'status'), {
      body: patch,
      contentType: mergePatch,
      query: { fieldManager },
    });
  }

  /** JSON merge patch (RFC 7386). */
  async mergePatch<T>(type: ResourceType, key: ObjectKey, patch: unknown, fieldManager: string): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, key.namespace, key.name), {
      body: patch,
      contentType: mergePatch,
      query: { fieldManager },
    });
  }

  /** Strategic merge patch (built-in kinds only): understands list merge keys and $patch: delete. */
  async strategicMergePatch<T>(
    type: ResourceType,
    key: ObjectKey,
    patch: unknown,
    fieldManager: string,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, key.namespace, key.name), {
      body: patch,
      contentType: 'application/strategic-merge-patch+json',
      query: { fieldManager },
    });
  }

  async replace<T>(type: ResourceType, body: ObjectWithMeta, fieldManager: string): Promise<T> {
    return this.request<T>('PUT', resourcePath(type, body.metadata.namespace, body.metadata.name), {
      body,
      query: { fieldManager },
    });
  }

  async delete(
    type: ResourceType,
    key: ObjectKey,
    options: { propagationPolicy?: string } = {},
  ): Promise<void> {
    await this.request('DELETE', resourcePath(type, key.namespace, key.name), {
      body: options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : undefined,
    });
  }

  /**
   * GET a plain-text health endpoint of the API server (/readyz, /livez) and return its HTTP status,
   * 0 when it does not answer within `timeoutMs`. Recorded like every request.
   */
  async health(path: string, timeoutMs: number): Promise<number> {
    const started = performance.now();
    try {
      const res = await this.#send('GET', path, { signal: AbortSignal.timeout(timeoutMs) });
      await readBody(res);
      this.#record('GET', 'get', path, res.statusCode ?? 0, started);
      return res.statusCode ?? 0;
    } catch {
      this.#record('GET', 'get', path, 0, started);
      return 0;
    }
  }

  // ---- watch --------------------------------------------------------------------------------------

  /**
   * Watches from `resourceVersion` with bookmarks, calling `onEvent` for every event in order.
   * Resolves when the server ends the stream (timeoutSeconds elapsed: resume from the last seen
   * resourceVersion); rejects with an ApiError when it fails (410 Gone means: relist).
   * An ERROR event is turned into a rejection too.
   */
  async watch<T>(
    type: ResourceType,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const path = resourcePath(type, options.namespace);
    const query = {
      watch: 1,
      allowWatchBookmarks: true,
      resourceVersion: options.resourceVersion,
      timeoutSeconds: options.timeoutSeconds ?? 300,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
    };
    const started = performance.now();
    const record = (status: number) =>
      this.#options.onResponse?.({
        method: 'GET',
        verb: 'watch',
        path,
        status,
        durationSeconds: (performance.now() - started) / 1000,
      });
    // No idle timeout of our own beyond the server's: a quiet watch is normal. A watchdog above
    // the server timeout catches a connection that died without a FIN.
    const watchdog = AbortSignal.timeout(((options.timeoutSeconds ?? 300) + 30) * 1000);
    const signal = options.signal ? AbortSignal.any([options.signal, watchdog]) : watchdog;
    let res: IncomingMessage;
    try {
      res = await this.#send('GET', path, { query, signal });
    } catch (err) {
      record(0);
      if (options.signal?.aborted) return;
      throw this.#networkError('GET', path, err);
    }
    const status = res.statusCode ?? 0;
    record(status);
    if (status !== 200) throw errorFrom('GET', path, status, await readBody(res), res.headers['retry-after']);
    let buffered = '';
    res.setEncoding('utf8');
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (line.trim() === '') continue;
          const event = JSON.parse(line) as WatchEvent<T>;
          if (event.type === 'ERROR') {
            const status = event.object as StatusBody;
            throw new ApiError({ status: status.code ?? 500, method: 'GET', path, body: status });
          }
          onEvent(event);
        }
      }
    } catch (err) {
      res.destroy();
      if (err instanceof ApiError) throw err;
      if (options.signal?.aborted) return;
      throw this.#networkError('GET', path, err);
    }
  }

  // ---- the request core ---------------------------------------------------------------------------

  /** One API call, with the retries the server asks for; throws ApiError on failure. */
  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const verb = options.verb ?? defaultVerb(method);
    let refreshedAuth = false;
    for (let attempt = 0; ; attempt++) {
      if (this.#limiter) await this.#limiter.take(options.signal);
      const started = performance.now();
      const signal = options.signal
        ? AbortSignal.any([options.signal, AbortSignal.timeout(this.#options.timeoutMs ?? 60_000)])
        : AbortSignal.timeout(this.#options.timeoutMs ?? 60_000);
      let status: number;
      let text: string;
      let res: IncomingMessage;
      try {
        res = await this.#send(method, path, { ...options, signal }, refreshedAuth);
        status = res.statusCode ?? 0;
        text = await readBody(res);
      } catch (err) {
        this.#record(method, verb, path, 0, started);
        throw this.#networkError(method, path, err);
      }
      this.#record(method, verb, path, status, started);
      if (status >= 200 && status < 300) return (text ? JSON.parse(text) : undefined) as T;
      const error = errorFrom(method, path, status, text, res.headers['retry-after']);
      if (status === 401 && !refreshedAuth) {
        refreshedAuth = true; // a rotated token: ask for the credential again, once
        continue;
      }
      const wait = error.retryAfterSeconds;
      const retryable = wait !== undefined && (status === 429 || status >= 500);
      if (!retryable || attempt >= maxServerRetries) throw error;
      const waitSeconds = Math.min(Math.max(wait, 1), maxRetryAfterSeconds);
      this.#options.onRetry?.(
        { method, verb, path, status, durationSeconds: (performance.now() - started) / 1000 },
        waitSeconds,
      );
      await sleep(waitSeconds * 1000, options.signal);
      options.signal?.throwIfAborted();
    }
  }

  /** Sends one request; resolves with the response once its headers arrive. */
  async #send(
    method: HttpMethod,
    path: string,
    options: RequestOptions,
    refreshAuth = false,
  ): Promise<IncomingMessage> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.#options.userAgent ?? 'elasticweb-operator',
    };
    const authorization = await this.config.authorization(refreshAuth);
    if (authorization) headers.authorization = authorization;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.#request({
        protocol: this.#url.protocol,
        hostname: this.#url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: this.#url.port || undefined,
        path: `${this.#basePath}${path}${queryString(options.query)}`,
        method,
        headers,
        agent: this.#agent,
        signal: options.signal,
      });
      req.once('response', resolve);
      req.once('error', reject);
      req.end(body);
    });
  }

  #record(method: HttpMethod, verb: string, path: string, status: number, started: number): void {
    this.#options.onResponse?.({
      method,
      verb,
      path,
      status,
      durationSeconds: (performance.now() - started) / 1000,
    });
  }

  #networkError(method: string, path: string, err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return new ApiError({ status: 0, method, path, message, cause: err });
  }

  /** Closes every connection; in-flight requests fail. */
  async close(): Promise<void> {
    this.#agent.destroy();
  }
}

export interface ObjectWithMeta {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function errorFrom(
  method: string,
  path: string,
  status: number,
  text: string,
  retryAfter: string | undefined,
): ApiError {
  let body: StatusBody;
  try {
    body = JSON.parse(text) as StatusBody;
  } catch {
    body = { message: text.slice(0, 500) || `HTTP ${status}` };
  }
  const seconds = retryAfter === undefined ? Number.NaN : Number.parseInt(retryAfter, 10);
  return new ApiError({
    status,
    method,
    path,
    body,
    retryAfterSeconds: Number.isFinite(seconds) ? seconds : undefined,
  });
}

function defaultVerb(method: HttpMethod): string {
  switch (method) {
    case 'GET':
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
  }
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}
