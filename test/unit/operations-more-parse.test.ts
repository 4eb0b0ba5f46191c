// CreateJob-time validation of the ACL, restore, legal hold, retention, checksum and encryption
// operation members (docs/operations.md#operation-member): each valid form's frozen config, and
// each invalid field rejected with InvalidRequest naming it.
import { describe, expect, it } from 'vitest';
import type { TaskEntry } from '../../src/domain/task.ts';
import { getOperation, parseOperation } from '../../src/operations/index.ts';
import { s3ComputeObjectChecksum } from '../../src/operations/s3-compute-object-checksum.ts';
import { s3InitiateRestoreObject } from '../../src/operations/s3-initiate-restore-object.ts';
import { s3PutObjectAcl } from '../../src/operations/s3-put-object-acl.ts';
import { s3PutObjectLegalHold } from '../../src/operations/s3-put-object-legal-hold.ts';
import { s3PutObjectRetention } from '../../src/operations/s3-put-object-retention.ts';
import { s3UpdateObjectEncryption } from '../../src/operations/s3-update-object-encryption.ts';
import { rejects } from '../helpers/errors.ts';

const FUTURE = new Date(Date.now() + 86_400_000).toISOString();
const PAST = '2020-01-01T00:00:00Z';
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('registry', () => {
  it.each([
    ['S3PutObjectAcl', s3PutObjectAcl],
    ['S3InitiateRestoreObject', s3InitiateRestoreObject],
    ['S3PutObjectLegalHold', s3PutObjectLegalHold],
    ['S3PutObjectRetention', s3PutObjectRetention],
    ['S3ComputeObjectChecksum', s3ComputeObjectChecksum],
    ['S3UpdateObjectEncryption', s3UpdateObjectEncryption],
  ] as const)('%s is registered', (name, handler) => {
    expect(getOperation(name)).toBe(handler);
    expect(handler.name).toBe(name);
  });

  it('parseOperation returns the frozen config', () => {
    const parsed = parseOperation({ S3PutObjectLegalHold: { LegalHold: { Status: 'ON' } } });
    expect(parsed.handler).toBe(s3PutObjectLegalHold);
    expect(parsed.config).toEqual({ status: 'ON' });
    expect(Object.isFrozen(parsed.config)).toBe(true);
  });
});

