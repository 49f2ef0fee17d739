/**
 * The real node's kubelet, built from the same k8s.io/kubernetes module as the control plane. It
 * runs inside the node's namespace (nsenter into containerd's), so the cgroups it makes nest under
 * /realnode there, and its mounts stay private.
 *
 * Secure by default: its API (on the node address only) authenticates clients by the cluster CA or
 * a token (webhook TokenReview), refuses anonymous requests, and asks the API server whether each
 * caller may do what it asks (webhook SubjectAccessReview). kube-apiserver calls it with its own
 * client certificate, to which RBAC grants system:kubelet-api-admin (`kubeletApiRbac`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nodeCgroup } from './cgroups.ts';
import { apiServerKubeletClientUser, type NodePki } from './node-pki.ts';

export interface KubeletSettings {
  nodeDir: string;
  nodeName: string;
  nodeIp: string;
  port: number;
  healthzPort: number;
  containerdSocket: string;
  caCert: string;
  kubeconfig: string;
  pki: NodePki;
}

/** Writes the KubeletConfiguration and returns the kubelet's command-line flags. */
export async function kubeletArgs(s: KubeletSettings): Promise<string[]> {
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // v1.37 refuses cgroup v1 unless told; these machines have only v1 controllers.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: nodeCgroup,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    containerRuntimeEndpoint: `unix://${s.containerdSocket}`,
    address: s.nodeIp,
    port: s.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: s.healthzPort,
    tlsCertFile: s.pki.kubeletServingCert,
    tlsPrivateKeyFile: s.pki.kubeletServingKey,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true, cacheTTL: '30s' },
      x509: { clientCAFile: s.caCert },
    },
    authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '30s', cacheUnauthorizedTTL: '10s' } },
    // No cluster DNS here; pods get no resolv.conf search path from the machine either.
    resolvConf: '',
    failSwapOn: false,
    // The kubelet may not lower its own OOM score on these machines (no CAP_SYS_RESOURCE).
    oomScoreAdj: 0,
    podLogsDir: join(s.nodeDir, 'pod-logs'),
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
      'nodefs.inodesFree': '1%',
    },
    // Images are imported, never pulled: never collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    nodeStatusUpdateFrequency: '10s',
    rotateCertificates: false,
    serverTLSBootstrap: false,
    shutdownGracePeriod: '0s',
    maxPods: 110,
  };
  const path = join(s.nodeDir, 'kubelet-config.yaml');
  await writeFile(path, stringify(config));
  return [
    `--config=${path}`,
    `--kubeconfig=${s.kubeconfig}`,
    `--hostname-override=${s.nodeName}`,
    `--node-ip=${s.nodeIp}`,
    `--root-dir=${join(s.nodeDir, 'kubelet')}`,
    `--cert-dir=${join(s.nodeDir, 'kubelet-pki')}`,
    '--v=1',
  ];
}

/** RBAC that lets kube-apiserver use the kubelet API (logs, exec, port-forward, metrics). */
export const kubeletApiRbac = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'elasticweb:kube-apiserver-kubelet-client' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:kubelet-api-admin' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: apiServerKubeletClientUser }],
};
