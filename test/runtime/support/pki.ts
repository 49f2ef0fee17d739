/**
 * Throw-away certificates for the TLS tests, made with the openssl command line as
 * hack/cluster/pki.ts makes the local cluster's: two CAs (so a rotation to another CA can be staged),
 * a serving certificate for 127.0.0.1 from each, and two client certificates from the first CA.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];

export interface KeyPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  caA: KeyPair;
  caB: KeyPair;
  /** Serving certificates for 127.0.0.1 / localhost, signed by CA A and CA B. */
  serverA: KeyPair;
  serverB: KeyPair;
  /** Client certificates signed by CA A. */
  client1: KeyPair;
  client2: KeyPair;
}

async function pair(dir: string, name: string): Promise<KeyPair> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key, certFile, keyFile };
}

export async function makePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'runtime-pki-'));
  const p = (name: string) => join(dir, name);
  const ca = (name: string) =>
    run('openssl', [
      'req',
      '-x509',
      ...ecKey,
      '-subj',
      `/CN=${name}`,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  await Promise.all([ca('caA'), ca('caB')]);
  const signed = (name: string, by: string, subject: string, ext: string[]) =>
    run('openssl', [
      'req',
      '-x509',
      ...ecKey,
      '-subj',
      subject,
      '-CA',
      p(`${by}.crt`),
      '-CAkey',
      p(`${by}.key`),
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
  const serving = ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth'];
  const client = ['extendedKeyUsage=clientAuth'];
  await Promise.all([
    signed('serverA', 'caA', '/CN=apiserver-a', serving),
    signed('serverB', 'caB', '/CN=apiserver-b', serving),
    signed('client1', 'caA', '/O=system:masters/CN=client-1', client),
    signed('client2', 'caA', '/O=system:masters/CN=client-2', client),
  ]);
  const [caA, caB, serverA, serverB, client1, client2] = await Promise.all(
    ['caA', 'caB', 'serverA', 'serverB', 'client1', 'client2'].map((n) => pair(dir, n)),
  );
  return {
    dir,
    caA: caA as KeyPair,
    caB: caB as KeyPair,
    serverA: serverA as KeyPair,
    serverB: serverB as KeyPair,
    client1: client1 as KeyPair,
    client2: client2 as KeyPair,
  };
}

/** The SHA-256 fingerprint of a PEM certificate, as a TLS peer reports it. */
export async function fingerprint(pem: string): Promise<string> {
  const { X509Certificate } = await import('node:crypto');
  return new X509Certificate(pem).fingerprint256;
}
