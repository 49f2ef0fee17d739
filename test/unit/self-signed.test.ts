/**
 * The self-signed metrics certificate: DER pieces against known encodings, the whole certificate
 * read back by node's X.509 parser (which rejects malformed DER), signed by its own key, valid for
 * the names asked, and accepted in a real TLS handshake when trusted.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { connect, createServer } from 'node:tls';
import { oid, time, tlv, unsignedInteger } from '../../src/runtime/metrics/secure/der.ts';
import { selfSignedCertificate } from '../../src/runtime/metrics/secure/self-signed.ts';

describe('DER', () => {
  test('object identifiers encode as X.690 says (first two arcs joined, base 128)', () => {
    assert.equal(oid('2.5.29.17').toString('hex'), '0603551d11');
    assert.equal(oid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
  });

  test('lengths of 128 and more use the long form', () => {
    assert.equal(tlv(0x04, Buffer.alloc(127)).subarray(0, 2).toString('hex'), '047f');
    assert.equal(tlv(0x04, Buffer.alloc(128)).subarray(0, 3).toString('hex'), '048180');
    assert.equal(tlv(0x04, Buffer.alloc(300)).subarray(0, 4).toString('hex'), '0482012c');
  });

  test('integers are minimal and positive', () => {
    assert.equal(unsignedInteger(Buffer.from([0, 0, 5])).toString('hex'), '020105');
    assert.equal(unsignedInteger(Buffer.from([0x80])).toString('hex'), '02020080');
  });

  test('times before 2050 are UTCTime, from 2050 GeneralizedTime', () => {
    assert.equal(time(new Date('2026-12-01T10:20:30Z')).toString('latin1').slice(2), '261201102030Z');
    assert.equal(time(new Date('2026-12-01T10:20:30Z'))[0], 0x17);
    assert.equal(time(new Date('2051-01-02T03:04:05Z')).toString('latin1').slice(2), '20510102030405Z');
    assert.equal(time(new Date('2051-01-02T03:04:05Z'))[0], 0x18);
  });
});

describe('selfSignedCertificate', () => {
  test('parses, is signed by its own key, matches the private key, and is not a CA', () => {
    const pair = selfSignedCertificate();
    const cert = new X509Certificate(pair.cert);
    assert.equal(cert.subject, 'CN=localhost');
    assert.equal(cert.issuer, 'CN=localhost');
    assert.ok(cert.verify(cert.publicKey), 'signature verifies with its own key');
    assert.ok(cert.checkPrivateKey(createPrivateKey(pair.key)));
    assert.equal(cert.ca, false);
    assert.equal(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), true, 'serverAuth');
  });

  test('is valid for the hosts asked (DNS names, IPv4, IPv6) and for a year by default', () => {
    const now = new Date('2026-12-01T00:00:00Z');
    const pair = selfSignedCertificate({ hosts: ['metrics.ops.svc', '10.1.2.3', 'fd00::1:2'], now });
    const cert = new X509Certificate(pair.cert);
    assert.equal(cert.checkHost('metrics.ops.svc'), 'metrics.ops.svc');
    assert.equal(cert.checkHost('localhost'), undefined);
    assert.equal(cert.checkIP('10.1.2.3'), '10.1.2.3');
    assert.equal(cert.checkIP('fd00:0:0:0:0:0:1:2'), 'fd00:0:0:0:0:0:1:2');
    const days = (new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / 86_400_000;
    assert.equal(Math.round(days), 365);
    assert.ok(new Date(cert.validFrom) <= now, 'valid from a little before now (clock skew)');
    assert.equal(pair.notAfter.getTime(), new Date(cert.validTo).getTime());
  });

  test('two certificates have different keys and serial numbers', () => {
    const a = new X509Certificate(selfSignedCertificate().cert);
    const b = new X509Certificate(selfSignedCertificate().cert);
    assert.notEqual(a.serialNumber, b.serialNumber);
    assert.notEqual(a.fingerprint256, b.fingerprint256);
  });

  test('a TLS client that trusts it completes a handshake for localhost; one that does not, fails', async () => {
    const pair = selfSignedCertificate();
    const server = createServer({ cert: pair.cert, key: pair.key }, (socket) => socket.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const talk = (ca?: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
          let data = '';
          socket.on('data', (d) => {
            data += d;
          });
          socket.on('end', () => resolve(data));
        });
        socket.on('error', reject);
      });
    try {
      assert.equal(await talk(pair.cert), 'hello');
      await assert.rejects(talk(), /self-signed certificate/);
    } finally {
      server.close();
    }
  });
});