describe('S3PutObjectAcl.parse', () => {
  it('a canned ACL, each of the 7 values', () => {
    for (const canned of [
      'private',
      'public-read',
      'public-read-write',
      'aws-exec-read',
      'authenticated-read',
      'bucket-owner-read',
      'bucket-owner-full-control',
    ]) {
      expect(s3PutObjectAcl.parse({ AccessControlPolicy: { CannedAccessControlList: canned } })).toEqual({ canned });
    }
  });

  it('an explicit list: owner and grants of each grantee type, mapped to PutObjectAcl grantees', () => {
    const config = s3PutObjectAcl.parse({
      AccessControlPolicy: {
        AccessControlList: {
          Owner: { ID: 'owner-id', DisplayName: 'Owner' },
          Grants: [
            {
              Grantee: { TypeIdentifier: 'id', Identifier: 'user-1', DisplayName: 'User One' },
              Permission: 'FULL_CONTROL',
            },
            { Grantee: { TypeIdentifier: 'emailAddress', Identifier: 'a@example.com' }, Permission: 'READ' },
            {
              Grantee: { TypeIdentifier: 'uri', Identifier: 'http://acs.amazonaws.com/groups/global/AllUsers' },
              Permission: 'READ_ACP',
            },
            { Grantee: { TypeIdentifier: 'id', Identifier: 'user-2' }, Permission: 'WRITE_ACP' },
            { Grantee: { TypeIdentifier: 'id', Identifier: 'user-3' }, Permission: 'WRITE' },
          ],
        },
      },
    });
    expect(config).toEqual({
      owner: { ID: 'owner-id', DisplayName: 'Owner' },
      grants: [
        { Grantee: { Type: 'CanonicalUser', ID: 'user-1', DisplayName: 'User One' }, Permission: 'FULL_CONTROL' },
        { Grantee: { Type: 'AmazonCustomerByEmail', EmailAddress: 'a@example.com' }, Permission: 'READ' },
        { Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ_ACP' },
        { Grantee: { Type: 'CanonicalUser', ID: 'user-2' }, Permission: 'WRITE_ACP' },
        { Grantee: { Type: 'CanonicalUser', ID: 'user-3' }, Permission: 'WRITE' },
      ],
    });
    expect(Object.isFrozen(config.grants)).toBe(true);
  });

  it('an owner without grants (absent, empty list, empty XML element) is an ACL with no grants', () => {
    for (const Grants of [undefined, [], '']) {
      expect(
        s3PutObjectAcl.parse({ AccessControlPolicy: { AccessControlList: { Owner: { ID: 'o' }, Grants } } }),
      ).toEqual({ owner: { ID: 'o' }, grants: [] });
    }
  });

  const P = 'S3PutObjectAcl.AccessControlPolicy';
  const L = `${P}.AccessControlList`;
  const grant = (g: unknown): unknown => ({
    AccessControlPolicy: { AccessControlList: { Owner: { ID: 'o' }, Grants: [g] } },
  });
  it.each([
    ['no AccessControlPolicy', {}, /^S3PutObjectAcl\.AccessControlPolicy is required/],
    ['an empty member', '', /AccessControlPolicy is required/],
    [
      'an unknown field',
      { AccessControlPolicy: { CannedAccessControlList: 'private' }, Acl: 'x' },
      /^S3PutObjectAcl has unknown field\(s\) Acl/,
    ],
    [
      'both canned and list',
      { AccessControlPolicy: { CannedAccessControlList: 'private', AccessControlList: { Owner: { ID: 'o' } } } },
      /exactly one of AccessControlList and CannedAccessControlList; got both/,
    ],
    [
      'neither',
      { AccessControlPolicy: {} },
      /exactly one of AccessControlList and CannedAccessControlList; got neither/,
    ],
    [
      'an unknown canned ACL',
      { AccessControlPolicy: { CannedAccessControlList: 'log-delivery-write' } },
      new RegExp(`^${P}\\.CannedAccessControlList must be one of private, public-read`),
    ],
    [
      'an unknown policy field',
      { AccessControlPolicy: { CannedAccessControlList: 'private', Owner: {} } },
      new RegExp(`^${P} has unknown field\\(s\\) Owner`),
    ],
    [
      'no Owner',
      { AccessControlPolicy: { AccessControlList: { Grants: [] } } },
      new RegExp(`^${L}\\.Owner is required`),
    ],
    [
      'no Owner.ID',
      { AccessControlPolicy: { AccessControlList: { Owner: { DisplayName: 'x' } } } },
      new RegExp(`^${L}\\.Owner\\.ID is required`),
    ],
    [
      'an empty Owner.ID',
      { AccessControlPolicy: { AccessControlList: { Owner: { ID: '' } } } },
      new RegExp(`^${L}\\.Owner\\.ID must be 1\\.\\.1024`),
    ],
    [
      'Grants not a list',
      { AccessControlPolicy: { AccessControlList: { Owner: { ID: 'o' }, Grants: { Permission: 'READ' } } } },
      new RegExp(`^${L}\\.Grants must be a list`),
    ],
    [
      'a grant without Permission',
      grant({ Grantee: { TypeIdentifier: 'id', Identifier: 'u' } }),
      new RegExp(`^${L}\\.Grants\\[0\\]\\.Permission is required`),
    ],
    [
      'an unknown Permission',
      grant({ Grantee: { TypeIdentifier: 'id', Identifier: 'u' }, Permission: 'DELETE' }),
      /Grants\[0\]\.Permission must be one of FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP/,
    ],
    ['a grant without Grantee', grant({ Permission: 'READ' }), /Grants\[0\]\.Grantee is required/],
    [
      'no TypeIdentifier',
      grant({ Grantee: { Identifier: 'u' }, Permission: 'READ' }),
      /Grants\[0\]\.Grantee\.TypeIdentifier is required/,
    ],
    [
      'an unknown TypeIdentifier',
      grant({ Grantee: { TypeIdentifier: 'CanonicalUser', Identifier: 'u' }, Permission: 'READ' }),
      /Grants\[0\]\.Grantee\.TypeIdentifier must be one of id, emailAddress, uri/,
    ],
    [
      'no Identifier',
      grant({ Grantee: { TypeIdentifier: 'id' }, Permission: 'READ' }),
      /Grants\[0\]\.Grantee\.Identifier is required/,
    ],
    [
      'an Identifier over 1024 characters',
      grant({ Grantee: { TypeIdentifier: 'id', Identifier: 'u'.repeat(1025) }, Permission: 'READ' }),
      /Grants\[0\]\.Grantee\.Identifier must be 1\.\.1024/,
    ],
    [
      'an e-mail grantee that is no address',
      grant({ Grantee: { TypeIdentifier: 'emailAddress', Identifier: 'nobody' }, Permission: 'READ' }),
      /Grantee\.Identifier "nobody" is not an e-mail address/,
    ],
    [
      'a uri grantee that is no URI',
      grant({ Grantee: { TypeIdentifier: 'uri', Identifier: 'AllUsers' }, Permission: 'READ' }),
      /Grantee\.Identifier "AllUsers" is not a group URI/,
    ],
    [
      'an unknown grantee field',
      grant({ Grantee: { TypeIdentifier: 'id', Identifier: 'u', ID: 'u' }, Permission: 'READ' }),
      /Grants\[0\]\.Grantee has unknown field\(s\) ID/,
    ],
  ])('rejects %s', (_what, member, pattern) => {
    rejects(() => s3PutObjectAcl.parse(member), pattern);
  });
});

describe('S3InitiateRestoreObject.parse', () => {
  it.each([
    [
      { ExpirationInDays: 7, GlacierJobTier: 'BULK' },
      { days: 7, tier: 'Bulk' },
    ],
    [
      { ExpirationInDays: '3', GlacierJobTier: 'STANDARD' },
      { days: 3, tier: 'Standard' },
    ],
    [{ ExpirationInDays: 0 }, { days: undefined, tier: undefined }],
    [{}, { days: undefined, tier: undefined }],
    ['', { days: undefined, tier: undefined }],
  ])('%j ⇒ %j', (member, config) => {
    expect(s3InitiateRestoreObject.parse(member)).toEqual(config);
  });

  it.each([
    [
      'EXPEDITED (not offered)',
      { GlacierJobTier: 'EXPEDITED' },
      /^S3InitiateRestoreObject\.GlacierJobTier must be one of BULK, STANDARD; got "EXPEDITED"/,
    ],
    ['a lower-case tier', { GlacierJobTier: 'bulk' }, /GlacierJobTier must be one of BULK, STANDARD/],
    ['negative days', { ExpirationInDays: -1 }, /^S3InitiateRestoreObject\.ExpirationInDays must be an integer/],
    ['fractional days', { ExpirationInDays: 1.5 }, /ExpirationInDays must be an integer/],
    ['non-numeric days', { ExpirationInDays: 'seven' }, /ExpirationInDays must be an integer/],
    [
      'the S3 RestoreRequest shape',
      { GlacierJobParameters: { Tier: 'Bulk' } },
      /^S3InitiateRestoreObject has unknown field\(s\) GlacierJobParameters; allowed: ExpirationInDays, GlacierJobTier/,
    ],
  ])('rejects %s', (_what, member, pattern) => {
    rejects(() => s3InitiateRestoreObject.parse(member), pattern);
  });
});

describe('S3PutObjectLegalHold.parse', () => {
  it('ON and OFF', () => {
    expect(s3PutObjectLegalHold.parse({ LegalHold: { Status: 'ON' } })).toEqual({ status: 'ON' });
    expect(s3PutObjectLegalHold.parse({ LegalHold: { Status: 'OFF' } })).toEqual({ status: 'OFF' });
  });

  it.each([
    ['no LegalHold', {}, /^S3PutObjectLegalHold\.LegalHold is required/],
    ['an empty LegalHold', { LegalHold: {} }, /^S3PutObjectLegalHold\.LegalHold\.Status is required/],
    [
      'an unknown Status',
      { LegalHold: { Status: 'on' } },
      /^S3PutObjectLegalHold\.LegalHold\.Status must be one of ON, OFF; got "on"/,
    ],
    [
      'an unknown field',
      { LegalHold: { Status: 'ON', Until: 'x' } },
      /^S3PutObjectLegalHold\.LegalHold has unknown field\(s\) Until/,
    ],
    ['a non-object member', 'ON', /^S3PutObjectLegalHold must be an object/],
  ])('rejects %s', (_what, member, pattern) => {
    rejects(() => s3PutObjectLegalHold.parse(member), pattern);
  });
});

describe('S3PutObjectRetention.parse', () => {
  it('GOVERNANCE and COMPLIANCE with a future date; bypass as boolean or XML string', () => {
    expect(s3PutObjectRetention.parse({ Retention: { Mode: 'GOVERNANCE', RetainUntilDate: FUTURE } })).toEqual({
      mode: 'GOVERNANCE',
      retainUntil: new Date(FUTURE),
      bypassGovernance: false,
    });
    expect(
      s3PutObjectRetention.parse({
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: FUTURE },
        BypassGovernanceRetention: 'true',
      }),
    ).toEqual({ mode: 'COMPLIANCE', retainUntil: new Date(FUTURE), bypassGovernance: true });
  });

  it('an empty Retention ({} or the empty XML element) removes the retention', () => {
    for (const Retention of [{}, '']) {
      expect(s3PutObjectRetention.parse({ Retention, BypassGovernanceRetention: true })).toEqual({
        mode: undefined,
        retainUntil: undefined,
        bypassGovernance: true,
      });
    }
  });

  it.each([
    ['no Retention', { BypassGovernanceRetention: true }, /^S3PutObjectRetention\.Retention is required/],
    [
      'Mode without date',
      { Retention: { Mode: 'GOVERNANCE' } },
      /Mode and S3PutObjectRetention\.Retention\.RetainUntilDate must be given together/,
    ],
    ['date without Mode', { Retention: { RetainUntilDate: FUTURE } }, /must be given together/],
    [
      'an unparseable date',
      { Retention: { Mode: 'GOVERNANCE', RetainUntilDate: 'tomorrow' } },
      /^S3PutObjectRetention\.Retention\.RetainUntilDate must be a timestamp/,
    ],
    [
      'an unknown Mode',
      { Retention: { Mode: 'LEGAL', RetainUntilDate: FUTURE } },
      /^S3PutObjectRetention\.Retention\.Mode must be one of COMPLIANCE, GOVERNANCE/,
    ],
    [
      'a non-boolean bypass',
      { Retention: {}, BypassGovernanceRetention: 'yes' },
      /^S3PutObjectRetention\.BypassGovernanceRetention must be true or false/,
    ],
    ['an unknown field', { Retention: {}, Bypass: true }, /^S3PutObjectRetention has unknown field\(s\) Bypass/],
    [
      'an unknown Retention field',
      { Retention: { Days: 3 } },
      /^S3PutObjectRetention\.Retention has unknown field\(s\) Days/,
    ],
  ])('rejects %s', (_what, member, pattern) => {
    rejects(() => s3PutObjectRetention.parse(member), pattern);
  });

  it('a past date is refused at CreateJob (checkAtCreate), not when a created job is parsed again later', () => {
    const config = s3PutObjectRetention.parse({ Retention: { Mode: 'GOVERNANCE', RetainUntilDate: PAST } });
    expect(config.retainUntil).toEqual(new Date(PAST));
    rejects(
      () => s3PutObjectRetention.checkAtCreate!(config, new Date()),
      /^S3PutObjectRetention\.Retention\.RetainUntilDate 2020-01-01T00:00:00\.000Z must be in the future/,
    );
    const future = s3PutObjectRetention.parse({ Retention: { Mode: 'GOVERNANCE', RetainUntilDate: FUTURE } });
    expect(() => s3PutObjectRetention.checkAtCreate!(future, new Date())).not.toThrow();
    expect(() => s3PutObjectRetention.checkAtCreate!(future, new Date(new Date(FUTURE).getTime() + 1000))).toThrow(
      /must be in the future/,
    );
  });
});

