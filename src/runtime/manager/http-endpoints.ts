/**
 * The manager's two small HTTP servers: /metrics (Prometheus text) and the health probes
 * (/healthz, /readyz), each on its own bind address as kubebuilder lays them out.
 */
import { createServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * ":8080" listens on every interface, "127.0.0.1:8080" on one; "0" means disabled (kubebuilder's
 * convention), and a port of 0 ("127.0.0.1:0") picks a free one.
 */
export function parseBindAddress(address: string): { host: string | undefined; port: number } | undefined {
  if (address === '0' || address === '') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(address);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new Error(`bind address "${address}" must look like ":8080", "127.0.0.1:8080" or "[::1]:8080"`);
  }
  return { host: m[1] ?? (m[2] || undefined), port };
}

export type Handler = () => Promise<{ status: number; contentType: string; body: string }>;

/** Serves `routes` (exact paths, GET only) on `address`; resolves with the bound address, or undefined when disabled. */
export async function serve(address: string, routes: Record<string, Handler>): Promise<Served | undefined> {
  const bind = parseBindAddress(address);
  if (!bind) return undefined;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const handler = routes[path];
    if (!handler || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    handler().then(
      (r) =>
        res
          .writeHead(r.status, { 'content-type': r.contentType })
          .end(req.method === 'HEAD' ? undefined : r.body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  return { server, address: await listen(server, bind) };
}

/**
 * Starts `server` (HTTP or HTTPS) listening on `bind`; resolves with the address it bound ("host:port",
 * IPv6 in brackets), so a port of 0 reports the one picked. Rejects if it cannot listen (port taken).
 */
export async function listen(
  server: Server | HttpsServer,
  bind: { host: string | undefined; port: number },
): Promise<string> {
  // Idle keep-alive connections from a scraper or the kubelet are closed after 5 s.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `${host}:${a.port}`;
}

/** A server this file started (or an HTTPS one started alike), with the address it bound. */
export interface Served {
  server: Server | HttpsServer;
  address: string;
}

export function close(server: Server | HttpsServer | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
