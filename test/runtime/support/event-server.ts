/**
 * The Events of one namespace on a ScriptedServer: POST creates (409 if the name is taken), PATCH
 * merges into an existing Event (404 if there is none, as when it expired or its create failed).
 * `failCreates` makes the next creates fail with 500, as a webhook that is down would.
 */
import type { ScriptedServer } from './scripted-server.ts';

export interface EventBody {
  metadata: { name: string; namespace: string };
  involvedObject: { kind: string; name: string; uid: string };
  reason: string;
  message: string;
  type: string;
  count: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

export class EventServer {
  readonly events = new Map<string, EventBody>();
  failCreates = 0;
  readonly collection: string;
  readonly server: ScriptedServer;

  constructor(server: ScriptedServer, namespace = 'default') {
    this.server = server;
    this.collection = `/api/v1/namespaces/${namespace}/events`;
    server.on('POST', this.collection, (req, reply) => {
      if (this.failCreates > 0) {
        this.failCreates--;
        return reply.fail(
          500,
          'InternalError',
          'Internal error occurred: failed calling webhook "events.example.com"',
        );
      }
      const body = structuredClone(req.json) as EventBody;
      if (this.events.has(body.metadata.name))
        return reply.fail(409, 'AlreadyExists', 'events "x" already exists');
      this.events.set(body.metadata.name, body);
      reply.json(body, 201);
    });
    server.on('PATCH', new RegExp(`^${this.collection}/`), (req, reply) => {
      const name = req.path.slice(this.collection.length + 1);
      const event = this.events.get(name);
      if (!event) return reply.fail(404, 'NotFound', `events "${name}" not found`);
      Object.assign(event, req.json);
      reply.json(event);
    });
  }

  /** The requests the recorder sent, as "POST" / "PATCH <count>" / "POST <count>". */
  calls(): string[] {
    return this.server.requests
      .filter((r) => r.path.startsWith(this.collection))
      .map((r) => `${r.method} ${(r.json as { count?: number }).count}`);
  }
}