describe('S3ComputeObjectChecksum.parse', () => {
  it('defaults to CRC64NVME / FULL_OBJECT', () => {
    expect(s3ComputeObjectChecksum.parse({})).toEqual({ algorithm: 'CRC64NVME', type: 'FULL_OBJECT' });
    expect(s3ComputeObjectChecksum.parse('')).toEqual({ algorithm: 'CRC64NVME', type: 'FULL_OBJECT' });
  });

  it.each(['CRC32', 'CRC32C', 'MD5', 'SHA1', 'SHA256', 'SHA512'])('%s, full object and composite', (algorithm) => {
    expect(s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: algorithm })).toEqual({ algorithm, type: 'FULL_OBJECT' });
    expect(s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: algorithm, ChecksumType: 'COMPOSITE' })).toEqual({
      algorithm,
      type: 'COMPOSITE',
    });
  });

  it.each([
    [
      'CRC64NVME COMPOSITE',
      { ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'COMPOSITE' },
      /^S3ComputeObjectChecksum\.ChecksumType COMPOSITE is not available for CRC64NVME/,
    ],
    [
      'COMPOSITE by default algorithm (CRC64NVME)',
      { ChecksumType: 'COMPOSITE' },
      /COMPOSITE is not available for CRC64NVME/,
    ],
    [
      'an unknown algorithm',
      { ChecksumAlgorithm: 'CRC16' },
      /^S3ComputeObjectChecksum\.ChecksumAlgorithm must be one of CRC32, CRC32C, CRC64NVME, MD5, SHA1, SHA256, SHA512, XXHASH64/,
    ],
    [
      'XXHASH64 (in the model, not computed here)',
      { ChecksumAlgorithm: 'XXHASH64' },
      /^S3ComputeObjectChecksum\.ChecksumAlgorithm XXHASH64 is not supported by this s3batch version/,
    ],
    [
      'an unknown type',
      { ChecksumType: 'PARTS' },
      /^S3ComputeObjectChecksum\.ChecksumType must be one of FULL_OBJECT, COMPOSITE/,
    ],
    ['a lower-case algorithm', { ChecksumAlgorithm: 'sha256' }, /ChecksumAlgorithm must be one of/],
    ['an unknown field', { Algorithm: 'CRC32' }, /^S3ComputeObjectChecksum has unknown field\(s\) Algorithm/],
  ])('rejects %s', (_what, member, pattern) => {
    rejects(() => s3ComputeObjectChecksum.parse(member), pattern);
  });
});

