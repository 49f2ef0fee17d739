/**
 * The certificates and keys one local cluster needs, made with the openssl command line:
 * a CA, a serving certificate for kube-apiserver (valid for 127.0.0.1 and the in-cluster names),
 * an admin client certificate in group system:masters (as envtest does), and the key that signs
 * ServiceAccount tokens. Each cluster gets its own, generated at start, so no secret is committed.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  /** Private key that signs ServiceAccount tokens (kube-apiserver and kube-controller-manager). */
  serviceAccountKey: string;
  /** Its public half, which kube-apiserver uses to verify tokens. */
  serviceAccountPub: string;
  /** PEM contents, for kubeconfigs and HTTPS clients. */
  pem: { ca: string; adminCert: string; adminKey: string };
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Subject alternative names kube-apiserver's certificate must carry: loopback and the in-cluster names. */
const serverSans = [
  'IP:127.0.0.1',
  'IP:10.96.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
].join(',');

/**
 * Writes a fresh PKI into `dir` and returns the paths. Takes well under a second. `extraServerIps`
 * are added to kube-apiserver's certificate (a real node's pods reach it on the bridge address).
 */
export async function generatePki(dir: string, extraServerIps: string[] = []): Promise<Pki> {
  const p = (name: string) => join(dir, name);
  const days = ['-days', '30'];
  await run('openssl', [
    'req',
    '-x509',
    ...ecKey,
    ...days,
    '-subj',
    '/CN=elasticweb-local-ca',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const signed = (name: string, subject: string, ext: string[]) =>
    run('openssl', [
      'req',
      '-x509',
      ...ecKey,
      ...days,
      '-subj',
      subject,
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
  await Promise.all([
    signed('server', '/CN=kube-apiserver', [
      `subjectAltName=${[serverSans, ...extraServerIps.map((ip) => `IP:${ip}`)].join(',')}`,
      'extendedKeyUsage=serverAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ]),
    signed('admin', '/O=system:masters/CN=admin', [
      'extendedKeyUsage=clientAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ]),
    run('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-out',
      p('sa.key'),
    ]),
  ]);
  await run('openssl', ['pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  const [ca, adminCert, adminKey] = await Promise.all(
    ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(p(f), 'utf8')),
  );
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
    pem: { ca: ca as string, adminCert: adminCert as string, adminKey: adminKey as string },
  };
}
