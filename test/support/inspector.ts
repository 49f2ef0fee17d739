/**
 * A minimal Chrome DevTools Protocol client for a node process started with --inspect on loopback:
 * force a garbage collection and read memory and handle counts from inside the process, without
 * adding any debug endpoint to the operator itself.
 */
export class Inspector {
  readonly #socket: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      const waiter = message.id === undefined ? undefined : this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id as number);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
  }

  /** `url` is the ws://127.0.0.1:<port>/<id> that node prints as "Debugger listening on ...". */
  static connect(url: string): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.addEventListener('open', () => resolve(new Inspector(socket)), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    this.#socket.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) =>
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject }),
    );
  }

  /** Evaluates `expression` in the process and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send<{ result: { value: T }; exceptionDetails?: { text: string } }>(
      'Runtime.evaluate',
      {
        expression,
        returnByValue: true,
      },
    );
    if (result.exceptionDetails) throw new Error(result.exceptionDetails.text);
    return result.result.value;
  }

  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
  }

  /** Heap and RSS after two full collections, active handles by type, and process listeners. */
  async settledFootprint(): Promise<Footprint> {
    await this.collectGarbage();
    await this.collectGarbage();
    return this.evaluate<Footprint>(`(() => {
      const m = process.memoryUsage();
      const resources = {};
      for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
      const listeners = {};
      for (const e of process.eventNames()) listeners[String(e)] = process.listenerCount(e);
      return { heapUsed: m.heapUsed, rss: m.rss, resources, listeners };
    })()`);
  }

  close(): void {
    this.#socket.close();
  }
}

export interface Footprint {
  heapUsed: number;
  rss: number;
  resources: Record<string, number>;
  listeners: Record<string, number>;
}
