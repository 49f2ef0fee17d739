/**
 * Reads the API server's protobuf answers: a list page, and the Status of a failed request.
 *
 * Every answer is the 4 bytes "k8s\0", then a runtime.Unknown: {typeMeta = 1, raw = 2 (the object's
 * own message), contentEncoding = 3, contentType = 4}. A list's message is {metadata = 1 (ListMeta),
 * items = 2 (one per object)}.
 *
 * A page arrives as socket chunks. It is read where it lies: an item inside one chunk is decoded
 * from it, and only an item cut between two chunks is copied (a few kilobytes). Joining the page
 * into one buffer of megabytes would be a malloc of that size, which raises glibc's mmap threshold
 * for good (see readBody in kube-client.ts).
 */

import type { StatusBody } from '../errors.ts';
import type { ListSchema } from './builtin-messages.ts';
import { decodeMessage, type Json, type Message } from './schema.ts';
import { ProtobufUnsupported, Reader, wireBytes } from './wire.ts';

export const protobufContentType = 'application/vnd.kubernetes.protobuf';
const magic = [0x6b, 0x38, 0x73, 0x00];

/** Sequential reads over a run of chunks, copying only what is cut between two of them. */
class ChunkReader {
  readonly #chunks: Buffer[];
  #chunk = 0;
  #pos = 0;
  /** Bytes read so far. */
  offset = 0;

  constructor(chunks: Buffer[]) {
    this.#chunks = chunks;
  }

  get done(): boolean {
    while (this.#chunk < this.#chunks.length && this.#pos >= (this.#chunks[this.#chunk] as Buffer).length) {
      this.#chunk++;
      this.#pos = 0;
    }
    return this.#chunk >= this.#chunks.length;
  }

  byte(): number {
    if (this.done) throw new ProtobufUnsupported('answer ends early');
    this.offset++;
    return (this.#chunks[this.#chunk] as Buffer)[this.#pos++] as number;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    throw new ProtobufUnsupported('varint too long for a length');
  }

  /** The next `n` bytes as one Reader: a view when they lie in one chunk, else a copy. */
  take(n: number): Reader {
    if (n === 0) return new Reader(Buffer.alloc(0));
    this.done; // step past an exhausted chunk
    const chunk = this.#chunks[this.#chunk];
    if (chunk && chunk.length - this.#pos >= n) {
      const reader = new Reader(chunk, this.#pos, this.#pos + n);
      this.#pos += n;
      this.offset += n;
      return reader;
    }
    const copy = Buffer.allocUnsafe(n);
    for (let at = 0; at < n; ) {
      if (this.done) throw new ProtobufUnsupported('answer ends early');
      const from = this.#chunks[this.#chunk] as Buffer;
      const count = Math.min(n - at, from.length - this.#pos);
      from.copy(copy, at, this.#pos, this.#pos + count);
      at += count;
      this.#pos += count;
      this.offset += count;
    }
    return new Reader(copy);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === wireBytes) this.take(this.varint());
    else throw new ProtobufUnsupported(`wire type ${wire} in an envelope`);
  }
}

/** Steps past "k8s\0" and the Unknown's fields up to `raw`; returns raw's length. */
function openEnvelope(r: ChunkReader): number {
  for (const m of magic)
    if (r.byte() !== m) throw new ProtobufUnsupported('not a Kubernetes protobuf answer');
  while (!r.done) {
    const key = r.varint();
    if (key === (2 << 3) + wireBytes) return r.varint();
    r.skip(key & 7);
  }
  throw new ProtobufUnsupported('answer without an object');
}

/** One page of a list, its items already transformed, whichever encoding the server answered in. */
export interface ListPage<R> {
  items: R[];
  resourceVersion: string;
  continue: string | undefined;
}

/** One list page, its items decoded by `schema` and passed through `transform` one by one. */
export function decodeListPage<R>(
  chunks: Buffer[],
  schema: ListSchema,
  transform: (item: Json) => R,
): ListPage<R> {
  const r = new ChunkReader(chunks);
  const end = openEnvelope(r) + r.offset;
  const items: R[] = [];
  let meta: Json = {};
  while (r.offset < end) {
    const key = r.varint();
    if (key === (1 << 3) + wireBytes) meta = decodeMessage(r.take(r.varint()), schema.metadata);
    else if (key === (2 << 3) + wireBytes)
      items.push(transform(decodeMessage(r.take(r.varint()), schema.item)));
    else r.skip(key & 7);
  }
  return {
    items,
    resourceVersion: (meta.resourceVersion as string | undefined) ?? '',
    continue: (meta.continue as string | undefined) || undefined,
  };
}

const statusDetails: Message = {
  open: true,
  fields: {
    1: { name: 'name', type: 'string' },
    3: { name: 'kind', type: 'string' },
    4: {
      name: 'causes',
      list: true,
      type: {
        open: true,
        fields: {
          1: { name: 'reason', type: 'string' },
          2: { name: 'message', type: 'string' },
          3: { name: 'field', type: 'string' },
        },
      },
    },
    5: { name: 'retryAfterSeconds', type: 'int' },
  },
};

/** metav1.Status: {status = 2, message = 3, reason = 4, details = 5, code = 6}. */
const status: Message = {
  open: true,
  fields: {
    3: { name: 'message', type: 'string' },
    4: { name: 'reason', type: 'string' },
    5: { name: 'details', type: statusDetails },
    6: { name: 'code', type: 'int' },
  },
};

/** The Status of a failed request answered in protobuf; undefined when it cannot be read. */
export function decodeStatus(chunks: Buffer[]): StatusBody | undefined {
  try {
    const r = new ChunkReader(chunks);
    return { kind: 'Status', ...decodeMessage(r.take(openEnvelope(r)), status) } as StatusBody;
  } catch {
    return undefined;
  }
}
