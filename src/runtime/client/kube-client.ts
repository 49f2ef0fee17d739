/**
 * The one client for the API server: JSON over a pool of kept-alive HTTPS connections (node's own
 * https module: no extra library to load), with server-side apply, the status subresource, paginated
 * lists and streaming watches. Objects are plain parsed JSON, never run through generated model
 * classes: nothing is dropped silently, and nothing is serialised twice.
 *
 * What it retries by itself, and nothing else (every other failure is an ApiError for the caller,
 * usually a controller that retries with per-key backoff):
 *  - what the server asks for: 429, or a 5xx with Retry-After, as client-go does (at most
 *    `maxServerRetries` times);
 *  - a 401, once, with a fresh credential and fresh TLS material (a rotated token or certificate);
 *  - a failed TLS handshake, once, with fresh TLS material (a rotated CA);
 *  - an idempotent read (GET) whose connection was reset, a few times: a kept-alive connection the
 *    server closed while idle is not a failure of the request.
 *
 * Writes pass a `fence` when made and again as they go out (after any wait for a credential, TLS
 * material or the rate limit): a leader-elected manager refuses writes once its lease may have
 * lapsed, so a replica that was frozen or cut off never writes over its successor.
 *
 * Connections go through HTTPS_PROXY / NO_PROXY from the environment, or the kubeconfig's proxy-url.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type Clock, realClock, sleep } from '../clock.ts';
import { ApiError, NotLeaderError, type StatusBody, WatchIdleError } from './errors.ts';
import type { ListSchema } from './protobuf/builtin-messages.ts';
import { decodeListPage, decodeStatus, type ListPage, protobufContentType } from './protobuf/list.ts';
import type { Json } from './protobuf/schema.ts';
import { ProtobufUnsupported } from './protobuf/wire.ts';
import { type ObjectKey, type ResourceType, resourcePath } from './resource-type.ts';
import type { RestConfig, TlsOptions } from './rest-config.ts';
import { TokenBucket } from './token-bucket.ts';
import { WatchLineSplitter } from './watch-stream.ts';

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
  /** The User-Agent header: name/version of the program using the client. */
  userAgent: string;
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
  /** Retries of 429 / 5xx with Retry-After before giving up (default 10, as client-go). */
  maxServerRetries?: number;
  /** Called before every write (not reads); throws to refuse it (see NotLeaderError). */
  fence?: (what: string) => void;
  clock?: Clock;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Recorded verb, when the method alone does not say it (list, watch, apply). */
  verb?: string;
  /** Overrides the client's maxServerRetries for this request (0: the server's first answer stands). */
  maxServerRetries?: number;
  /** Overrides the client's per-request timeout. */
  timeoutMs?: number;
  /** The Accept header (default application/json). */
  accept?: string;
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
  /**
   * Ask for protobuf, and decode only what this schema names (built-in kinds; the server answers
   * JSON for the others, which is read as usual). `transform` then sees those fields only.
   */
  protobuf?: ListSchema;
  /** The protobuf answer held what the schema cannot read: the list was read again as JSON. */
  onProtobufUnsupported?: (err: ProtobufUnsupported) => void;
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
  /**
   * A watch that delivers nothing at all (no event, no bookmark) for this long ends with a
   * WatchIdleError (default 0: no limit): its connection may have died without a FIN, which TCP
   * keep-alive would find only after minutes. It may as well be quiet: the API server bookmarks a
   * watch about once a minute only once its cache moved past the watch's resourceVersion, so the
   * caller decides (the Watcher checks that version and watches on).
   */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface ObjectWithMeta {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

const defaultMaxServerRetries = 10;
const maxRetryAfterSeconds = 30;
/** Resets of a read's connection retried before giving up. */
const maxResetRetries = 3;

const applyPatch = 'application/apply-patch+yaml';
const mergePatch = 'application/merge-patch+json';
const jsonPatch = 'application/json-patch+json';
const strategicMergePatch = 'application/strategic-merge-patch+json';

export class KubeClient {
  readonly config: RestConfig;
  readonly #options: KubeClientOptions;
  readonly #limiter: TokenBucket | undefined;
  readonly #url: URL;
  readonly #basePath: string;
  readonly #https: boolean;
  readonly #clock: Clock;
  /** The connection pool and the TLS material it was built with (rebuilt when that rotates). */
  #pool: { tls: TlsOptions | undefined; agent: HttpAgent } | undefined;
  #closed = false;

  constructor(config: RestConfig, options: KubeClientOptions) {
    this.config = config;
    this.#options = options;
    this.#url = new URL(config.server);
    this.#basePath = this.#url.pathname.replace(/\/+$/, '');
    this.#https = this.#url.protocol === 'https:';
    this.#clock = options.clock ?? realClock;
    this.#limiter =
      options.qps && options.qps > 0
        ? new TokenBucket(options.qps, options.burst ?? options.qps, () => this.#clock.now(), this.#clock)
        : undefined;
  }

  /** Host label for metrics, as client-go reports it. */
  get host(): string {
    return this.#url.host;
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
    if (options.protobuf) {
      try {
        return await this.#listPages(type, options, options.protobuf);
      } catch (err) {
        if (!(err instanceof ProtobufUnsupported)) throw err;
        options.onProtobufUnsupported?.(err);
      }
    }
    return this.#listPages(type, options, undefined);
  }

  async #listPages<T, R>(
    type: ResourceType,
    options: ListTransformOptions<T, R>,
    protobuf: ListSchema | undefined,
  ): Promise<List<R>> {
    const items: R[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const request: RequestOptions = {
        verb: 'list',
        signal: options.signal,
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: options.limit ?? 500,
          continue: continueToken,
        },
      };
      const page = await this.#listPage(
        resourcePath(type, options.namespace),
        request,
        options.transform,
        protobuf,
      );
      for (const item of page.items) items.push(item);
      resourceVersion = page.resourceVersion;
      continueToken = page.continue || undefined;
    } while (continueToken);
    return { items, resourceVersion };
  }

  /** One page, asked for as protobuf when there is a schema; its items transformed either way. */
  async #listPage<T, R>(
    path: string,
    request: RequestOptions,
    transform: (item: T) => R,
    protobuf: ListSchema | undefined,
  ): Promise<ListPage<R>> {
    let json: JsonListPage<T>;
    if (protobuf) {
      const { contentType, chunks } = await this.#exchange(
        'GET',
        path,
        { ...request, accept: `${protobufContentType}, application/json` },
        readChunks,
      );
      if (contentType.startsWith(protobufContentType)) {
        return decodeListPage(chunks, protobuf, transform as unknown as (item: Json) => R);
      }
      // Custom resources have no protobuf form: the server answers those in JSON.
      json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonListPage<T>;
    } else {
      json = await this.request<JsonListPage<T>>('GET', path, request);
    }
    return {
      items: json.items.map((item) => transform(item)),
      resourceVersion: json.metadata.resourceVersion,
      continue: json.metadata.continue,
    };
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

  /** JSON merge patch (RFC 7386), of the object or of a subresource such as `status`. */
  async mergePatch<T>(
    type: ResourceType,
    key: ObjectKey,
    patch: unknown,
    fieldManager: string,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, key.namespace, key.name, subresource), {
      body: patch,
      contentType: mergePatch,
      query: { fieldManager },
    });
  }

  /**
   * JSON patch (RFC 6902). Its `test` operations are checked against the object as stored, so
   * `{op: 'test', path: '/metadata/uid', value}` is a true uid precondition, also on subresources.
   */
  async jsonPatch<T>(
    type: ResourceType,
    key: ObjectKey,
    operations: unknown[],
    fieldManager: string,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, key.namespace, key.name, subresource), {
      body: operations,
      contentType: jsonPatch,
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
      contentType: strategicMergePatch,
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
    options: { propagationPolicy?: string; uid?: string } = {},
  ): Promise<void> {
    const body =
      options.propagationPolicy || options.uid
        ? {
            ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
            ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
          }
        : undefined;
    await this.request('DELETE', resourcePath(type, key.namespace, key.name), { body });
  }

  /**
   * GET a plain-text health endpoint of the API server (/readyz, /livez) and return its HTTP status,
   * 0 when it does not answer within `timeoutMs`. Recorded like every request.
   */
  async health(path: string, timeoutMs: number): Promise<number> {
    const started = this.#clock.now();
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
   * resourceVersion) or when `signal` aborts; rejects with an ApiError when it fails (410 Gone means:
   * relist). An ERROR event is turned into a rejection carrying its Status.
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
    const started = this.#clock.now();
    const record = (status: number) => this.#record('GET', 'watch', path, status, started);
    // Our own end of the watch: the caller's signal, or the idle watchdog below.
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let idle = false;
    let watchdog: { cancel(): void } | undefined;
    const armWatchdog = () => {
      watchdog?.cancel();
      if (!options.idleTimeoutMs) return;
      watchdog = this.#clock.setTimer(() => {
        idle = true;
        abort.abort();
      }, options.idleTimeoutMs);
    };
    const idleError = () => new WatchIdleError(path, options.idleTimeoutMs ?? 0);
    armWatchdog();
    try {
      let res: IncomingMessage;
      try {
        res = await this.#send('GET', path, { query, signal: abort.signal });
      } catch (err) {
        record(0);
        if (options.signal?.aborted) return;
        if (idle) throw idleError();
        throw this.#networkError('GET', path, err);
      }
      const status = res.statusCode ?? 0;
      record(status);
      if (status !== 200)
        throw errorFrom('GET', path, status, await readBody(res), res.headers['retry-after']);
      const lines = new WatchLineSplitter();
      res.setEncoding('utf8');
      const deliver = (line: string) => {
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          const body = event.object as StatusBody;
          throw new ApiError({ status: body.code ?? 500, method: 'GET', path, body });
        }
        onEvent(event);
      };
      try {
        for await (const chunk of res as AsyncIterable<string>) {
          armWatchdog();
          for (const line of lines.push(chunk)) deliver(line);
        }
        for (const line of lines.end()) deliver(line);
      } catch (err) {
        res.destroy();
        if (err instanceof ApiError) throw err;
        if (options.signal?.aborted) return;
        if (idle) throw idleError();
        throw this.#networkError('GET', path, err);
      }
      // A stream the watchdog cut ends like a clean one on some node versions: it is not.
      if (idle && !options.signal?.aborted) throw idleError();
    } finally {
      watchdog?.cancel();
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  // ---- the request core ---------------------------------------------------------------------------

  /** One API call, with the retries described at the top of the file; throws ApiError on failure. */
  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const text = await this.#exchange(method, path, options, readBody);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** request, with the successful answer's body read by `read`. */
  async #exchange<B>(
    method: HttpMethod,
    path: string,
    options: RequestOptions,
    read: (res: IncomingMessage) => Promise<B>,
  ): Promise<B> {
    const verb = options.verb ?? defaultVerb(method);
    // Asked again just before the request goes out (see #send): the credential, the TLS material and
    // the rate limit may each make it wait, and the lease can lapse meanwhile.
    const fence = method === 'GET' ? undefined : () => this.#options.fence?.(`${verb} ${path}`);
    fence?.();
    let refreshed = false;
    let resets = 0;
    const maxServerRetries =
      options.maxServerRetries ?? this.#options.maxServerRetries ?? defaultMaxServerRetries;
    for (let attempt = 0; ; attempt++) {
      if (this.#limiter) await this.#limiter.take(options.signal);
      const started = this.#clock.now();
      const timeout = AbortSignal.timeout(options.timeoutMs ?? this.#options.timeoutMs ?? 60_000);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      let status: number;
      let body: B | undefined;
      let error: ApiError | undefined;
      let res: IncomingMessage;
      try {
        res = await this.#send(method, path, { ...options, signal }, refreshed, fence);
        status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) body = await read(res);
        else error = await readError(method, path, res);
      } catch (err) {
        if (err instanceof NotLeaderError) throw err; // refused here, never sent
        this.#record(method, verb, path, 0, started);
        if (options.signal?.aborted) throw this.#networkError(method, path, err);
        if (isTlsFailure(err) && !refreshed) {
          refreshed = true; // a rotated CA or certificate: read the files again, once
          continue;
        }
        if (method === 'GET' && isConnectionReset(err) && resets < maxResetRetries) {
          resets++;
          await sleep(50 * resets, options.signal, this.#clock);
          continue;
        }
        throw this.#networkError(method, path, err);
      }
      this.#record(method, verb, path, status, started);
      if (!error) return body as B;
      if (status === 401 && !refreshed) {
        refreshed = true; // a rotated token or client certificate: ask for the credential again, once
        continue;
      }
      const wait = error.retryAfterSeconds;
      const retryable = wait !== undefined && (status === 429 || status >= 500);
      if (!retryable || attempt >= maxServerRetries) throw error;
      const waitSeconds = Math.min(Math.max(wait, 1), maxRetryAfterSeconds);
      this.#options.onRetry?.(
        { method, verb, path, status, durationSeconds: (this.#clock.now() - started) / 1000 },
        waitSeconds,
      );
      await sleep(waitSeconds * 1000, options.signal, this.#clock);
      options.signal?.throwIfAborted();
      // The lease may have lapsed while we waited.
      if (method !== 'GET') this.#options.fence?.(`${verb} ${path}`);
    }
  }

  /** The connection pool for the current TLS material (a new one when it rotated). */
  async #agent(refresh: boolean): Promise<HttpAgent> {
    if (this.#closed) throw new Error('client closed');
    const tls = this.#https ? await this.config.tls(refresh) : undefined;
    if (this.#pool && this.#pool.tls === tls) return this.#pool.agent;
    const old = this.#pool?.agent;
    const pool = {
      keepAlive: true,
      // TCP keep-alive probes find connections that died without a FIN (a restarted API server).
      keepAliveMsecs: 30_000,
      maxSockets: this.#options.maxSockets ?? 32,
      maxFreeSockets: 16,
      scheduling: 'lifo' as const,
      proxyEnv: this.config.proxyUrl
        ? { HTTPS_PROXY: this.config.proxyUrl, HTTP_PROXY: this.config.proxyUrl }
        : process.env,
    };
    const agent = this.#https ? new HttpsAgent({ ...pool, ...tls }) : new HttpAgent(pool);
    this.#pool = { tls, agent };
    // Requests already on the old pool (watches included) finish or end on their own timeout; then
    // its connections close, and watches reconnect with the new credentials.
    if (old) this.#clock.setTimer(() => old.destroy(), this.#options.timeoutMs ?? 60_000);
    return agent;
  }

  /** Sends one request; resolves with the response once its headers arrive. */
  async #send(
    method: HttpMethod,
    path: string,
    options: RequestOptions,
    refresh = false,
    fence?: () => void,
  ): Promise<IncomingMessage> {
    const headers: Record<string, string> = {
      accept: options.accept ?? 'application/json',
      'user-agent': this.#options.userAgent,
    };
    const authorization = await this.config.authorization(refresh);
    if (authorization) headers.authorization = authorization;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const agent = await this.#agent(refresh);
    fence?.();
    const send = this.#https ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send({
        protocol: this.#url.protocol,
        hostname: this.#url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: this.#url.port || undefined,
        path: `${this.#basePath}${path}${queryString(options.query)}`,
        method,
        headers,
        agent,
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
      durationSeconds: (this.#clock.now() - started) / 1000,
    });
  }

  #networkError(method: string, path: string, err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return new ApiError({ status: 0, method, path, message, cause: err });
  }

  /** Closes every connection; in-flight requests fail. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pool?.agent.destroy();
  }
}

/**
 * The body as text, decoded chunk by chunk into V8 strings (a character cut between chunks is
 * joined). Not Buffer.concat: a list page of megabytes joined into one Buffer is one malloc of that
 * size; when it is freed, glibc raises its mmap threshold to that size (up to 32 MiB), so later
 * buffers of up to that size come from its heap, which they fragment and it rarely gives back.
 */
async function readBody(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

/** The body as the socket's chunks, with its content type. */
async function readChunks(res: IncomingMessage): Promise<{ contentType: string; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { contentType: res.headers['content-type'] ?? '', chunks };
}

/** The ApiError a failed answer stands for, its Status read as JSON or protobuf. */
async function readError(method: string, path: string, res: IncomingMessage): Promise<ApiError> {
  const status = res.statusCode ?? 0;
  if ((res.headers['content-type'] ?? '').startsWith(protobufContentType)) {
    const { chunks } = await readChunks(res);
    const body = decodeStatus(chunks) ?? { message: `HTTP ${status}` };
    return new ApiError({
      status,
      method,
      path,
      body,
      retryAfterSeconds: retryAfter(res.headers['retry-after']),
    });
  }
  return errorFrom(method, path, status, await readBody(res), res.headers['retry-after']);
}

function retryAfter(header: string | undefined): number | undefined {
  const seconds = header === undefined ? Number.NaN : Number.parseInt(header, 10);
  return Number.isFinite(seconds) ? seconds : undefined;
}

function errorFrom(
  method: string,
  path: string,
  status: number,
  text: string,
  header: string | undefined,
): ApiError {
  let body: StatusBody;
  try {
    body = JSON.parse(text) as StatusBody;
  } catch {
    body = { message: text.slice(0, 500) || `HTTP ${status}` };
  }
  return new ApiError({ status, method, path, body, retryAfterSeconds: retryAfter(header) });
}

/** A connection that broke under a request: worth one more try for a read. */
function isConnectionReset(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ECONNABORTED' ||
    (err instanceof Error && /socket hang up/i.test(err.message))
  );
}

/** The TLS handshake failed (certificate or CA): fresh material may fix it. */
function isTlsFailure(err: unknown): boolean {
  const code = String((err as { code?: string }).code ?? '');
  return (
    /^(CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL_|ERR_TLS_CERT)/.test(code) ||
    (err instanceof Error && /certificate|ssl3_read_bytes|tlsv1 alert/i.test(err.message))
  );
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

interface JsonListPage<T> {
  items: T[];
  metadata: { resourceVersion: string; continue?: string };
}