describe('S3UpdateObjectEncryption.parse', () => {
  it('SSEKMS (SDK member) and SSE-KMS (XML element), BucketKeyEnabled default false', () => {
    expect(s3UpdateObjectEncryption.parse({ ObjectEncryption: { SSEKMS: { KMSKeyArn: KEY_ARN } } })).toEqual({
      kmsKeyArn: KEY_ARN,
      bucketKeyEnabled: false,
    });
    expect(
      s3UpdateObjectEncryption.parse({
        ObjectEncryption: { 'SSE-KMS': { KMSKeyArn: KEY_ARN, BucketKeyEnabled: 'true' } },
      }),
    ).toEqual({ kmsKeyArn: KEY_ARN, bucketKeyEnabled: true });
    const gov = 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/abcd';
    expect(
      s3UpdateObjectEncryption.parse({ ObjectEncryption: { SSEKMS: { KMSKeyArn: gov, BucketKeyEnabled: false } } })
        .kmsKeyArn,
    ).toBe(gov);
  });

  const E = 'S3UpdateObjectEncryption.ObjectEncryption';
  it.each([
    ['no ObjectEncryption', {}, /^S3UpdateObjectEncryption\.ObjectEncryption is required/],
    ['no SSEKMS', { ObjectEncryption: {} }, new RegExp(`^${E} must contain exactly one SSEKMS`)],
    [
      'both spellings',
      { ObjectEncryption: { SSEKMS: { KMSKeyArn: KEY_ARN }, 'SSE-KMS': { KMSKeyArn: KEY_ARN } } },
      /must contain exactly one SSEKMS/,
    ],
    [
      'SSE-S3 (not in the model)',
      { ObjectEncryption: { SSES3: {} } },
      new RegExp(`^${E} has unknown field\\(s\\) SSES3`),
    ],
    ['no KMSKeyArn', { ObjectEncryption: { SSEKMS: {} } }, new RegExp(`^${E}\\.SSEKMS\\.KMSKeyArn is required`)],
    [
      'a key id instead of an ARN',
      { ObjectEncryption: { SSEKMS: { KMSKeyArn: '1234abcd-12ab-34cd-56ef-1234567890ab' } } },
      /KMSKeyArn "1234abcd-12ab-34cd-56ef-1234567890ab" must be a full KMS key ARN/,
    ],
    [
      'an alias ARN',
      { ObjectEncryption: { SSEKMS: { KMSKeyArn: 'arn:aws:kms:us-east-1:111122223333:alias/my-key' } } },
      /must be a full KMS key ARN/,
    ],
    [
      'a too short ARN',
      { ObjectEncryption: { SSEKMS: { KMSKeyArn: 'arn:aws:kms' } } },
      /KMSKeyArn must be 20\.\.2048 characters/,
    ],
    [
      'a non-boolean BucketKeyEnabled',
      { ObjectEncryption: { SSEKMS: { KMSKeyArn: KEY_ARN, BucketKeyEnabled: 1 } } },
      /SSEKMS\.BucketKeyEnabled must be true or false/,
    ],
    [
      'an unknown SSEKMS field',
      { ObjectEncryption: { SSEKMS: { KMSKeyArn: KEY_ARN, KeyId: 'x' } } },
      /SSEKMS has unknown field\(s\) KeyId/,
    ],
  ])('rejects %s', (_what, member, pattern) => {
    rejects(() => s3UpdateObjectEncryption.parse(member), pattern);
  });
});

