/**
 * The secure metrics endpoint, as kubebuilder scaffolds it: HTTPS (TLS from a TlsSource, swapped
 * without a restart when the source rotates it), and every request authenticated and authorized
 * through the API server (access-reviewer.ts) before the metrics are rendered. HTTP/1.1 only, as
 * controller-runtime turns HTTP/2 off by default.
 */
import { createServer, type Server } from 'node:https';
import type { Logger } from '../../log/logger.ts';
import { listen, parseBindAddress } from '../../manager/http-endpoints.ts';
import type { AccessDecision } from './access-reviewer.ts';
import type { TlsSource } from './tls-source.ts';

/** What decides access (AccessReviewer; tests pass fakes). */
export interface AccessCheck {
  check(authorization: string | undefined): Promise<AccessDecision>;
}

export type RenderMetrics = () => Promise<{ contentType: string; body: string }>;

export interface MetricsRequest {
  method: string | undefined;
  url: string | undefined;
  authorization: string | undefined;
}

export interface MetricsResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const text = (status: number, body: string): MetricsResponse => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: `${body}\n`,
});

/**
 * The answer to one request: 404 off `path` or for a verb other than GET/HEAD, 401/403 from the
 * access check, 503 when the API server cannot review the token, else the rendered metrics.
 */
export async function answerMetricsRequest(
  request: MetricsRequest,
  deps: { access: AccessCheck; render: RenderMetrics; path?: string; log?: Logger },
): Promise<MetricsResponse> {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== (deps.path ?? '/metrics') || (request.method !== 'GET' && request.method !== 'HEAD')) {
    return text(404, 'not found');
  }
  let decision: AccessDecision;
  try {
    decision = await deps.access.check(request.authorization);
  } catch (err) {
    deps.log?.warn(
      { error: (err as Error).message },
      'metrics request not served: the token could not be reviewed',
    );
    return text(503, 'the API server could not review the token; try again');
  }
  if (decision.status === 401) {
    const unauthorized = text(401, 'Unauthorized');
    return { ...unauthorized, headers: { ...unauthorized.headers, 'www-authenticate': 'Bearer' } };
  }
  if (decision.status === 403) return text(403, `Forbidden: ${decision.reason}`);
  const { contentType, body } = await deps.render();
  return { status: 200, headers: { 'content-type': contentType }, body };
}

export interface SecureMetricsServerOptions {
  /** Bind address, as --metrics-bind-address (":8443"); "0" disables the server. */
  address: string;
  tls: TlsSource;
  access: AccessCheck;
  render: RenderMetrics;
  path?: string;
  log?: Logger;
}

/** Serves /metrics over HTTPS on `address`; resolves with the bound address, or undefined when disabled. */
export async function serveSecureMetrics(
  options: SecureMetricsServerOptions,
): Promise<{ server: Server; address: string } | undefined> {
  const bind = parseBindAddress(options.address);
  if (!bind) return undefined;
  const server = createServer({ ...options.tls.current() }, (req, res) => {
    answerMetricsRequest(
      { method: req.method, url: req.url, authorization: req.headers.authorization },
      options,
    ).then(
      (answer) =>
        res.writeHead(answer.status, answer.headers).end(req.method === 'HEAD' ? undefined : answer.body),
      (err: unknown) => {
        options.log?.error({ err }, 'metrics request failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
      },
    );
  });
  options.tls.onChange((pair) => server.setSecureContext(pair));
  return { server, address: await listen(server, bind) };
}
