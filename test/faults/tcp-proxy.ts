/**
 * A loopback TCP proxy that can stall: while stalled it forwards nothing in either direction but keeps
 * every socket open (new connections are accepted too), as a network path that silently stops
 * delivering does. What arrives meanwhile is dropped, never delivered late; when the stall ends, the
 * connections that lived through it are closed (both ends would have given up on them), and new ones
 * are forwarded again. TLS passes through untouched.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
}

export class TcpProxy {
  port = 0;
  /** Bytes that arrived while stalled and were dropped. */
  droppedBytes = 0;
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #stalled = false;

  private constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      const pair: Pair = { client, upstream, stalled: this.#stalled };
      this.#pairs.add(pair);
      const forward = (from: Socket, to: Socket) => {
        from.on('data', (chunk: Buffer) => {
          if (pair.stalled) this.droppedBytes += chunk.length;
          else to.write(chunk);
        });
        from.on('end', () => {
          if (!pair.stalled) to.end();
        });
        from.on('error', () => {});
        from.on('close', () => {
          to.destroy();
          this.#pairs.delete(pair);
        });
      };
      forward(client, upstream);
      forward(upstream, client);
    });
  }

  /** Listens on a free loopback port and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = proxy.#server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    proxy.port = address.port;
    return proxy;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  /** Stops forwarding, in both directions, on every connection, open or yet to come. */
  stall(): void {
    this.#stalled = true;
    for (const pair of this.#pairs) pair.stalled = true;
  }

  /** Forwards new connections again; those that lived through the stall are closed. */
  heal(): void {
    this.#stalled = false;
    for (const pair of this.#pairs) {
      if (!pair.stalled) continue;
      pair.client.destroy();
      pair.upstream.destroy();
    }
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await closed;
  }
}
