/**
 * The API server's audit log as the neutral witness of who sent which request: each operator runs as
 * its own ServiceAccount, so counting requests per user needs nothing from the operators themselves.
 * Read incrementally (the log grows to tens of MB in a run).
 */
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

export interface AuditRecord {
  user: string;
  verb: string;
  /** e.g. deployments, services, elasticwebs/status, events */
  resource: string;
  /** requestReceivedTimestamp, ms since epoch. */
  at: number;
}

interface RawEvent {
  auditID: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string };
  requestReceivedTimestamp: string;
}

export const writeVerbs = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export class AuditLog {
  readonly #path: string;
  #offset = 0;
  #partial = '';
  /** Keeps a character whose bytes a read cut in two until the next read completes it. */
  readonly #decoder = new StringDecoder('utf8');
  /** Long-running requests (watches) log two stages; each request is counted once. */
  readonly #seen = new Set<string>();
  readonly records: AuditRecord[] = [];

  constructor(path: string) {
    this.#path = path;
  }

  /** Reads what the API server appended since the last call. */
  async update(): Promise<void> {
    const file = await open(this.#path, 'r');
    try {
      for (;;) {
        const buf = Buffer.alloc(4 << 20);
        const { bytesRead } = await file.read(buf, 0, buf.length, this.#offset);
        if (bytesRead === 0) return;
        this.#offset += bytesRead;
        const lines = (this.#partial + this.#decoder.write(buf.subarray(0, bytesRead))).split('\n');
        this.#partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          const e = JSON.parse(line) as RawEvent;
          if (this.#seen.has(e.auditID)) continue;
          this.#seen.add(e.auditID);
          const ref = e.objectRef;
          this.records.push({
            user: e.user.username,
            verb: e.verb,
            resource: `${ref?.resource ?? '?'}${ref?.subresource ? `/${ref.subresource}` : ''}`,
            at: Date.parse(e.requestReceivedTimestamp),
          });
        }
      }
    } finally {
      await file.close();
    }
  }

  /** Requests by `user` received in [from, to] (ms since epoch), optionally only write verbs. */
  select(user: string, from: number, to: number, writesOnly = false): AuditRecord[] {
    return this.records.filter(
      (r) => r.user === user && r.at >= from && r.at <= to && (!writesOnly || writeVerbs.has(r.verb)),
    );
  }
}

/** "verb resource" -> count, most frequent first, for the report's breakdowns. */
export function breakdown(records: AuditRecord[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const r of records)
    counts.set(`${r.verb} ${r.resource}`, (counts.get(`${r.verb} ${r.resource}`) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
}
