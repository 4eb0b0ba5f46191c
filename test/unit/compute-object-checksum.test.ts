// S3ComputeObjectChecksum's COMPOSITE path over a store that DOES expose part boundaries, and its
// short-body check. Neither Ceph RGW 16 nor s3rver answers partNumber (both return the whole
// object), so nothing on this machine can serve parts: a stub S3 client stands in for such a
// store here (the Ceph behaviour is covered in test/integration/operations-more.test.ts).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { TaskEntry } from '../../src/domain/task.ts';
import type { OperationContext } from '../../src/operations/operation.ts';
import { s3ComputeObjectChecksum } from '../../src/operations/s3-compute-object-checksum.ts';

const never = new AbortController().signal;
const entry: TaskEntry = { line: 1, bucket: 'b', key: 'k', rawKey: 'k', versionId: 'v7' };

interface Sent {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** A store whose object is made of `parts`; GetObject honours PartNumber, HeadObject reports PartsCount. */
function partsStore(parts: Buffer[], opts: { shortBody?: boolean } = {}): { ctx: OperationContext; sent: Sent[] } {
  const sent: Sent[] = [];
  const whole = Buffer.concat(parts);
  const s3 = {
    send: async (cmd: { input: Record<string, unknown> }) => {
      sent.push({ command: cmd.constructor.name, input: cmd.input });
      const n = cmd.input.PartNumber as number | undefined;
      if (cmd instanceof HeadObjectCommand) {
        return {
          ContentLength: n === undefined ? whole.length : parts[n - 1]!.length,
          PartsCount: parts.length,
          ETag: `"abc-${parts.length}"`,
        };
      }
      if (cmd instanceof GetObjectCommand) {
        const body = n === undefined ? whole : parts[n - 1]!;
        const served = opts.shortBody ? body.subarray(0, body.length - 1) : body;
        // a stream in small chunks, as the SDK delivers it
        const chunks = Array.from({ length: Math.ceil(served.length / 3) }, (_, i) =>
          served.subarray(i * 3, i * 3 + 3),
        );
        return { Body: Readable.from(chunks), ContentLength: body.length, PartsCount: parts.length };
      }
      throw new Error(`unexpected ${cmd.constructor.name}`);
    },
  } as unknown as S3Client;
  return { ctx: { s3, multipartCopyThresholdBytes: 5 * 1024 ** 3, multipartCopyPartBytes: 5 * 1024 ** 2 }, sent };
}

describe('S3ComputeObjectChecksum on a store with part boundaries', () => {
  it("COMPOSITE: the checksum of the part checksums, -<parts>, every request for the row's version", async () => {
    const parts = [Buffer.from('first part bytes'), Buffer.from('second'), Buffer.from('3rd')];
    const { ctx, sent } = partsStore(parts);
    const config = s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' });
    const out = await s3ComputeObjectChecksum.attempt(config, entry, ctx, never);
    const raw = parts.map((p) => createHash('sha256').update(p).digest());
    const expected = `${createHash('sha256').update(Buffer.concat(raw)).digest('base64')}-3`;
    expect(out).toEqual({
      result: expect.objectContaining({ status: 'succeeded', httpStatus: 200, versionId: 'v7' }),
      retryable: false,
    });
    expect(JSON.parse(out.result.message)).toEqual({
      checksumAlgorithm: 'SHA256',
      checksumType: 'COMPOSITE',
      checksum: expected,
      size: 25,
    });
    expect(sent.map((s) => [s.command, s.input.PartNumber, s.input.VersionId])).toEqual([
      ['HeadObjectCommand', 1, 'v7'],
      ['GetObjectCommand', 1, 'v7'],
      ['GetObjectCommand', 2, 'v7'],
      ['GetObjectCommand', 3, 'v7'],
    ]);
  });

  it('FULL_OBJECT reads the whole object once, without PartNumber', async () => {
    const { ctx, sent } = partsStore([Buffer.from('abc'), Buffer.from('def')]);
    const out = await s3ComputeObjectChecksum.attempt(
      s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: 'MD5' }),
      entry,
      ctx,
      never,
    );
    expect(JSON.parse(out.result.message)).toEqual({
      checksumAlgorithm: 'MD5',
      checksumType: 'FULL_OBJECT',
      checksum: createHash('md5').update('abcdef').digest('base64'),
      size: 6,
    });
    expect(sent.map((s) => [s.command, s.input.PartNumber])).toEqual([['GetObjectCommand', undefined]]);
  });

  it('a body shorter than its Content-Length is a transient IncompleteBody failure', async () => {
    const { ctx } = partsStore([Buffer.from('0123456789')], { shortBody: true });
    const out = await s3ComputeObjectChecksum.attempt(s3ComputeObjectChecksum.parse({}), entry, ctx, never);
    expect(out.result).toMatchObject({
      status: 'failed',
      errorCode: 'IncompleteBody',
      message: expect.stringMatching(/^GetObject body ended after 9 of 10 bytes/),
    });
    expect(out.retryable).toBe(true);
  });
});
