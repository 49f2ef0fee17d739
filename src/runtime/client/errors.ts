/**
 * The one error type for a failed API call (which call, what the server answered), and the one
 * place that decides what a failure means: `classify`. Everything that reacts to a failure (the
 * controller's retry, readiness, a reconciler's condition) asks `classify`, so two parts can never
 * disagree about whether, say, a webhook's 500 is an outage.
 */

/** The body of a failed request, as the API server writes it (metav1.Status). */
export interface StatusBody {
  kind?: 'Status';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
}

export class ApiError extends Error {
  /** HTTP status; 0 when no response arrived (connection refused, reset, timeout). */
  readonly status: number;
  /** metav1.Status reason, e.g. NotFound, AlreadyExists, Conflict, Invalid, Expired. */
  readonly reason: string;
  readonly method: string;
  readonly path: string;
  /** The server's message, or the network error's. */
  readonly serverMessage: string;
  /** Seconds the server asked us to wait (Retry-After), if it did. */
  readonly retryAfterSeconds: number | undefined;
  /** metav1.Status details.causes, when the server gave them. */
  readonly causes: { reason?: string; message?: string; field?: string }[];

  constructor(init: {
    status: number;
    method: string;
    path: string;
    body?: StatusBody;
    message?: string;
    retryAfterSeconds?: number;
    cause?: unknown;
  }) {
    const serverMessage = init.body?.message ?? init.message ?? `HTTP ${init.status}`;
    super(`${init.method} ${init.path}: ${init.status || 'no response'}: ${serverMessage}`, {
      cause: init.cause,
    });
    this.name = 'ApiError';
    this.status = init.status;
    this.reason = init.body?.reason ?? '';
    this.method = init.method;
    this.path = init.path;
    this.serverMessage = serverMessage;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.causes = init.body?.details?.causes ?? [];
  }

  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
  /** The resourceVersion asked for is too old (410 Gone, reason Expired): relist. */
  get gone(): boolean {
    return this.status === 410 || this.reason === 'Expired' || this.reason === 'Gone';
  }
}

/** A watch that received nothing at all for its idle timeout: the connection is presumed dead. */
export class WatchIdleError extends ApiError {
  constructor(path: string, idleMs: number) {
    super({
      status: 0,
      method: 'GET',
      path,
      message: `watch idle: nothing received for ${idleMs} ms (connection presumed dead)`,
    });
    this.name = 'WatchIdleError';
  }
}

/**
 * A write refused on our side because this replica may no longer be the leader (its lease may have
 * lapsed). Never retried: the manager exits and a standby takes over.
 */
export class NotLeaderError extends Error {
  constructor(what: string) {
    super(`${what}: refused: this replica may have lost its leader lease`);
    this.name = 'NotLeaderError';
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

export function isNotFound(err: unknown): boolean {
  return isApiError(err) && err.notFound;
}

/**
 * What a failure means, for everyone who reacts to it:
 *  - `unreachable`: no answer (refused, reset, timed out); the API server or the way to it is down.
 *  - `server`: the API server itself failed (5xx not caused by a webhook), e.g. its storage is down.
 *  - `throttled`: 429, after the client already waited what the server asked.
 *  - `webhook`: an admission webhook could not be called (down, slow, TLS): the policy, not the API
 *    server, is broken; other requests succeed.
 *  - `denied`: admission (a webhook or a ValidatingAdmissionPolicy) refused this object.
 *  - `forbidden`: RBAC refused this verb.
 *  - `invalid`: the object fails validation (400, 422) or a field is immutable.
 *  - `conflict`: 409 (a resourceVersion precondition, or the name is taken).
 *  - `replaced`: a uid precondition failed: the object was deleted and re-created meanwhile.
 *  - `notFound`: 404.
 *  - `gone`: 410 or "resource version too large": a watch must relist.
 *  - `fenced`: NotLeaderError.
 *  - `bug`: not an API failure at all (a thrown TypeError...): a defect in the caller.
 */
export type ErrorKind =
  | 'unreachable'
  | 'server'
  | 'throttled'
  | 'webhook'
  | 'denied'
  | 'forbidden'
  | 'invalid'
  | 'conflict'
  | 'replaced'
  | 'notFound'
  | 'gone'
  | 'fenced'
  | 'bug';

export interface Classified {
  kind: ErrorKind;
  /** A CamelCase reason for a condition or an event. */
  reason: string;
  /** What the server (or the network) said, for a person. */
  message: string;
  /** Whether the API server as a whole, not this object, is the problem (see Readiness). */
  outage: boolean;
}

const webhookCallFailed = /failed (calling|to call) (admission )?webhook|webhook .* (timed out|failed)/i;
const admissionDenied =
  /admission webhook "[^"]*" denied the request|ValidatingAdmissionPolicy '[^']*' with binding '[^']*' denied request|denied by ValidatingAdmissionPolicy|admission plugin .* denied/i;
const uidPrecondition =
  /Precondition failed: UID in precondition|uid.*(immutable|does not match)|test operation.*uid|metadata\.uid/i;
const tooLargeResourceVersion = /Too large resource version/i;

export function classify(err: unknown): Classified {
  if (err instanceof NotLeaderError)
    return { kind: 'fenced', reason: 'NotLeader', message: err.message, outage: false };
  if (!(err instanceof ApiError)) {
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'bug', reason: 'InternalError', message, outage: false };
  }
  const message = err.serverMessage;
  const make = (kind: ErrorKind, reason: string, outage = false): Classified => ({
    kind,
    reason,
    message,
    outage,
  });
  const s = err.status;
  if (s === 0) return make('unreachable', 'APIServerUnreachable', true);
  if (tooLargeResourceVersion.test(message) || err.causes.some((c) => c.reason === 'ResourceVersionTooLarge'))
    return make('gone', 'ResourceVersionTooLarge');
  if (err.gone) return make('gone', 'Expired');
  if (s === 429) return make('throttled', 'Throttled');
  if (admissionDenied.test(message)) return make('denied', 'AdmissionDenied');
  if (webhookCallFailed.test(message)) return make('webhook', 'AdmissionWebhookFailed');
  if (s === 403) return make('forbidden', 'Forbidden');
  if (s === 404) return make('notFound', 'NotFound');
  if ((s === 409 || s === 422) && uidPrecondition.test(message)) return make('replaced', 'ObjectReplaced');
  if (s === 409) return make('conflict', 'Conflict');
  if (s === 400 || s === 422) return make('invalid', 'Invalid');
  if (s >= 500) return make('server', 'APIServerError', true);
  return make('invalid', 'Invalid');
}
