/**
 * One incremental checksum per S3 algorithm (docs/operations.md#compute-object-checksum), fed chunk by chunk so an
 * object is never held in memory, and the value as S3 writes it: base64 of the big-endian digest bytes.
 * COMPOSITE = the same algorithm over the concatenated raw part digests, base64 + `-<parts>`.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { crc32c, crc64nvme } from './crc.ts';

/** The algorithms this engine computes (the model's XXHASH* ones are not among them). */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'MD5', 'SHA1', 'SHA256', 'SHA512'] as const;
export type ChecksumAlgorithmName = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Digester {
  update(chunk: Uint8Array): void;
  /** The raw digest bytes (big-endian for the CRCs). Call once. */
  digest(): Buffer;
}

const HASHES = { MD5: 'md5', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' } as const;

export function createDigester(algorithm: ChecksumAlgorithmName): Digester {
  switch (algorithm) {
    case 'CRC32':
      return crc32Digester((data, crc) => crc32(data, crc));
    case 'CRC32C':
      return crc32Digester(crc32c);
    case 'CRC64NVME': {
      let crc = 0n;
      return {
        update: (chunk) => void (crc = crc64nvme(chunk, crc)),
        digest: () => {
          const out = Buffer.alloc(8);
          out.writeBigUInt64BE(crc);
          return out;
        },
      };
    }
    default: {
      const hash = createHash(HASHES[algorithm]);
      return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest() };
    }
  }
}

function crc32Digester(fn: (data: Uint8Array, crc: number) => number): Digester {
  let crc = 0;
  return {
    update: (chunk) => void (crc = fn(chunk, crc)),
    digest: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc >>> 0);
      return out;
    },
  };
}

/** Checksum of a whole byte array, base64 (tests and small inputs). */
export function checksumOf(algorithm: ChecksumAlgorithmName, data: Uint8Array): string {
  const d = createDigester(algorithm);
  d.update(data);
  return d.digest().toString('base64');
}

/** S3's composite form: the checksum of the part checksums' raw bytes, then `-<number of parts>`. */
export function compositeOf(algorithm: ChecksumAlgorithmName, partDigests: readonly Uint8Array[]): string {
  const d = createDigester(algorithm);
  for (const p of partDigests) d.update(p);
  return `${d.digest().toString('base64')}-${partDigests.length}`;
}
