/**
 * A minimal in-memory ObjectStore for unit tests: put() collects the body's bytes (consuming an
 * async body the way a real upload does), open() serves them back. Records every put in order.
 */
import { createHash } from 'node:crypto';
import { ObjectStoreError } from '../../src/storage/object-store.ts';
import type { ObjectRef, ObjectStore, OpenedObject, PutOptions } from '../../src/storage/object-store.ts';

export interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly etag: string;
  /** How many chunks an async body arrived in (1 for a string or bytes). */
  readonly chunks: number;
}

export interface FakeObjectStore extends ObjectStore {
  /** Every completed put, in order. */
  readonly puts: StoredObject[];
  get(bucket: string, key: string): StoredObject | undefined;
  text(bucket: string, key: string): string;
  /** Makes the next put whose key matches fail with this error. */
  failPut(match: (key: string) => boolean, error: Error): void;
}

export function createFakeObjectStore(): FakeObjectStore {
  const objects = new Map<string, StoredObject>();
  const puts: StoredObject[] = [];
  const failures: { match: (key: string) => boolean; error: Error }[] = [];
  const id = (bucket: string, key: string): string => `${bucket}\u0000${key}`;

  return {
    puts,
    get: (bucket, key) => objects.get(id(bucket, key)),
    text(bucket, key) {
      const o = objects.get(id(bucket, key));
      if (o === undefined) throw new Error(`no object ${bucket}/${key}`);
      return o.body.toString('utf8');
    },
    failPut(match, error) {
      failures.push({ match, error });
    },

    async put(ref: ObjectRef, body: AsyncIterable<Uint8Array> | Uint8Array | string, options?: PutOptions) {
      const parts: Buffer[] = [];
      if (typeof body === 'string') parts.push(Buffer.from(body, 'utf8'));
      else if (body instanceof Uint8Array) parts.push(Buffer.from(body));
      else {
        for await (const chunk of body) {
          options?.signal?.throwIfAborted();
          parts.push(Buffer.from(chunk));
        }
      }
      const failure = failures.findIndex((f) => f.match(ref.key));
      if (failure !== -1) {
        const [f] = failures.splice(failure, 1);
        if (f !== undefined) throw f.error;
      }
      const bytes = Buffer.concat(parts);
      const stored: StoredObject = {
        bucket: ref.bucket,
        key: ref.key,
        body: bytes,
        contentType: options?.contentType,
        etag: createHash('md5').update(bytes).digest('hex'),
        chunks: parts.length,
      };
      objects.set(id(ref.bucket, ref.key), stored);
      puts.push(stored);
      return { etag: stored.etag };
    },

    async open(ref: ObjectRef): Promise<OpenedObject> {
      const o = objects.get(id(ref.bucket, ref.key));
      if (o === undefined) throw new ObjectStoreError(404, 'NoSuchKey', `The specified key does not exist: ${ref.key}`);
      const body = o.body;
      return {
        etag: o.etag,
        size: body.length,
        body: (async function* () {
          yield new Uint8Array(body);
        })(),
      };
    },
  };
}
