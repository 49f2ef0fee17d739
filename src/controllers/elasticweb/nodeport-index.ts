/**
 * Which ElasticWebs ask for which NodePort. A NodePort is cluster-wide: when a Service holding one is
 * deleted, an ElasticWeb elsewhere that could not get it (Degraded NodePortConflict) can now have it,
 * but nothing about that ElasticWeb changed, so no event of its own would wake it before its backoff
 * ran out. This index lets the Service's deletion wake exactly the ElasticWebs asking for that port.
 */
import type { ElasticWeb } from '../../api/v1/elasticweb.ts';
import type { InformerHandler, Request } from '../../runtime/index.ts';

export class NodePortIndex {
  readonly #byPort = new Map<number, Set<string>>();
  readonly #portOf = new Map<string, number>();

  /** Keeps the index current from the ElasticWeb informer. */
  readonly handler: InformerHandler<ElasticWeb> = {
    onAdd: (ew) => this.#set(ew),
    onUpdate: (_old, ew) => this.#set(ew),
    onDelete: (ew) => this.#drop(`${ew.metadata.namespace}/${ew.metadata.name}`),
  };

  /** The ElasticWebs asking for `port`, except `owner` (namespace/name). */
  asking(port: number, owner?: string): Request[] {
    return [...(this.#byPort.get(port) ?? [])]
      .filter((key) => key !== owner)
      .map((key) => {
        const slash = key.indexOf('/');
        return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
      });
  }

  #set(ew: ElasticWeb): void {
    const key = `${ew.metadata.namespace}/${ew.metadata.name}`;
    this.#drop(key);
    if (ew.spec.port === undefined) return;
    this.#portOf.set(key, ew.spec.port);
    const keys = this.#byPort.get(ew.spec.port) ?? new Set<string>();
    keys.add(key);
    this.#byPort.set(ew.spec.port, keys);
  }

  #drop(key: string): void {
    const port = this.#portOf.get(key);
    if (port === undefined) return;
    this.#portOf.delete(key);
    const keys = this.#byPort.get(port);
    keys?.delete(key);
    if (keys?.size === 0) this.#byPort.delete(port);
  }
}
