/**
 * Waiting for a NodePort to serve without poisoning it for the load that follows.
 *
 * While a Service has no endpoints, kube-proxy REJECTs its connections with an ICMP port-unreachable.
 * The client sees a refusal, but conntrack keeps the attempt as a SYN_SENT entry with no NAT for
 * 120 s (`nf_conntrack_tcp_timeout_syn_sent`). When the client's kernel hands out that source port
 * again to the same NodePort within that time, the new SYN matches the old entry, skips kube-proxy's
 * DNAT, reaches the host's own 127.0.0.1:<nodePort>, where nothing listens, and is refused, although
 * the Service has Ready endpoints by then. Upstream kube-proxy clears such entries for UDP only
 * (kubernetes/kubernetes#101607).
 *
 * Measured here (the autopilot step test, conntrack -L and tcpdump beside it): 20 probes refused
 * before the first pod was Ready left 20 such entries, and the 180-QPS load that started a few
 * seconds later met 14 refusals, each on one of those source ports, up to 87 s later.
 *
 * So a test asks kube-proxy's rules, never the NodePort, until the Service has its endpoints; only
 * then does it send requests, which can no longer be rejected.
 */
import { programmedRules } from '../../hack/cluster/real-node/proxy-rules.ts';
import { waitFor } from './operator.ts';

/**
 * Resolves when kube-proxy sends `namespace/service` to exactly `count` pods and the NodePort on
 * 127.0.0.1 then answers HTTP 200 `inRow` times in a row. `timeoutMs` bounds each of the two waits.
 */
export async function servingNodePort(
  namespace: string,
  service: string,
  port: number,
  count: number,
  { inRow = 10, timeoutMs = 60_000 } = {},
): Promise<void> {
  await waitFor(
    `kube-proxy to program ${count} endpoints for ${namespace}/${service}`,
    async () => ((await programmedRules(namespace, service)).endpoints.length === count ? true : undefined),
    timeoutMs,
  );
  let answered = 0;
  await waitFor(
    `NodePort ${port} answering ${inRow} times in a row`,
    async () => {
      const ok = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      answered = ok ? answered + 1 : 0;
      return answered >= inRow ? true : undefined;
    },
    timeoutMs,
  );
}
