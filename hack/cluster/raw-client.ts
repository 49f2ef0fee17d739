/**
 * A minimal HTTPS client for a local cluster's kube-apiserver, as the admin (client certificate in
 * system:masters) or as any bearer token. The cluster module uses it for readiness checks, nodes and
 * tokens, and tests use it to act as a given user; it is deliberately separate from the operator's own
 * client so the cluster never depends on the code it tests.
 */
import { Agent, request } from 'undici';

export interface RawResponse {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

export class RawClient {
  readonly server: string;
  readonly #agent: Agent;
  readonly #headers: Record<string, string>;

  /** Authenticates with a client certificate (`cert`, `key`) or a bearer `token`. */
  constructor(server: string, auth: { ca: string; cert?: string; key?: string; token?: string }) {
    this.server = server;
    this.#agent = new Agent({ connect: { ca: auth.ca, cert: auth.cert, key: auth.key }, connections: 4 });
    this.#headers = auth.token ? { authorization: `Bearer ${auth.token}` } : {};
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<RawResponse> {
    const res = await request(new URL(path, this.server), {
      method: method as 'GET',
      dispatcher: this.#agent,
      headers: body === undefined ? this.#headers : { ...this.#headers, 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      body: text,
      json: <T>() => JSON.parse(text) as T,
    };
  }

  /** Like request, but throws with the server's message unless the status is one of `ok`. */
  async must(
    method: string,
    path: string,
    body?: unknown,
    ok: number[] = [200, 201],
    contentType?: string,
  ): Promise<RawResponse> {
    const res = await this.request(method, path, body, contentType);
    if (!ok.includes(res.status))
      throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
    return res;
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}
