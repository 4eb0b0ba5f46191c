/**
 * S3ComputeObjectChecksum (docs/operations.md#compute-object-checksum): reads each object (the manifest's version, or
 * the current one) with a streamed GetObject (through the per-task client, storage/lean-s3/task-s3.ts), feeding
 * every chunk to the digester as it arrives (memory stays constant whatever the object size), and reports the value
 * in the task's ResultMessage as compact JSON (docs/operations.md#compute-object-checksum):
 *   {"checksumAlgorithm":"CRC32C","checksumType":"FULL_OBJECT","checksum":"<base64>","size":<bytes>}
 *
 * Defaults: CRC64NVME / FULL_OBJECT. CRC64NVME + COMPOSITE is rejected at CreateJob, and so are
 * the model's XXHASH* algorithms (not computed by this version).
 *
 * COMPOSITE: HeadObject with partNumber=1 tells the number of parts (PartsCount); each part is
 * then read with GetObject partNumber=n and the result is the checksum of the part checksums,
 * `<base64>-<parts>`, as S3 writes it. An object stored in one part has no composite form: its
 * full-object checksum is reported with checksumType FULL_OBJECT (as S3 itself reports such
 * objects). A store that ignores partNumber (Ceph RGW 16 answers with the whole object and no
 * PartsCount) while the ETag says the object has parts cannot give the part boundaries: the task
 * fails with 501 NotImplemented, permanently.
 *
 * A body cut mid-object (the connection reset: ECONNRESET) or shorter than its Content-Length is a transient
 * failure; the engine retries the task. Any way the read ends (done, failed, the task's signal), the body is read to
 * its end or destroyed, so no connection is left half-read.
 */
import { failed, succeeded, type TaskEntry } from '../domain/task.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import { CHECKSUM_ALGORITHMS, compositeOf, createDigester, type ChecksumAlgorithmName } from './checksums/digester.ts';
import { fieldsOf, invalid, onVersion, optEnum } from './member-fields.ts';
import type { AttemptOutcome, OperationContext, OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf, withBytes } from './task-outcomes.ts';

export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

export interface ComputeChecksumConfig {
  readonly algorithm: ChecksumAlgorithmName;
  readonly type: ChecksumType;
}

/** What the report's ResultMessage carries (as JSON, keys in this order). */
export interface ChecksumResult {
  readonly checksumAlgorithm: ChecksumAlgorithmName;
  readonly checksumType: ChecksumType;
  readonly checksum: string;
  readonly size: number;
}

const F = 'S3ComputeObjectChecksum';
const MODEL_ALGORITHMS = [...CHECKSUM_ALGORITHMS, 'XXHASH64', 'XXHASH3', 'XXHASH128'] as const;

export const s3ComputeObjectChecksum: OperationHandler<ComputeChecksumConfig> = {
  name: 'S3ComputeObjectChecksum',

  parse(member: unknown): ComputeChecksumConfig {
    const m = fieldsOf(member, F, ['ChecksumAlgorithm', 'ChecksumType']);
    const algorithm = optEnum(m.ChecksumAlgorithm, MODEL_ALGORITHMS, `${F}.ChecksumAlgorithm`) ?? 'CRC64NVME';
    if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw invalid(
        `${F}.ChecksumAlgorithm ${algorithm} is not supported by this s3batch version (supported: ${CHECKSUM_ALGORITHMS.join(', ')})`,
      );
    }
    const type = optEnum(m.ChecksumType, ['FULL_OBJECT', 'COMPOSITE'] as const, `${F}.ChecksumType`) ?? 'FULL_OBJECT';
    if (algorithm === 'CRC64NVME' && type === 'COMPOSITE') {
      throw invalid(`${F}.ChecksumType COMPOSITE is not available for CRC64NVME (it supports only FULL_OBJECT)`);
    }
    return Object.freeze({ algorithm: algorithm as ChecksumAlgorithmName, type });
  },

  describe(config, entry) {
    return `S3ComputeObjectChecksum: read the object and compute its ${config.algorithm} ${config.type} checksum${onVersion(entry)}`;
  },

  async attempt(config, entry, ctx, signal) {
    try {
      return config.type === 'FULL_OBJECT'
        ? await fullObject(config, entry, ctx, signal)
        : await composite(config, entry, ctx, signal);
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return failureOutcome(entry, err);
    }
  },
};

