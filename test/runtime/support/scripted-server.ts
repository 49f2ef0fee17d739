/**
 * A scriptable, in-process stand-in for the API server, for what a real one cannot be made to do on
 * demand: per request, the test decides the answer. A status with headers (Retry-After) and a body;
 * a watch stream written in pieces cut anywhere (mid-line, mid-UTF-8 character), with ERROR events,
 * bookmarks or a 410 at any point; an early close, a reset connection, a request accepted and never
 * answered, a stream that stops mid-way. Every request is recorded (method, path, query, headers
 * including Authorization, body, the client certificate), so a test can say what the client sent.
 *
 * HTTP or HTTPS; with HTTPS the serving certificate can be swapped while running (rotation tests).
 *
 * Handlers are found per request: first a matching `once` handler (oldest first, used up), else the
 * most recently added matching `on` handler, else a 404 Status.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { eventually } from './fake-clock.ts';

export interface RecordedRequest {
  /** Order of arrival, from 0. */
  seq: number;
  method: string;
  /** The path without the query. */
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  authorization: string | undefined;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
  /** SHA-256 fingerprint of the client certificate, when one was presented (HTTPS). */
  clientCert: string | undefined;
  /** Whether an answer (or a reset) has been given. A stalled request stays false. */
  answered: boolean;
}

export type Handler = (req: RecordedRequest, reply: Reply) => void | Promise<void>;

type Matcher = { method: string; path: string | RegExp };

export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA that client certificates must chain to (with requestCert). */
  ca?: string | Buffer;
  /** Ask for a client certificate (not required: the handler sees whether one came). */
  requestCert?: boolean;
}

/** A metav1.Status body, as the API server writes failures. */
export function status(
  code: number,
  reason: string,
  message: string,
  details?: {
    causes?: { reason?: string; message?: string; field?: string }[];
    name?: string;
    kind?: string;
  },
): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** The answer to one request. Exactly one of its methods should be called (or none: a stall). */
export class Reply {
  readonly #req: RecordedRequest;
  readonly #res: ServerResponse;
  readonly #socket: Socket;

  constructor(req: RecordedRequest, res: ServerResponse, socket: Socket) {
    this.#req = req;
    this.#res = res;
    this.#socket = socket;
  }

  /** A whole answer: `body` is sent as JSON unless it is a string. */
  send(code: number, body?: unknown, headers: Record<string, string> = {}): void {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    this.#res.writeHead(code, { 'content-type': 'application/json', ...headers });
    this.#res.end(text);
    this.#req.answered = true;
  }

  /** 200 with `object`. */
  json(object: unknown, code = 200): void {
    this.send(code, object);
  }

  /** A failure as the API server writes it (a metav1.Status), optionally with Retry-After. */
  fail(
    code: number,
    reason: string,
    message: string,
    options: {
      retryAfter?: string | number;
      causes?: { reason?: string; message?: string; field?: string }[];
    } = {},
  ): void {
    const headers: Record<string, string> =
      options.retryAfter !== undefined ? { 'retry-after': String(options.retryAfter) } : {};
    this.send(
      code,
      status(code, reason, message, options.causes ? { causes: options.causes } : undefined),
      headers,
    );
  }

  /** Resets the connection (TCP RST) without answering. */
  reset(): void {
    this.#req.answered = true;
    this.#socket.resetAndDestroy();
  }

  /** Closes the connection (FIN) without answering. */
  hangUp(): void {
    this.#req.answered = true;
    this.#socket.destroy();
  }

  /** Starts a watch response (200, chunked); what follows is written through the stream. */
  watch(): WatchStream {
    this.#socket.setNoDelay(true);
    this.#res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    this.#res.flushHeaders();
    this.#req.answered = true;
    return new WatchStream(this.#res, this.#socket);
  }
}

/** The body of a watch: events, one JSON object per line, written in whatever pieces the test likes. */
export class WatchStream {
  readonly #res: ServerResponse;
  readonly #socket: Socket;

  constructor(res: ServerResponse, socket: Socket) {
    this.#res = res;
    this.#socket = socket;
  }

  /** The line of one event, as the API server writes it. */
  static line(type: string, object: unknown): string {
    return `${JSON.stringify({ type, object })}\n`;
  }

  /** Writes raw bytes and gives the client a moment to read them as their own chunk. */
  async write(bytes: string | Buffer): Promise<void> {
    if (this.#res.destroyed || this.#res.writableEnded) return;
    this.#res.write(bytes);
    await pause();
  }

  /** Writes the UTF-8 bytes of `text` cut at each byte offset in `cuts` (anywhere: mid-line, mid-character). */
  async writeCut(text: string, cuts: number[]): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    let from = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      if (cut <= from || cut >= bytes.length) continue;
      await this.write(bytes.subarray(from, cut));
      from = cut;
    }
    await this.write(bytes.subarray(from));
  }

