/**
 * A small admission webhook server for the admission fault scenarios: HTTPS on loopback with a
 * certificate made by openssl for 127.0.0.1 (its CA goes into the webhook configurations' caBundle),
 * answering AdmissionReview requests per path as the test tells it: allow, deny with a status code,
 * answer late (so the API server times out), or mutate with a JSON patch. It counts the calls.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A CA and a serving certificate for IP 127.0.0.1, PEM. */
export interface WebhookPki {
  ca: string;
  cert: string;
  key: string;
  /** The CA, base64, as a webhook configuration's clientConfig.caBundle. */
  caBundle: string;
}

export async function makeWebhookPki(): Promise<WebhookPki> {
  const dir = mkdtempSync(join(tmpdir(), 'webhook-pki-'));
  const p = (name: string) => join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ecKey,
      '-subj',
      '/CN=webhook-test-ca',
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.crt'),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', [
      'req',
      '-x509',
      ...ecKey,
      '-subj',
      '/CN=127.0.0.1',
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-keyout',
      p('tls.key'),
      '-out',
      p('tls.crt'),
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ]);
    const [ca, cert, key] = await Promise.all(
      ['ca.crt', 'tls.crt', 'tls.key'].map((f) => readFile(p(f), 'utf8')),
    );
    return {
      ca: ca as string,
      cert: cert as string,
      key: key as string,
      caBundle: Buffer.from(ca as string).toString('base64'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The object under review, as the API server sends it. */
export type Reviewed = Record<string, unknown> & {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
};

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** How one path answers. */
export type Behaviour =
  | { allow: true }
  | { deny: { code: number; reason?: string; message: string } }
  | { lateMs: number }
  | { mutate: (object: Reviewed, operation: string) => JsonPatchOp[] };

interface AdmissionReview {
  request: { uid: string; operation: string; object?: Reviewed; namespace?: string; dryRun?: boolean };
}

export class WebhookServer {
  port = 0;
  /** The CA of its serving certificate, base64, for clientConfig.caBundle. */
  readonly caBundle: string;
  /** Calls per path. */
  readonly calls = new Map<string, number>();
  readonly #server: Server;
  readonly #behaviour = new Map<string, Behaviour>();
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(pki: WebhookPki) {
    this.caBundle = pki.caBundle;
    this.#server = createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#answer(req.url ?? '/', Buffer.concat(chunks).toString(), res));
    });
    this.#server.on('secureConnection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Listens on 127.0.0.1:`port` (0: any free port) with the serving certificate of `pki`. */
  static async listen(pki: WebhookPki, port = 0): Promise<WebhookServer> {
    const self = new WebhookServer(pki);
    await new Promise<void>((resolve, reject) => {
      self.#server.once('error', reject);
      self.#server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = self.#server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    self.port = address.port;
    return self;
  }

  /** https://127.0.0.1:<port><path>, for clientConfig.url. */
  url(path: string): string {
    return `https://127.0.0.1:${this.port}${path}`;
  }

  /** Sets how `path` answers from now on. */
  on(path: string, behaviour: Behaviour): void {
    this.#behaviour.set(path, behaviour);
  }

  #answer(url: string, body: string, res: import('node:http').ServerResponse): void {
    const path = url.split('?')[0] ?? url;
    this.calls.set(path, (this.calls.get(path) ?? 0) + 1);
    let review: AdmissionReview;
    try {
      review = JSON.parse(body) as AdmissionReview;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const behaviour = this.#behaviour.get(path) ?? { allow: true };
    const reply = (response: Record<string, unknown>) => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: review.request.uid, ...response },
        }),
      );
    };
    if ('deny' in behaviour) {
      const { code, reason, message } = behaviour.deny;
      reply({ allowed: false, status: { code, message, ...(reason ? { reason } : {}) } });
    } else if ('lateMs' in behaviour) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        reply({ allowed: true });
      }, behaviour.lateMs);
      this.#timers.add(timer);
    } else if ('mutate' in behaviour) {
      const object = review.request.object;
      const ops = object ? behaviour.mutate(object, review.request.operation) : [];
      reply(
        ops.length === 0
          ? { allowed: true }
          : {
              allowed: true,
              patchType: 'JSONPatch',
              patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
            },
      );
    } else {
      reply({ allowed: true });
    }
  }

  /** Stops listening, drops pending late answers and open connections. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
