/**
 * What the EndpointSlices say about a Service's endpoints, over time. Beside kube-proxy's rules (see
 * hack/cluster/real-node/proxy-rules.ts) this tells a refused request's three possible stories apart:
 *  - the slice still called a stopping pod ready (kube-controller-manager was late);
 *  - the slice said so, but no endpoint was ready, so kube-proxy fell back to the terminating ones;
 *  - the slice was right and kube-proxy had not applied it yet.
 */
import type { RawClient } from '../../hack/cluster/raw-client.ts';

interface SliceList {
  items: {
    endpoints?: {
      addresses: string[];
      conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    }[];
  }[];
}

/**
 * One line per endpoint, sorted: its address and its conditions as three letters, `R`eady,
 * `S`erving, `T`erminating, with `-` for each that is false or unset ("10.88.0.4 -ST").
 */
export function endpointConditions(list: SliceList): string[] {
  const flag = (on: boolean | undefined, letter: string) => (on ? letter : '-');
  return list.items
    .flatMap((slice) => slice.endpoints ?? [])
    .map((e) => {
      const c = e.conditions ?? {};
      return `${e.addresses[0]} ${flag(c.ready, 'R')}${flag(c.serving, 'S')}${flag(c.terminating, 'T')}`;
    })
    .sort();
}

/** One change of the endpoints' conditions: seconds since the recorder started, and the lines from then on. */
export interface ConditionsChange {
  at: number;
  endpoints: string[];
}

/** Samples the Service's EndpointSlices every `everyMs` until `signal` aborts; returns each change. */
export async function recordEndpointConditions(
  client: RawClient,
  namespace: string,
  service: string,
  signal: AbortSignal,
  everyMs = 200,
): Promise<ConditionsChange[]> {
  const path = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`;
  const started = performance.now();
  const changes: ConditionsChange[] = [];
  let last = '';
  while (!signal.aborted) {
    const at = Math.round(performance.now() - started) / 1000;
    const res = await client.request('GET', path).catch(() => undefined);
    if (res?.status === 200) {
      const endpoints = endpointConditions(res.json<SliceList>());
      const key = endpoints.join(',');
      if (key !== last) changes.push({ at, endpoints });
      last = key;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return changes;
}
