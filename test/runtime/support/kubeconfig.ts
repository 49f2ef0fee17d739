/**
 * A kubeconfig in a temporary directory whose credential files can be rewritten, as a kubelet or
 * cert-manager rotates them, and loaded with the runtime's own loadRestConfig.
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRestConfig, type RestConfig } from '../../../src/runtime/client/rest-config.ts';
import type { Clock } from '../../../src/runtime/clock.ts';
import type { KeyPair } from './pki.ts';

export interface KubeconfigFiles {
  dir: string;
  path: string;
  /** Rewrites the CA file. */
  setCa(pem: string): Promise<void>;
  /** Rewrites the client certificate and key files. */
  setClientCert(pair: KeyPair): Promise<void>;
  setToken(token: string): Promise<void>;
  load(clock: Clock): Promise<RestConfig>;
}

export async function writeKubeconfig(
  server: string,
  options: { ca: KeyPair; clientCert?: KeyPair; token?: string; proxyUrl?: string },
): Promise<KubeconfigFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'runtime-kubeconfig-'));
  const file = (name: string) => join(dir, name);
  await copyFile(options.ca.certFile, file('ca.crt'));
  const user: string[] = [];
  if (options.clientCert) {
    await copyFile(options.clientCert.certFile, file('client.crt'));
    await copyFile(options.clientCert.keyFile, file('client.key'));
    user.push('client-certificate: client.crt', 'client-key: client.key');
  }
  if (options.token !== undefined) {
    await writeFile(file('token'), options.token);
    user.push('tokenFile: token');
  }
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${server}`,
    '    certificate-authority: ca.crt',
    ...(options.proxyUrl ? [`    proxy-url: ${options.proxyUrl}`] : []),
    'users:',
    '- name: test',
    '  user:',
    ...(user.length ? user.map((l) => `    ${l}`) : ['    {}']),
    'contexts:',
    '- name: test',
    '  context: {cluster: test, user: test, namespace: default}',
    'current-context: test',
    '',
  ].join('\n');
  const path = file('kubeconfig');
  await writeFile(path, yaml);
  return {
    dir,
    path,
    setCa: (pem) => writeFile(file('ca.crt'), pem),
    setClientCert: async (pair) => {
      await writeFile(file('client.crt'), pair.cert);
      await writeFile(file('client.key'), pair.key);
    },
    setToken: (token) => writeFile(file('token'), token),
    load: (clock) => loadRestConfig(path, {}, clock),
  };
}
