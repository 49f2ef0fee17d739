/**
 * A self-signed serving certificate for the metrics endpoint, as controller-runtime makes one when no
 * certificate directory is given: good for encryption on the wire (Prometheus scrapes it with
 * insecureSkipVerify, as kubebuilder's ServiceMonitor does), not for proving identity. ECDSA P-256
 * keys are made in about a millisecond, where RSA 2048 takes tens.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  boolean,
  explicit,
  implicit,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.ts';

export interface SelfSignedOptions {
  /** Subject common name (default "localhost"). */
  commonName?: string;
  /** DNS names and IP addresses the certificate is valid for (default localhost, 127.0.0.1, ::1). */
  hosts?: string[];
  /** How long it is valid (default 365 days, as controller-runtime's). */
  validForMs?: number;
  now?: Date;
}

export interface KeyPair {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
  notAfter: Date;
}

const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));

const name = (commonName: string) => sequence(set(sequence(oid('2.5.4.3'), utf8String(commonName))));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

/** GeneralName: dNSName [2] or iPAddress [7]. */
function generalName(host: string): Buffer {
  const family = isIP(host);
  if (family === 4) return implicit(7, Buffer.from(host.split('.').map(Number)));
  if (family === 6) return implicit(7, ipv6Bytes(host));
  return implicit(2, Buffer.from(host, 'ascii'));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

/** A fresh key and a certificate signed by it, valid for `hosts`. */
export function selfSignedCertificate(options: SelfSignedOptions = {}): KeyPair {
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const notBefore = new Date((options.now ?? new Date()).getTime() - 60_000); // tolerate clock skew
  const notAfter = new Date(notBefore.getTime() + (options.validForMs ?? 365 * 24 * 3600 * 1000));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive, 16 bytes at most as RFC 5280 asks
  const subject = name(options.commonName ?? 'localhost');
  const extensions = [
    extension('2.5.29.19', true, sequence()), // basicConstraints: not a CA
    extension('2.5.29.15', true, bitString(Buffer.from([0x80]))), // keyUsage: digitalSignature
    extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
    extension('2.5.29.17', false, sequence(...hosts.map(generalName))), // subjectAltName
  ];
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    ecdsaWithSha256,
    subject, // issuer: itself
    sequence(time(notBefore), time(notAfter)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = sequence(tbs, ecdsaWithSha256, bitString(signature));
  const base64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    notAfter,
  };
}
