// The ACL, restore, legal hold, retention, checksum and encryption handlers against a REAL Ceph
// RGW (started once by the integration global setup). Each test makes its own buckets; the
// assertions describe what Ceph RGW 16 really does, read back with the AWS SDK.
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  CreateBucketCommand,
  GetObjectAclCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type ChecksumAlgorithm,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEntry } from '../../src/domain/task.ts';
import type { OperationContext } from '../../src/operations/operation.ts';
import { s3ComputeObjectChecksum } from '../../src/operations/s3-compute-object-checksum.ts';
import { s3InitiateRestoreObject } from '../../src/operations/s3-initiate-restore-object.ts';
import { s3PutObjectAcl } from '../../src/operations/s3-put-object-acl.ts';
import { s3PutObjectLegalHold } from '../../src/operations/s3-put-object-legal-hold.ts';
import { s3PutObjectRetention } from '../../src/operations/s3-put-object-retention.ts';
import { s3UpdateObjectEncryption } from '../../src/operations/s3-update-object-encryption.ts';
import { createS3Client } from '../../src/storage/s3-clients.ts';
import { requireCeph, type S3ServerInfo } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, uniqueBucketName } from '../helpers/s3-servers.ts';

const MiB = 1024 * 1024;
const never = new AbortController().signal;
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTH_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function entryOf(bucket: string, key: string, versionId?: string): TaskEntry {
  return { line: 1, bucket, key, rawKey: encodeURIComponent(key).replace(/%2F/g, '/'), versionId };
}

function inMinutes(n: number): string {
  return new Date(Date.now() + n * 60_000).toISOString();
}

/** Grants as comparable strings: `<type>:<id|uri|email>:<permission>`, sorted. */
function grantsOf(acl: {
  Grants?: { Grantee?: { Type?: string; ID?: string; URI?: string; EmailAddress?: string }; Permission?: string }[];
}): string[] {
  return (acl.Grants ?? [])
    .map((g) => `${g.Grantee?.Type}:${g.Grantee?.ID ?? g.Grantee?.URI ?? g.Grantee?.EmailAddress}:${g.Permission}`)
    .sort();
}

