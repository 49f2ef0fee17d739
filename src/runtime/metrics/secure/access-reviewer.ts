/**
 * Who may read /metrics, decided by the API server as controller-runtime's
 * filters.WithAuthenticationAndAuthorization does: the bearer token goes to a TokenReview
 * (authentication.k8s.io/v1); the user it names goes to a SubjectAccessReview
 * (authorization.k8s.io/v1) for verb `get` on the non-resource URL. 401 without a valid token,
 * 403 when RBAC does not allow it, 200 when it does.
 *
 * Decisions are cached per token for a minute (configurable, never longer by default), so Prometheus
 * scraping every 15 s costs one review pair per minute, not four. The cache key is an HMAC of the
 * token under a key made at start: the token itself is never kept, and is never logged.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { ResourceType } from '../../client/resource-type.ts';
import type { Logger } from '../../log/logger.ts';
import { ExpiringCache } from './expiring-cache.ts';

/**
 * The one API call the reviewer makes. KubeClient.create(type, namespace, body, fieldManager)
 * satisfies it, so the manager passes its client as it is.
 */
export interface ReviewClient {
  create<T>(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    fieldManager: string,
  ): Promise<T>;
}

export const tokenReviews: ResourceType = {
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenReview',
  plural: 'tokenreviews',
  namespaced: false,
};
export const subjectAccessReviews: ResourceType = {
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SubjectAccessReview',
  plural: 'subjectaccessreviews',
  namespaced: false,
};

export interface AccessDecision {
  status: 200 | 401 | 403;
  /** Why, for the response body and the log; never holds the token. */
  reason: string;
  /** The authenticated user, when there is one. */
  user?: string;
}

export interface AccessReviewerOptions {
  client: ReviewClient;
  /** Field manager sent with the reviews (the component name). */
  fieldManager: string;
  /** The non-resource URL and verb asked about (default /metrics, get). */
  path?: string;
  verb?: string;
  /** Audiences the token must be issued for (default: the API server's own). */
  audiences?: string[];
  /** How long a decision is reused, in ms (default 60 s). */
  ttlMs?: number;
  /** Most tokens remembered at once (default 1024). */
  maxEntries?: number;
  now?: () => number;
  log?: Logger;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
}
interface SubjectAccessReviewStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

export class AccessReviewer {
  readonly #options: AccessReviewerOptions;
  readonly #cache: ExpiringCache<AccessDecision>;
  readonly #hmacKey = randomBytes(32);
  /** Review requests sent (TokenReviews + SubjectAccessReviews), for the scrape-cost figures. */
  reviews = 0;

  constructor(options: AccessReviewerOptions) {
    this.#options = options;
    this.#cache = new ExpiringCache({ maxEntries: options.maxEntries ?? 1024, now: options.now });
  }

  /** Tokens whose decision is remembered now. */
  get cachedTokens(): number {
    return this.#cache.size;
  }

  /**
   * The decision for a request with this Authorization header. Throws when the API server cannot
   * answer (the caller answers 5xx; nothing is cached, so the next scrape asks again).
   */
  async check(authorization: string | undefined): Promise<AccessDecision> {
    const token = bearerToken(authorization);
    if (!token) return { status: 401, reason: 'no bearer token' };
    const key = createHmac('sha256', this.#hmacKey).update(token).digest('base64url');
    const { value, computed } = await this.#cache.get(
      key,
      () => this.#review(token),
      () => this.#options.ttlMs ?? 60_000,
    );
    if (computed)
      this.#options.log?.debug(
        { user: value.user, status: value.status, reason: value.reason },
        'metrics access reviewed',
      );
    return value;
  }

  async #review(token: string): Promise<AccessDecision> {
    const o = this.#options;
    this.reviews++;
    const tokenReview = await o.client.create<{ status?: TokenReviewStatus }>(
      tokenReviews,
      undefined,
      {
        apiVersion: tokenReviews.apiVersion,
        kind: tokenReviews.kind,
        spec: { token, ...(o.audiences ? { audiences: o.audiences } : {}) },
      },
      o.fieldManager,
    );
    const identity = tokenReview.status;
    if (!identity?.authenticated || !identity.user?.username) {
      return { status: 401, reason: 'token not authenticated' };
    }
    const user = identity.user;
    this.reviews++;
    const access = await o.client.create<{ status?: SubjectAccessReviewStatus }>(
      subjectAccessReviews,
      undefined,
      {
        apiVersion: subjectAccessReviews.apiVersion,
        kind: subjectAccessReviews.kind,
        spec: {
          user: user.username,
          uid: user.uid,
          groups: user.groups,
          extra: user.extra,
          nonResourceAttributes: { path: o.path ?? '/metrics', verb: o.verb ?? 'get' },
        },
      },
      o.fieldManager,
    );
    const verdict = access.status;
    if (verdict?.allowed) return { status: 200, reason: 'allowed', user: user.username };
    const why = verdict?.reason || verdict?.evaluationError || 'RBAC allows no get on it';
    return {
      status: 403,
      reason: `${user.username} may not ${o.verb ?? 'get'} ${o.path ?? '/metrics'}: ${why}`,
      user: user.username,
    };
  }
}
