/**
 * Just enough ASN.1 DER encoding to write one X.509 certificate (self-signed.ts): node:crypto signs
 * and parses certificates but cannot build one, and the libraries that can either pull in a global
 * reflection polyfill (@peculiar/x509 through tsyringe) or a second PKI stack (selfsigned). Only
 * encoding lives here; every byte it writes is checked by node's own parser in the tests.
 */

/** One DER element: tag, definite length, contents. */
export function tlv(tag: number, contents: Uint8Array): Buffer {
  const n = contents.length;
  let length: number[];
  if (n < 0x80) length = [n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = [0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from([tag, ...length]), contents]);
}

export const sequence = (...items: Uint8Array[]) => tlv(0x30, Buffer.concat(items));
export const set = (...items: Uint8Array[]) => tlv(0x31, Buffer.concat(items));
export const octetString = (bytes: Uint8Array) => tlv(0x04, bytes);
export const utf8String = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
export const boolean = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
/** A BIT STRING of whole bytes (no unused bits), as signatures and keys are. */
export const bitString = (bytes: Uint8Array) => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
/** [n] EXPLICIT: a constructed context-specific wrapper around one element. */
export const explicit = (n: number, inner: Uint8Array) => tlv(0xa0 | n, inner);
/** [n] IMPLICIT for a primitive type: the contents with the context tag in place of the type's. */
export const implicit = (n: number, contents: Uint8Array) => tlv(0x80 | n, contents);

/** A non-negative INTEGER from big-endian bytes (a leading 0 is added when the top bit is set). */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = Buffer.from(bytes.subarray(start));
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export const smallInteger = (n: number) => unsignedInteger(Buffer.from([n]));

/** An OBJECT IDENTIFIER from its dotted form ("2.5.29.17"). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const out = [40 * first + second];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f));
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime after (RFC 5280 section 4.1.2.5). */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-12-01T10:20:30.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ''); // 20261201102030
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}
