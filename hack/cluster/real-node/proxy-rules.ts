/**
 * What kube-proxy has really programmed for a Service, read from the machine's packet filter. An
 * EndpointSlice that marks a pod not ready is only the intent: kube-proxy applies it on its next
 * sync (about a second later here), and traffic sent in between still reaches the pod. Tests that
 * claim "traffic no longer reaches this pod" wait on these rules, not on the slice.
 *
 * kube-proxy's iptables mode writes, per Service:
 *  - in the nat table, one jump per serving endpoint in the Service's KUBE-SVC chain, commented
 *    `"<namespace>/<service>:<port name> -> <ip>:<port>"` (no `:<port name>` for an unnamed port);
 *  - in the filter table, when no endpoint serves, a REJECT commented
 *    `"<namespace>/<service>:<port name> has no endpoints"`: a client then sees a refused connection.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServiceRules {
  /** Endpoint addresses (`ip:port`) the Service's traffic is sent to, sorted. */
  endpoints: string[];
  /** kube-proxy refuses the Service's connections because it has no endpoints. */
  rejected: boolean;
}

/** The rules for `namespace/service` in iptables-save text (all tables or some). */
export function serviceRules(iptablesSave: string, namespace: string, service: string): ServiceRules {
  const name = `${namespace}/${service}`;
  const endpoints = new Set<string>();
  let rejected = false;
  for (const line of iptablesSave.split('\n')) {
    const comment = /--comment "([^"]+)"/.exec(line)?.[1];
    // `ns/name:port` for a named port, `ns/name` alone for an unnamed one (kube-proxy's fmtPortName).
    if (!comment?.startsWith(`${name}:`) && !comment?.startsWith(`${name} `)) continue;
    const jump = / -> (\S+)$/.exec(comment);
    if (jump?.[1] && line.startsWith('-A KUBE-SVC-')) endpoints.add(jump[1]);
    else if (comment.endsWith(' has no endpoints') && line.includes('-j REJECT')) rejected = true;
  }
  return { endpoints: [...endpoints].sort(), rejected };
}

/** What kube-proxy currently programs for `namespace/service` on this machine (needs root). */
export async function programmedRules(namespace: string, service: string): Promise<ServiceRules> {
  const { stdout } = await run('iptables-save', [], { maxBuffer: 64 * 1024 * 1024 });
  return serviceRules(stdout, namespace, service);
}