async function fullObject(
  config: ComputeChecksumConfig,
  entry: TaskEntry,
  ctx: OperationContext,
  signal: AbortSignal,
): Promise<AttemptOutcome> {
  const read = await digestOf(config.algorithm, entry, undefined, ctx, signal);
  if ('outcome' in read) return read.outcome;
  return report(entry, {
    checksumAlgorithm: config.algorithm,
    checksumType: 'FULL_OBJECT',
    checksum: read.digest.toString('base64'),
    size: read.size,
  });
}

async function composite(
  config: ComputeChecksumConfig,
  entry: TaskEntry,
  ctx: OperationContext,
  signal: AbortSignal,
): Promise<AttemptOutcome> {
  const head = await taskS3Of(ctx.s3).headObject(
    { Bucket: entry.bucket, Key: entry.key, VersionId: versionIdOf(entry), PartNumber: 1 },
    signal,
  );
  const parts = head.PartsCount ?? 1;
  const etagParts = /-(\d+)"?$/.exec(head.ETag ?? '')?.[1];
  if (parts <= 1 && etagParts !== undefined && Number(etagParts) > 1) {
    const message = `The store does not expose the part boundaries of this ${etagParts}-part object (GetObject/HeadObject ignore partNumber), so its COMPOSITE checksum cannot be computed; use ChecksumType FULL_OBJECT (Service: Amazon S3; Status Code: 501; Error Code: NotImplemented)`;
    return { result: failed(entry, 501, 'NotImplemented', message), retryable: false };
  }
  if (parts <= 1) return fullObject(config, entry, ctx, signal);
  const digests: Buffer[] = [];
  let size = 0;
  for (let part = 1; part <= parts; part++) {
    const read = await digestOf(config.algorithm, entry, part, ctx, signal);
    if ('outcome' in read) return read.outcome;
    digests.push(read.digest);
    size += read.size;
  }
  return report(entry, {
    checksumAlgorithm: config.algorithm,
    checksumType: 'COMPOSITE',
    checksum: compositeOf(config.algorithm, digests),
    size,
  });
}

/** Streams the object (or one part of it) through a digester; never holds more than one chunk. */
async function digestOf(
  algorithm: ChecksumAlgorithmName,
  entry: TaskEntry,
  partNumber: number | undefined,
  ctx: OperationContext,
  signal: AbortSignal,
): Promise<{ digest: Buffer; size: number } | { outcome: AttemptOutcome }> {
  const res = await taskS3Of(ctx.s3).getObject(
    { Bucket: entry.bucket, Key: entry.key, VersionId: versionIdOf(entry), PartNumber: partNumber },
    signal,
  );
  const body = res.Body as unknown;
  const digester = createDigester(algorithm);
  let size = 0;
  if (body !== undefined && body !== null) {
    if (typeof body !== 'object' || !(Symbol.asyncIterator in body)) {
      return {
        outcome: {
          result: failed(
            entry,
            500,
            'InternalError',
            'GetObject answered without a readable body (Service: Amazon S3; Error Code: InternalError)',
          ),
          retryable: true,
        },
      };
    }
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      digester.update(chunk);
      size += chunk.length;
    }
  }
  if (res.ContentLength !== undefined && size !== res.ContentLength) {
    const message = `GetObject body ended after ${size} of ${res.ContentLength} bytes (Service: Amazon S3; Error Code: IncompleteBody)`;
    return { outcome: { result: failed(entry, 0, 'IncompleteBody', message), retryable: true } };
  }
  return { digest: digester.digest(), size };
}

/** The result row; it carries the bytes read, which the job sums into its bytes processed. */
function report(entry: TaskEntry, result: ChecksumResult): AttemptOutcome {
  return { result: withBytes(succeeded(entry, JSON.stringify(result)), result.size), retryable: false };
}