describe('more operations on Ceph RGW', () => {
  let ceph: S3ServerInfo;
  let admin: S3Client;
  let s3: S3Client;
  let ctx: OperationContext;
  let plain: string;
  let versioned: string;
  let locked: string;
  let owner: string;

  async function put(bucket: string, key: string, body: string | Uint8Array = key): Promise<string | undefined> {
    return (await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId;
  }

  beforeAll(async () => {
    ceph = requireCeph();
    admin = makeS3Client(ceph);
    s3 = createS3Client({ ...ceph, forcePathStyle: true });
    ctx = { s3, multipartCopyThresholdBytes: 5 * 1024 * MiB, multipartCopyPartBytes: 5 * MiB };
    plain = await createTestBucket(admin, 'more-plain');
    versioned = await createTestBucket(admin, 'more-versioned');
    await admin.send(
      new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    locked = uniqueBucketName('more-locked');
    await admin.send(new CreateBucketCommand({ Bucket: locked, ObjectLockEnabledForBucket: true }));
    await put(plain, 'owner-probe');
    owner = (await admin.send(new GetObjectAclCommand({ Bucket: plain, Key: 'owner-probe' }))).Owner?.ID ?? '';
    expect(owner).not.toBe('');
  });

  afterAll(() => {
    admin?.destroy();
    s3?.destroy();
  });

  describe('S3PutObjectAcl', () => {
    it('canned public-read, then private: GetObjectAcl shows exactly the canned grants', async () => {
      await put(plain, 'acl/canned.txt');
      const publicRead = s3PutObjectAcl.parse({ AccessControlPolicy: { CannedAccessControlList: 'public-read' } });
      const out = await s3PutObjectAcl.attempt(publicRead, entryOf(plain, 'acl/canned.txt'), ctx, never);
      expect(out).toEqual({
        result: expect.objectContaining({ status: 'succeeded', httpStatus: 200, errorCode: '', message: 'Successful' }),
        retryable: false,
      });
      expect(grantsOf(await admin.send(new GetObjectAclCommand({ Bucket: plain, Key: 'acl/canned.txt' })))).toEqual([
        `CanonicalUser:${owner}:FULL_CONTROL`,
        `Group:${ALL_USERS}:READ`,
      ]);

      const priv = s3PutObjectAcl.parse({ AccessControlPolicy: { CannedAccessControlList: 'private' } });
      expect((await s3PutObjectAcl.attempt(priv, entryOf(plain, 'acl/canned.txt'), ctx, never)).result.status).toBe(
        'succeeded',
      );
      expect(grantsOf(await admin.send(new GetObjectAclCommand({ Bucket: plain, Key: 'acl/canned.txt' })))).toEqual([
        `CanonicalUser:${owner}:FULL_CONTROL`,
      ]);
    });

    it('explicit grants (id, uri) replace the whole ACL', async () => {
      await put(plain, 'acl/grants.txt');
      const config = s3PutObjectAcl.parse({
        AccessControlPolicy: {
          AccessControlList: {
            Owner: { ID: owner },
            Grants: [
              { Grantee: { TypeIdentifier: 'id', Identifier: owner }, Permission: 'FULL_CONTROL' },
              { Grantee: { TypeIdentifier: 'uri', Identifier: ALL_USERS }, Permission: 'READ' },
              { Grantee: { TypeIdentifier: 'uri', Identifier: AUTH_USERS }, Permission: 'READ_ACP' },
            ],
          },
        },
      });
      expect((await s3PutObjectAcl.attempt(config, entryOf(plain, 'acl/grants.txt'), ctx, never)).result.status).toBe(
        'succeeded',
      );
      expect(grantsOf(await admin.send(new GetObjectAclCommand({ Bucket: plain, Key: 'acl/grants.txt' })))).toEqual([
        `CanonicalUser:${owner}:FULL_CONTROL`,
        `Group:${ALL_USERS}:READ`,
        `Group:${AUTH_USERS}:READ_ACP`,
      ]);
    });

    it('grants the store refuses fail the task with its answer: unknown user id, unknown e-mail, wrong owner', async () => {
      await put(plain, 'acl/refused.txt');
      const unknownUser = s3PutObjectAcl.parse({
        AccessControlPolicy: {
          AccessControlList: {
            Owner: { ID: owner },
            Grants: [{ Grantee: { TypeIdentifier: 'id', Identifier: 'no-such-user' }, Permission: 'READ' }],
          },
        },
      });
      const a = await s3PutObjectAcl.attempt(unknownUser, entryOf(plain, 'acl/refused.txt'), ctx, never);
      expect(a.result).toMatchObject({ status: 'failed', httpStatus: 400, errorCode: 'InvalidArgument' });
      expect(a.result.message).toMatch(
        /^Invalid id \(Service: Amazon S3; Status Code: 400; Error Code: InvalidArgument/,
      );
      expect(a.retryable).toBe(false);

      const unknownEmail = s3PutObjectAcl.parse({
        AccessControlPolicy: {
          AccessControlList: {
            Owner: { ID: owner },
            Grants: [
              { Grantee: { TypeIdentifier: 'emailAddress', Identifier: 'nobody@example.com' }, Permission: 'READ' },
            ],
          },
        },
      });
      const e = await s3PutObjectAcl.attempt(unknownEmail, entryOf(plain, 'acl/refused.txt'), ctx, never);
      expect(e.result).toMatchObject({
        status: 'failed',
        httpStatus: 400,
        errorCode: 'UnresolvableGrantByEmailAddress',
      });
      expect(e.result.message).toMatch(
        /^The e-mail address you provided does not match any account on record\. \(Service: Amazon S3; Status Code: 400/,
      );

      const wrongOwner = s3PutObjectAcl.parse({
        AccessControlPolicy: { AccessControlList: { Owner: { ID: 'someone-else' }, Grants: [] } },
      });
      const b = await s3PutObjectAcl.attempt(wrongOwner, entryOf(plain, 'acl/refused.txt'), ctx, never);
      expect(b.result).toMatchObject({ status: 'failed', httpStatus: 403, errorCode: 'AccessDenied' });
      expect(b.retryable).toBe(false);
      // the ACL is unchanged
      expect(grantsOf(await admin.send(new GetObjectAclCommand({ Bucket: plain, Key: 'acl/refused.txt' })))).toEqual([
        `CanonicalUser:${owner}:FULL_CONTROL`,
      ]);
    });

    it('a row with a VersionId changes that version only', async () => {
      const v1 = await put(versioned, 'acl/v.txt', 'one');
      const v2 = await put(versioned, 'acl/v.txt', 'two');
      expect(v1).toBeTruthy();
      const config = s3PutObjectAcl.parse({ AccessControlPolicy: { CannedAccessControlList: 'public-read' } });
      const out = await s3PutObjectAcl.attempt(config, entryOf(versioned, 'acl/v.txt', v1), ctx, never);
      expect(out.result).toMatchObject({ status: 'succeeded', versionId: v1 });
      expect(
        grantsOf(await admin.send(new GetObjectAclCommand({ Bucket: versioned, Key: 'acl/v.txt', VersionId: v1 }))),
      ).toContain(`Group:${ALL_USERS}:READ`);
      expect(
        grantsOf(await admin.send(new GetObjectAclCommand({ Bucket: versioned, Key: 'acl/v.txt', VersionId: v2 }))),
      ).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`]);
    });

    it('a missing key fails with 404 NoSuchKey', async () => {
      const config = s3PutObjectAcl.parse({ AccessControlPolicy: { CannedAccessControlList: 'private' } });
      const out = await s3PutObjectAcl.attempt(config, entryOf(plain, 'acl/missing.txt'), ctx, never);
      expect(out.result).toMatchObject({ status: 'failed', httpStatus: 404, errorCode: 'NoSuchKey' });
      expect(out.retryable).toBe(false);
    });
  });

  describe('S3PutObjectLegalHold', () => {
    it('ON then OFF on an Object Lock bucket (GetObjectLegalHold)', async () => {
      await put(locked, 'hold/a.txt');
      const on = s3PutObjectLegalHold.parse({ LegalHold: { Status: 'ON' } });
      const off = s3PutObjectLegalHold.parse({ LegalHold: { Status: 'OFF' } });
      expect((await s3PutObjectLegalHold.attempt(on, entryOf(locked, 'hold/a.txt'), ctx, never)).result).toMatchObject({
        status: 'succeeded',
        httpStatus: 200,
        message: 'Successful',
      });
      expect(
        (await admin.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'hold/a.txt' }))).LegalHold?.Status,
      ).toBe('ON');
      expect((await s3PutObjectLegalHold.attempt(off, entryOf(locked, 'hold/a.txt'), ctx, never)).result.status).toBe(
        'succeeded',
      );
      expect(
        (await admin.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'hold/a.txt' }))).LegalHold?.Status,
      ).toBe('OFF');
    });

    it("the row's VersionId: the hold is on that version, not on the current one", async () => {
      const v1 = await put(locked, 'hold/v.txt', 'one');
      const v2 = await put(locked, 'hold/v.txt', 'two');
      const on = s3PutObjectLegalHold.parse({ LegalHold: { Status: 'ON' } });
      expect(
        (await s3PutObjectLegalHold.attempt(on, entryOf(locked, 'hold/v.txt', v1), ctx, never)).result,
      ).toMatchObject({ status: 'succeeded', versionId: v1 });
      expect(
        (await admin.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'hold/v.txt', VersionId: v1 })))
          .LegalHold?.Status,
      ).toBe('ON');
      const current = await admin
        .send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'hold/v.txt', VersionId: v2 }))
        .then(
          (r) => r.LegalHold?.Status ?? 'none',
          (err: { name?: string }) => `error ${err.name}`,
        );
      expect(current).not.toBe('ON');
      const off = s3PutObjectLegalHold.parse({ LegalHold: { Status: 'OFF' } });
      expect(
        (await s3PutObjectLegalHold.attempt(off, entryOf(locked, 'hold/v.txt', v1), ctx, never)).result.status,
      ).toBe('succeeded');
    });

    it("a bucket without Object Lock: the task fails with Ceph's 400 InvalidRequest, not retried", async () => {
      await put(plain, 'hold/nolock.txt');
      const out = await s3PutObjectLegalHold.attempt(
        s3PutObjectLegalHold.parse({ LegalHold: { Status: 'ON' } }),
        entryOf(plain, 'hold/nolock.txt'),
        ctx,
        never,
      );
      expect(out.result).toMatchObject({ status: 'failed', httpStatus: 400, errorCode: 'InvalidRequest' });
      expect(out.result.message).toMatch(
        /^object legal hold can't be set if bucket object lock not enabled \(Service: Amazon S3; Status Code: 400; Error Code: InvalidRequest/,
      );
      expect(out.retryable).toBe(false);
    });
  });

  describe('S3PutObjectRetention', () => {
    it('GOVERNANCE; shortening needs BypassGovernanceRetention (403 AccessDenied without it)', async () => {
      await put(locked, 'ret/gov.txt');
      const later = inMinutes(60);
      const sooner = inMinutes(30);
      const gov = s3PutObjectRetention.parse({ Retention: { Mode: 'GOVERNANCE', RetainUntilDate: later } });
      expect(
        (await s3PutObjectRetention.attempt(gov, entryOf(locked, 'ret/gov.txt'), ctx, never)).result,
      ).toMatchObject({ status: 'succeeded', message: 'Successful' });
      let got = await admin.send(new GetObjectRetentionCommand({ Bucket: locked, Key: 'ret/gov.txt' }));
      expect(got.Retention?.Mode).toBe('GOVERNANCE');
      expect(got.Retention?.RetainUntilDate?.getTime()).toBe(new Date(later).getTime());

      const shorten = s3PutObjectRetention.parse({ Retention: { Mode: 'GOVERNANCE', RetainUntilDate: sooner } });
      const refused = await s3PutObjectRetention.attempt(shorten, entryOf(locked, 'ret/gov.txt'), ctx, never);
      expect(refused.result).toMatchObject({ status: 'failed', httpStatus: 403, errorCode: 'AccessDenied' });
      expect(refused.result.message).toMatch(
        /shortens an existing retention period and governance bypass check failed/,
      );
      expect(refused.retryable).toBe(false);

      const bypass = s3PutObjectRetention.parse({
        Retention: { Mode: 'GOVERNANCE', RetainUntilDate: sooner },
        BypassGovernanceRetention: true,
      });
      expect(
        (await s3PutObjectRetention.attempt(bypass, entryOf(locked, 'ret/gov.txt'), ctx, never)).result.status,
      ).toBe('succeeded');
      got = await admin.send(new GetObjectRetentionCommand({ Bucket: locked, Key: 'ret/gov.txt' }));
      expect(got.Retention?.RetainUntilDate?.getTime()).toBe(new Date(sooner).getTime());

      // An empty Retention (AWS: remove the retention) is refused by Ceph, which wants both fields.
      const remove = s3PutObjectRetention.parse({ Retention: {}, BypassGovernanceRetention: true });
      const removed = await s3PutObjectRetention.attempt(remove, entryOf(locked, 'ret/gov.txt'), ctx, never);
      expect(removed.result).toMatchObject({ status: 'failed', httpStatus: 400, errorCode: 'MalformedXML' });
    });

    it('COMPLIANCE: set, extended, never shortened (403 even with the bypass)', async () => {
      await put(locked, 'ret/comp.txt');
      const first = inMinutes(10);
      const longer = inMinutes(12);
      const comp = s3PutObjectRetention.parse({ Retention: { Mode: 'COMPLIANCE', RetainUntilDate: first } });
      expect(
        (await s3PutObjectRetention.attempt(comp, entryOf(locked, 'ret/comp.txt'), ctx, never)).result.status,
      ).toBe('succeeded');
      const extend = s3PutObjectRetention.parse({ Retention: { Mode: 'COMPLIANCE', RetainUntilDate: longer } });
      expect(
        (await s3PutObjectRetention.attempt(extend, entryOf(locked, 'ret/comp.txt'), ctx, never)).result.status,
      ).toBe('succeeded');
      const got = await admin.send(new GetObjectRetentionCommand({ Bucket: locked, Key: 'ret/comp.txt' }));
      expect(got.Retention).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: new Date(longer) });

      const shorten = s3PutObjectRetention.parse({
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: first },
        BypassGovernanceRetention: true,
      });
      const refused = await s3PutObjectRetention.attempt(shorten, entryOf(locked, 'ret/comp.txt'), ctx, never);
      expect(refused.result).toMatchObject({ status: 'failed', httpStatus: 403, errorCode: 'AccessDenied' });
      expect(refused.retryable).toBe(false);
    });

    it("the row's VersionId: retention on that version only", async () => {
      const v1 = await put(locked, 'ret/v.txt', 'one');
      const v2 = await put(locked, 'ret/v.txt', 'two');
      const until = inMinutes(20);
      const gov = s3PutObjectRetention.parse({ Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until } });
      expect(
        (await s3PutObjectRetention.attempt(gov, entryOf(locked, 'ret/v.txt', v1), ctx, never)).result,
      ).toMatchObject({ status: 'succeeded', versionId: v1 });
      expect(
        (await admin.send(new GetObjectRetentionCommand({ Bucket: locked, Key: 'ret/v.txt', VersionId: v1 }))).Retention
          ?.Mode,
      ).toBe('GOVERNANCE');
      const current = await admin
        .send(new GetObjectRetentionCommand({ Bucket: locked, Key: 'ret/v.txt', VersionId: v2 }))
        .then(
          (r) => r.Retention?.Mode ?? 'none',
          (err: { name?: string }) => `error ${err.name}`,
        );
      expect(current).not.toBe('GOVERNANCE');
    });

    it('a bucket without Object Lock: 400 InvalidRequest from Ceph', async () => {
      await put(plain, 'ret/nolock.txt');
      const gov = s3PutObjectRetention.parse({ Retention: { Mode: 'GOVERNANCE', RetainUntilDate: inMinutes(5) } });
      const out = await s3PutObjectRetention.attempt(gov, entryOf(plain, 'ret/nolock.txt'), ctx, never);
      expect(out.result).toMatchObject({ status: 'failed', httpStatus: 400, errorCode: 'InvalidRequest' });
      expect(out.result.message).toMatch(/^object retention can't be set if bucket object lock not configured/);
    });
  });

  describe('S3ComputeObjectChecksum', () => {
    /** The AWS SDK's own checksum of a body: the x-amz-checksum-* header it sends on PutObject. */
    async function putWithSdkChecksum(
      bucket: string,
      key: string,
      body: Buffer,
      algorithm: ChecksumAlgorithm,
    ): Promise<string> {
      const client = makeS3Client(ceph);
      let sent = '';
      client.middlewareStack.add(
        (next) => async (args) => {
          const headers = (args.request as { headers: Record<string, string> }).headers;
          sent = headers[`x-amz-checksum-${algorithm.toLowerCase()}`] ?? '';
          return next(args);
        },
        { step: 'finalizeRequest', name: 'captureChecksum' },
      );
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ChecksumAlgorithm: algorithm }));
      client.destroy();
      expect(sent, `the SDK sent x-amz-checksum-${algorithm.toLowerCase()}`).not.toBe('');
      return sent;
    }

    const reference = {
      CRC32: (b: Buffer) => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(crc32(b));
        return out.toString('base64');
      },
      MD5: (b: Buffer) => createHash('md5').update(b).digest('base64'),
      SHA1: (b: Buffer) => createHash('sha1').update(b).digest('base64'),
      SHA256: (b: Buffer) => createHash('sha256').update(b).digest('base64'),
      SHA512: (b: Buffer) => createHash('sha512').update(b).digest('base64'),
    } as const;

    it.each([0, 1, 1000, 8 * MiB + 7])(
      'a %d-byte object: every algorithm matches an independent computation',
      async (size) => {
        const body = randomBytes(size);
        const key = `ck/size-${size}.bin`;
        // CRC32C and CRC64NVME: the AWS SDK's implementation is the reference (Ceph 16 stores no checksums).
        const sdk = {
          CRC32C: await putWithSdkChecksum(plain, key, body, 'CRC32C'),
          CRC64NVME: await putWithSdkChecksum(plain, key, body, 'CRC64NVME'),
          CRC32: await putWithSdkChecksum(plain, key, body, 'CRC32'),
        };
        // the two references agree where they overlap
        expect(reference.CRC32(body)).toBe(sdk.CRC32);
        const expected: Record<string, string> = {
          ...sdk,
          ...Object.fromEntries(Object.entries(reference).map(([a, f]) => [a, f(body)])),
        };
        for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'MD5', 'SHA1', 'SHA256', 'SHA512']) {
          const config = s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: algorithm });
          const out = await s3ComputeObjectChecksum.attempt(config, entryOf(plain, key), ctx, never);
          expect(out.result.status, algorithm).toBe('succeeded');
          expect(out.result.httpStatus).toBe(200);
          expect(JSON.parse(out.result.message), algorithm).toEqual({
            checksumAlgorithm: algorithm,
            checksumType: 'FULL_OBJECT',
            checksum: expected[algorithm],
            size,
          });
        }
        // the ResultMessage is compact JSON with the keys in the spec's order
        const dflt = await s3ComputeObjectChecksum.attempt(
          s3ComputeObjectChecksum.parse({}),
          entryOf(plain, key),
          ctx,
          never,
        );
        expect(dflt.result.message).toBe(
          `{"checksumAlgorithm":"CRC64NVME","checksumType":"FULL_OBJECT","checksum":"${sdk.CRC64NVME}","size":${size}}`,
        );
      },
    );

    it("the row's VersionId: the checksum of that version's bytes", async () => {
      const v1 = await put(versioned, 'ck/v.bin', 'first version');
      await put(versioned, 'ck/v.bin', 'second version, longer');
      const config = s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: 'SHA256' });
      const out = await s3ComputeObjectChecksum.attempt(config, entryOf(versioned, 'ck/v.bin', v1), ctx, never);
      expect(out.result).toMatchObject({ status: 'succeeded', versionId: v1 });
      expect(JSON.parse(out.result.message)).toEqual({
        checksumAlgorithm: 'SHA256',
        checksumType: 'FULL_OBJECT',
        checksum: reference.SHA256(Buffer.from('first version')),
        size: 13,
      });
    });

    it('COMPOSITE: a single-part object reports its full-object checksum; a multipart one fails 501 on Ceph (no part boundaries)', async () => {
      await put(plain, 'ck/single.bin', 'single part');
      const config = s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: 'SHA1', ChecksumType: 'COMPOSITE' });
      const single = await s3ComputeObjectChecksum.attempt(config, entryOf(plain, 'ck/single.bin'), ctx, never);
      expect(JSON.parse(single.result.message)).toEqual({
        checksumAlgorithm: 'SHA1',
        checksumType: 'FULL_OBJECT',
        checksum: reference.SHA1(Buffer.from('single part')),
        size: 11,
      });

      // lib-storage's Upload makes a 2-part object (5 MiB + 1 byte)
      const { Upload } = await import('@aws-sdk/lib-storage');
      await new Upload({
        client: admin,
        params: { Bucket: plain, Key: 'ck/multi.bin', Body: randomBytes(5 * MiB + 1) },
        partSize: 5 * MiB,
      }).done();
      const multi = await s3ComputeObjectChecksum.attempt(config, entryOf(plain, 'ck/multi.bin'), ctx, never);
      expect(multi.result).toMatchObject({ status: 'failed', httpStatus: 501, errorCode: 'NotImplemented' });
      expect(multi.result.message).toMatch(/does not expose the part boundaries of this 2-part object/);
      expect(multi.retryable).toBe(false);
    });

    it('a missing key fails with 404 NoSuchKey, not retried', async () => {
      const out = await s3ComputeObjectChecksum.attempt(
        s3ComputeObjectChecksum.parse({}),
        entryOf(plain, 'ck/missing.bin'),
        ctx,
        never,
      );
      expect(out.result).toMatchObject({ status: 'failed', httpStatus: 404, errorCode: 'NoSuchKey' });
      expect(out.retryable).toBe(false);
    });
  });

  describe('S3InitiateRestoreObject', () => {
    it('Ceph has no restore: 501 NotImplemented per task, permanent (not retried)', async () => {
      await put(plain, 'restore/a.txt');
      for (const member of [{ ExpirationInDays: 1, GlacierJobTier: 'STANDARD' }, { GlacierJobTier: 'BULK' }, {}]) {
        const out = await s3InitiateRestoreObject.attempt(
          s3InitiateRestoreObject.parse(member),
          entryOf(plain, 'restore/a.txt'),
          ctx,
          never,
        );
        expect(out.result).toMatchObject({ status: 'failed', httpStatus: 501, errorCode: 'NotImplemented' });
        expect(out.result.message).toMatch(/\(Service: Amazon S3; Status Code: 501; Error Code: NotImplemented/);
        expect(out.retryable).toBe(false);
      }
    });
  });

  describe('S3UpdateObjectEncryption', () => {
    const config = () =>
      s3UpdateObjectEncryption.parse({ ObjectEncryption: { SSEKMS: { KMSKeyArn: KEY_ARN, BucketKeyEnabled: true } } });

    it('Ceph refuses the copy in place (it does not count SSE as a change): 400 InvalidRequest per task, object untouched', async () => {
      await put(plain, 'enc/a.txt', 'unchanged');
      const out = await s3UpdateObjectEncryption.attempt(config(), entryOf(plain, 'enc/a.txt'), ctx, never);
      expect(out.result).toMatchObject({ status: 'failed', httpStatus: 400, errorCode: 'InvalidRequest' });
      expect(out.result.message).toMatch(
        /^This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes\./,
      );
      expect(out.retryable).toBe(false);
    });

    it('a noncurrent version is refused before any copy (it would become current); a missing key is 404', async () => {
      const v1 = await put(versioned, 'enc/v.txt', 'one');
      await put(versioned, 'enc/v.txt', 'two');
      const old = await s3UpdateObjectEncryption.attempt(config(), entryOf(versioned, 'enc/v.txt', v1), ctx, never);
      expect(old.result).toMatchObject({
        status: 'failed',
        httpStatus: 400,
        errorCode: 'InvalidRequest',
        versionId: v1,
      });
      expect(old.result.message).toMatch(new RegExp(`^Version ${v1} is not the current version of the object`));
      const missing = await s3UpdateObjectEncryption.attempt(config(), entryOf(plain, 'enc/missing.txt'), ctx, never);
      expect(missing.result).toMatchObject({ status: 'failed', httpStatus: 404, errorCode: 'NoSuchKey' });
    });
  });
});
