/**
 * The certificates a real node adds to the cluster's PKI, all signed by the cluster CA (pki.ts):
 *
 *  - the kubelet's client certificate, `O=system:nodes, CN=system:node:<name>`, so the Node
 *    authorizer and NodeRestriction treat it as that node and nothing more;
 *  - the kubelet's serving certificate for its own address, so kube-apiserver verifies the kubelet
 *    it talks to (--kubelet-certificate-authority) instead of trusting any self-signed one;
 *  - kube-apiserver's client certificate towards kubelets (--kubelet-client-certificate): the
 *    kubelet authenticates it by the CA and asks the API server (webhook) whether it may do what it
 *    asks; RBAC grants it system:kubelet-api-admin (see kubelet.ts);
 *  - kube-proxy's client certificate, `CN=system:kube-proxy`, which the default ClusterRoleBinding
 *    system:node-proxier already grants what kube-proxy reads.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Pki } from '../pki.ts';

const run = promisify(execFile);

export interface NodePki {
  kubeletClientCert: string;
  kubeletClientKey: string;
  kubeletServingCert: string;
  kubeletServingKey: string;
  apiServerKubeletClientCert: string;
  apiServerKubeletClientKey: string;
  kubeProxyCert: string;
  kubeProxyKey: string;
}

/** The user name kube-apiserver has when it calls a kubelet (the CN of its client certificate). */
export const apiServerKubeletClientUser = 'kube-apiserver-kubelet-client';

/** Writes the node's certificates into `dir`, signed by `pki`'s CA. */
export async function generateNodePki(
  dir: string,
  pki: Pki,
  nodeName: string,
  nodeIp: string,
): Promise<NodePki> {
  const p = (name: string) => join(dir, name);
  const signed = (name: string, subject: string, ext: string[]) =>
    run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '30',
      '-subj',
      subject,
      '-CA',
      pki.caCert,
      '-CAkey',
      pki.caKey,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
  const client = ['extendedKeyUsage=clientAuth'];
  await Promise.all([
    signed('kubelet-client', `/O=system:nodes/CN=system:node:${nodeName}`, client),
    signed('kubelet-serving', `/CN=system:node:${nodeName}`, [
      'extendedKeyUsage=serverAuth',
      `subjectAltName=IP:${nodeIp},DNS:${nodeName}`,
    ]),
    signed('apiserver-kubelet-client', `/CN=${apiServerKubeletClientUser}`, client),
    signed('kube-proxy', '/CN=system:kube-proxy', client),
  ]);
  return {
    kubeletClientCert: p('kubelet-client.crt'),
    kubeletClientKey: p('kubelet-client.key'),
    kubeletServingCert: p('kubelet-serving.crt'),
    kubeletServingKey: p('kubelet-serving.key'),
    apiServerKubeletClientCert: p('apiserver-kubelet-client.crt'),
    apiServerKubeletClientKey: p('apiserver-kubelet-client.key'),
    kubeProxyCert: p('kube-proxy.crt'),
    kubeProxyKey: p('kube-proxy.key'),
  };
}
