/**
 * The one error type for a failed API call: which call, what the server answered, and whether
 * retrying later can help. Reconcilers let it propagate; the controller retries with backoff.
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
  /** The request itself is wrong (400, 403, 422): retrying the same request will fail the same way. */
  get invalid(): boolean {
    return this.status === 400 || this.status === 403 || this.status === 422;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

export function isNotFound(err: unknown): boolean {
  return isApiError(err) && err.notFound;
}
