/**
 * Protocol Buffers wire format, read-only: just what the API server's protobuf answers need. A
 * message is a run of fields, each a key (field number << 3 | wire type) then a value: a varint
 * (0), 8 bytes (1), a length-prefixed run of bytes (2: strings, bytes, nested messages) or 4 bytes
 * (5). Groups (3, 4) are not used by Kubernetes.
 *
 * https://protobuf.dev/programming-guides/encoding/
 */

export const wireVarint = 0;
export const wireFixed64 = 1;
export const wireBytes = 2;
export const wireFixed32 = 5;

/** The answer cannot be read here (a malformed message, or a field the schema does not know). */
export class ProtobufUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufUnsupported';
  }
}

/** Reads one message from `buf[pos, end)`. */
export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /**
   * An unsigned varint as a number, exact up to 2^53: Kubernetes' integers hold counts, sizes,
   * seconds and ids, far below that.
   */
  varint(): number {
    const buf = this.buf;
    const start = this.pos;
    // Up to 28 bits with integer operations, so the result is a small integer V8 stores unboxed: a
    // value computed with floating-point multiplication would make every numeric field of a cached
    // object a boxed number (16 more bytes each).
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.end) throw new ProtobufUnsupported('varint past the end of the message');
      const b = buf[this.pos++] as number;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) return value;
    }
    let scale = 2 ** 28;
    for (let i = 4; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufUnsupported('varint past the end of the message');
      const b = buf[this.pos++] as number;
      if (i < 7) {
        value += (b & 0x7f) * scale;
        scale *= 0x80;
        if (b < 0x80) return value;
      } else if (b < 0x80) {
        return this.#wide(start, false);
      }
    }
    throw new ProtobufUnsupported('varint longer than 10 bytes');
  }

  /** A signed 64-bit varint (int32 and int64 fields: a negative value takes ten bytes). */
  int(): number {
    const start = this.pos;
    const value = this.varint();
    return this.pos - start === 10 ? this.#wide(start, true) : value;
  }

  /** The length of a length-delimited value, checked against the message's end. */
  length(): number {
    const n = this.varint();
    if (n > this.end - this.pos) throw new ProtobufUnsupported('length past the end of the message');
    return n;
  }

  string(): string {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    return this.buf.toString('utf8', start, start + n);
  }

  /** A nested message's bounds: [start, end). */
  sub(): Reader {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    return new Reader(this.buf, start, start + n);
  }

  /** Skips a value of `wireType`. */
  skip(wireType: number): void {
    if (wireType === wireVarint) this.varint();
    else if (wireType === wireBytes) {
      // Not `this.pos += this.length()`: that adds to the position before the length was read.
      const n = this.length();
      this.pos += n;
    } else if (wireType === wireFixed64) this.pos += 8;
    else if (wireType === wireFixed32) this.pos += 4;
    else throw new ProtobufUnsupported(`wire type ${wireType}`);
    if (this.pos > this.end) throw new ProtobufUnsupported('value past the end of the message');
  }

  /** A varint of more than 49 bits, read exactly (as a two's-complement int64 when `signed`). */
  #wide(start: number, signed: boolean): number {
    let big = 0n;
    for (let i = this.pos - 1; i >= start; i--) big = (big << 7n) | BigInt((this.buf[i] as number) & 0x7f);
    return Number(signed ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big));
  }
}