describe('describe (dry-run wording)', () => {
  const entry: TaskEntry = { line: 1, bucket: 'b', key: 'k', rawKey: 'k' };
  const versioned: TaskEntry = { ...entry, versionId: 'v1' };
  it.each([
    [
      s3PutObjectAcl,
      { AccessControlPolicy: { CannedAccessControlList: 'public-read' } },
      entry,
      'S3PutObjectAcl: set the canned ACL public-read',
    ],
    [
      s3PutObjectAcl,
      {
        AccessControlPolicy: {
          AccessControlList: {
            Owner: { ID: 'o' },
            Grants: [{ Grantee: { TypeIdentifier: 'id', Identifier: 'o' }, Permission: 'READ' }],
          },
        },
      },
      versioned,
      'S3PutObjectAcl: replace the ACL (owner o, 1 grant) on version v1',
    ],
    [
      s3InitiateRestoreObject,
      { ExpirationInDays: 3, GlacierJobTier: 'BULK' },
      entry,
      'S3InitiateRestoreObject: initiate a restore for 3 days (tier Bulk)',
    ],
    [s3InitiateRestoreObject, {}, entry, 'S3InitiateRestoreObject: initiate a restore without ExpirationInDays'],
    [
      s3PutObjectLegalHold,
      { LegalHold: { Status: 'OFF' } },
      versioned,
      'S3PutObjectLegalHold: set the legal hold OFF on version v1',
    ],
    [
      s3PutObjectRetention,
      { Retention: { Mode: 'GOVERNANCE', RetainUntilDate: FUTURE } },
      entry,
      `S3PutObjectRetention: set GOVERNANCE retention until ${FUTURE}`,
    ],
    [
      s3PutObjectRetention,
      { Retention: {}, BypassGovernanceRetention: true },
      entry,
      'S3PutObjectRetention: remove the retention, bypassing governance retention',
    ],
    [
      s3ComputeObjectChecksum,
      {},
      entry,
      'S3ComputeObjectChecksum: read the object and compute its CRC64NVME FULL_OBJECT checksum',
    ],
    [
      s3UpdateObjectEncryption,
      { ObjectEncryption: { SSEKMS: { KMSKeyArn: KEY_ARN, BucketKeyEnabled: true } } },
      entry,
      `S3UpdateObjectEncryption: copy the object onto itself with SSE-KMS key ${KEY_ARN} and S3 Bucket Keys`,
    ],
  ] as const)('%#: %s', (handler, member, task, text) => {
    const h = handler as { parse(m: unknown): unknown; describe?(c: unknown, e: TaskEntry): string };
    expect(h.describe?.(h.parse(member), task)).toBe(text);
  });
});
