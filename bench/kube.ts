/**
 * The bench's own small HTTPS client for the API server (admin certificate or a bearer token), with a
 * connection pool sized for the bench's concurrency and a streaming watch. It is separate from the
 * operator's client so the yardstick never shares code with what it measures, and separate from
 * hack/cluster/raw-client.ts because that one holds only 4 connections.
 */
import { Pool } from 'undici';

export interface Auth {
  ca: string;
  cert?: string;
  key?: string;
  token?: string;
}

export interface Response {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

/** Statuses worth another try while the server is loaded (APF 429, timeouts); bounded in `request`. */
const retryable = new Set([429, 500, 503, 504]);

export class Kube {
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;
  /** Answers retried so far, by status (429: API Priority and Fairness turned a request away). */
  readonly retried = new Map<number, number>();

  constructor(server: string, auth: Auth, connections = 50) {
    this.#pool = new Pool(server, {
      connections,
      // HTTP/1.1, one request per connection: predictable, and an aborted watch just closes its socket.
      allowH2: false,
      connect: { ca: auth.ca, cert: auth.cert, key: auth.key },
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.#headers = auth.token ? { authorization: `Bearer ${auth.token}` } : {};
  }

  async request(method: string, path: string, body?: unknown, contentType?: string): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.#pool.request({
        method: method as 'GET',
        path,
        headers:
          body === undefined
            ? this.#headers
            : { ...this.#headers, 'content-type': contentType ?? 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      const text = await res.body.text();
      if (retryable.has(res.statusCode) && attempt < 5) {
        this.retried.set(res.statusCode, (this.retried.get(res.statusCode) ?? 0) + 1);
        await sleep(200 * attempt);
        continue;
      }
      return { status: res.statusCode, body: text, json: <T>() => JSON.parse(text) as T };
    }
  }

  /** request, but throws unless the status is one of `ok`. */
  async must(method: string, path: string, body?: unknown, ok = [200, 201], contentType?: string) {
    const res = await this.request(method, path, body, contentType);
    if (!ok.includes(res.status)) {
      throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    }
    return res;
  }

  /**
   * GETs a watch URL and calls `onEvent` for each JSON line until the server ends the stream or
   * `signal` aborts. Resolves normally in both cases; rejects on a non-200 answer.
   */
  async watch(path: string, onEvent: (event: unknown) => void, signal: AbortSignal): Promise<void> {
    const res = await this.#pool.request({ method: 'GET', path, headers: this.#headers, signal });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new Error(`watch ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    let partial = '';
    try {
      for await (const chunk of res.body) {
        const lines = (partial + (chunk as Buffer).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) onEvent(JSON.parse(line));
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  /**
   * Opens `n` connections now (n requests at once), so a burst that follows does not pay for n TLS
   * handshakes at its start. Idle connections stay open for a few seconds.
   */
  async warm(n: number): Promise<void> {
    await Promise.all(Array.from({ length: n }, () => this.request('GET', '/version')));
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects on the first failure. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const ewPath = (ns: string, name?: string) =>
  `/apis/elasticweb.example.com/v1/namespaces/${ns}/elasticwebs${name ? `/${name}` : ''}`;
