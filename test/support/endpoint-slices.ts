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

/** Each endpoint of the Service's EndpointSlices with its conditions, as `endpointConditions` says. */
export async function sliceEndpoints(
  client: RawClient,
  namespace: string,
  service: string,
): Promise<{ endpoints: string[] } | undefined> {
  const selector = encodeURIComponent(`kubernetes.io/service-name=${service}`);
  const res = await client.request(
    'GET',
    `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${selector}`,
  );
  return res.status === 200 ? { endpoints: endpointConditions(res.json<SliceList>()) } : undefined;
}