  async event(type: string, object: unknown): Promise<void> {
    await this.write(WatchStream.line(type, object));
  }

  async bookmark(resourceVersion: string): Promise<void> {
    await this.event('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion } });
  }

  /** An ERROR event carrying a Status (410 Expired is the usual one). */
  async error(code: number, reason: string, message: string): Promise<void> {
    await this.event('ERROR', status(code, reason, message));
  }

  /** Ends the stream cleanly, as the API server does when the watch's timeoutSeconds is up. */
  end(): void {
    this.#res.end();
  }

  /** Breaks the connection mid-stream. */
  reset(): void {
    this.#socket.resetAndDestroy();
  }

  /** Whether the client went away (it closed or aborted the watch). */
  get closed(): boolean {
    return this.#res.destroyed || this.#socket.destroyed;
  }
}

/** Lets a write reach the client as a separate read: a real millisecond and an event-loop turn. */
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(() => setImmediate(resolve), 1));
}

export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  /** TCP (or TLS) connections accepted so far. */
  connections = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #once: { match: Matcher; handler: Handler }[] = [];
  readonly #on: { match: Matcher; handler: Handler }[] = [];
  readonly #https: boolean;
  #url = '';

  private constructor(tls: TlsMaterial | undefined) {
    this.#https = tls !== undefined;
    const listener = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    this.#server = tls
      ? createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ca: tls.ca,
            requestCert: tls.requestCert ?? false,
            rejectUnauthorized: false,
          },
          listener,
        )
      : createHttpServer(listener);
    this.#server.keepAliveTimeout = 60_000;
    this.#server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.connections++;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // A client that gives up mid-handshake (a CA it does not trust) is no error of the server's.
    this.#server.on('tlsClientError', () => {});
  }

  /** Starts a server on 127.0.0.1 and a free port. */
  static async start(tls?: TlsMaterial): Promise<ScriptedServer> {
    const server = new ScriptedServer(tls);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    const { port } = server.#server.address() as AddressInfo;
    server.#url = `${server.#https ? 'https' : 'http'}://127.0.0.1:${port}`;
    return server;
  }

  get url(): string {
    return this.#url;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Answers every matching request with `handler` (the latest `on` wins over earlier ones). */
  on(method: string, path: string | RegExp, handler: Handler): this {
    this.#on.push({ match: { method, path }, handler });
    return this;
  }

  /** Answers the next matching request with `handler`, once, before any `on` handler. */
  once(method: string, path: string | RegExp, handler: Handler): this {
    this.#once.push({ match: { method, path }, handler });
    return this;
  }

  /** Requests matching `method` and `path`. */
  matching(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => matches({ method, path }, r));
  }

  /** Waits until `count` requests match (or fails after a few seconds). */
  async waitFor(method: string, path: string | RegExp, count = 1): Promise<RecordedRequest> {
    await eventually(
      () => this.matching(method, path).length >= count,
      `${count} × ${method} ${String(path)}`,
    );
    return this.matching(method, path)[count - 1] as RecordedRequest;
  }

  /** Swaps the serving certificate; connections opened from now on present the new one. */
  setCertificate(tls: TlsMaterial): void {
    (this.#server as unknown as { setSecureContext(o: object): void }).setSecureContext({
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
    });
  }

  /** Closes every open connection (kept-alive ones too): the client must connect anew. */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const socket = req.socket;
    const peer = this.#https ? (socket as TLSSocket).getPeerCertificate() : undefined;
    const recorded: RecordedRequest = {
      seq: this.requests.length,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      authorization: req.headers.authorization,
      body,
      json,
      clientCert: peer && Object.keys(peer).length > 0 ? peer.fingerprint256 : undefined,
      answered: false,
    };
    this.requests.push(recorded);
    const handler = this.#take(recorded);
    const reply = new Reply(recorded, res, socket);
    if (!handler) {
      reply.fail(404, 'NotFound', `no handler for ${recorded.method} ${recorded.path}`);
      return;
    }
    try {
      await handler(recorded, reply);
    } catch (err) {
      if (!res.headersSent) reply.fail(500, 'InternalError', `handler threw: ${String(err)}`);
    }
  }

  #take(req: RecordedRequest): Handler | undefined {
    const i = this.#once.findIndex((h) => matches(h.match, req));
    if (i >= 0) return (this.#once.splice(i, 1)[0] as { handler: Handler }).handler;
    for (let j = this.#on.length - 1; j >= 0; j--) {
      const h = this.#on[j] as { match: Matcher; handler: Handler };
      if (matches(h.match, req)) return h.handler;
    }
    return undefined;
  }
}

function matches(m: Matcher, req: { method: string; path: string }): boolean {
  if (m.method !== '*' && m.method !== req.method) return false;
  return typeof m.path === 'string' ? m.path === req.path : m.path.test(req.path);
}
