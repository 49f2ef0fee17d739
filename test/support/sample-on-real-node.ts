/**
 * The sample (config/samples, in namespace "shop") served by real pods: the waits that the
 * `make deploy` and Helm tests on the real node share. `kubectl` is the caller's, bound to its
 * cluster's kubeconfig.
 */
import { waitFor } from './operator.ts';

type Kubectl = (...args: string[]) => Promise<string>;

/** Waits until the sample's status shows REAL-QPS `qps`. */
export async function waitForSampleRealQps(kubectl: Kubectl, qps: number, what: string): Promise<void> {
  await waitFor(
    what,
    async () =>
      (await kubectl('-n', 'shop', 'get', 'ew', 'elasticweb-sample', '-o', 'jsonpath={.status.realQPS}')) ===
      String(qps)
        ? true
        : undefined,
    180_000,
  );
}

/** Waits until the sample's NodePort (30003) answers 200 with nginx's page. */
export async function waitForNginxOnSampleNodePort(): Promise<void> {
  await waitFor('nginx on the NodePort', async () => {
    const res = await fetch('http://127.0.0.1:30003/', { signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    );
    return res?.status === 200 && (await res.text()).includes('Welcome to nginx!') ? true : undefined;
  });
}
