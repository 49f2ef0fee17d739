/**
 * One coordination.k8s.io Lease on a ScriptedServer, with the API server's rules that leader
 * election relies on: GET 404 when absent, POST 409 when present, PUT 409 when the resourceVersion
 * is not the current one, and a new resourceVersion on every write. A test can hold requests
 * (`stall`: accepted, never answered until `release()`), or change the Lease behind the elector's back.
 */
import type { RecordedRequest, Reply, ScriptedServer } from './scripted-server.ts';

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export class LeaseServer {
  lease: Lease | undefined;
  /** While true, requests are accepted and left unanswered (queued in `held`). */
  stall = false;
  /** Requests of these methods are held too, whatever `stall` says (e.g. only the renewal's PUT). */
  readonly stallMethods = new Set<string>();
  readonly held: (() => void)[] = [];
  readonly path: string;
  readonly server: ScriptedServer;
  readonly namespace: string;
  readonly name: string;
  #version = 100;

  constructor(server: ScriptedServer, namespace = 'kube-system', name = 'widget-lock') {
    this.server = server;
    this.namespace = namespace;
    this.name = name;
    const collection = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
    this.path = `${collection}/${name}`;
    server.on('GET', this.path, (req, reply) => this.#gate(req, reply, () => this.#get(reply)));
    server.on('POST', collection, (req, reply) => this.#gate(req, reply, () => this.#create(req, reply)));
    server.on('PUT', this.path, (req, reply) => this.#gate(req, reply, () => this.#update(req, reply)));
  }

  /** Answers every held request now (with the Lease as it is by then). */
  release(): void {
    this.stall = false;
    this.stallMethods.clear();
    for (const answer of this.held.splice(0)) answer();
  }

  /** Puts a Lease held by `holder` in place, as another replica would have written it. */
  heldBy(holder: string, renewTime = new Date().toISOString(), leaseDurationSeconds = 15): Lease {
    this.lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, resourceVersion: String(this.#version++) },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds,
        renewTime,
        acquireTime: renewTime,
        leaseTransitions: 3,
      },
    };
    return this.lease;
  }

  /** Writes that reached the server, oldest first (PUT and POST bodies). */
  writes(): Lease[] {
    return this.server.requests
      .filter(
        (r) =>
          (r.method === 'PUT' && r.path === this.path) || (r.method === 'POST' && r.path.endsWith('/leases')),
      )
      .map((r) => r.json as Lease);
  }

  #gate(req: RecordedRequest, _reply: Reply, answer: () => void): void {
    if (this.stall || this.stallMethods.has(req.method)) this.held.push(answer);
    else answer();
  }

  #get(reply: Reply): void {
    if (this.lease) reply.json(this.lease);
    else reply.fail(404, 'NotFound', `leases.coordination.k8s.io "${this.name}" not found`);
  }

  #create(req: RecordedRequest, reply: Reply): void {
    if (this.lease) {
      reply.fail(409, 'AlreadyExists', `leases.coordination.k8s.io "${this.name}" already exists`);
      return;
    }
    const body = req.json as Lease;
    this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(this.#version++) } };
    reply.json(this.lease, 201);
  }

  #update(req: RecordedRequest, reply: Reply): void {
    const body = req.json as Lease;
    if (!this.lease || body.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
      reply.fail(
        409,
        'Conflict',
        `Operation cannot be fulfilled on leases.coordination.k8s.io "${this.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
      return;
    }
    this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(this.#version++) } };
    reply.json(this.lease);
  }
}
