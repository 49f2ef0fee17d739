/**
 * The real node's kube-proxy, built from the same module as the control plane, in iptables mode
 * (Debian's iptables is the nf_tables flavour). It programs Services for the host and the pods:
 * NodePorts on 127.0.0.1 (localhostNodePorts, which turns net.ipv4.conf.all.route_localnet on)
 * and on the node address, ClusterIPs, and the `kubernetes` Service to the API server.
 *
 * It leaves the machine's conntrack settings alone (maxPerCore 0 and zero timeouts mean "do not
 * set"), and its health and metrics ports listen on 127.0.0.1 only.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { podNetwork } from './cni.ts';

export interface KubeProxySettings {
  nodeDir: string;
  nodeName: string;
  kubeconfig: string;
  healthzPort: number;
  metricsPort: number;
}

/** Writes the KubeProxyConfiguration and returns kube-proxy's flags. */
export async function kubeProxyArgs(s: KubeProxySettings): Promise<string[]> {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: s.kubeconfig },
    hostnameOverride: s.nodeName,
    bindAddress: '127.0.0.1',
    healthzBindAddress: `127.0.0.1:${s.healthzPort}`,
    metricsBindAddress: `127.0.0.1:${s.metricsPort}`,
    clusterCIDR: podNetwork.subnet,
    detectLocalMode: 'ClusterCIDR',
    nodePortAddresses: ['127.0.0.0/8', `${podNetwork.nodeIp}/32`],
    iptables: { localhostNodePorts: true, masqueradeAll: false, syncPeriod: '30s', minSyncPeriod: '0s' },
    conntrack: {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: '0s',
      tcpCloseWaitTimeout: '0s',
      udpTimeout: '0s',
      udpStreamTimeout: '0s',
    },
    // Raising its priority against the OOM killer needs CAP_SYS_RESOURCE, which these machines lack.
    oomScoreAdj: 0,
  };
  const path = join(s.nodeDir, 'kube-proxy-config.yaml');
  await writeFile(path, stringify(config));
  return [`--config=${path}`, '--v=1'];
}
