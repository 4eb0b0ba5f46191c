/**
 * CreateJob's ManifestGenerator: validated and normalised at the boundary, extensions reachable
 * as JSON members and as s3batch: tags, unsupported filters refused with a clear InvalidRequest.
 */
import { describe, expect, it } from 'vitest';
import { generatorSettings, validateManifestGenerator } from '../../src/manifest/generator-spec.ts';
import { validateCreateJobRequest } from '../../src/service/validate-request.ts';

const gen = (over: Record<string, unknown> = {}, filter?: Record<string, unknown>): Record<string, unknown> => ({
  S3JobManifestGenerator: {
    SourceBucket: 'arn:aws:s3:::photos',
    EnableManifestOutput: false,
    ...(filter ? { Filter: filter } : {}),
    ...over,
  },
});

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('validateManifestGenerator', () => {
  it('normalises a full generator (docs/manifests.md#manifest-generator) and keeps it for the DescribeJob echo', () => {
    const out = validateManifestGenerator(
      gen(
        {
          ExpectedBucketOwner: '111122223333',
          EnableManifestOutput: true,
          ManifestOutputLocation: {
            Bucket: 'arn:aws:s3:::ops-manifests',
            ManifestPrefix: 'generated',
            ManifestEncryption: { SSES3: {} },
            ManifestFormat: 'S3InventoryReport_CSV_20211130',
          },
        },
        {
          CreatedAfter: '2024-01-01T00:00:00Z',
          CreatedBefore: new Date('2024-02-01T00:00:00Z'),
          KeyNameConstraint: { MatchAnyPrefix: ['raw/'], MatchAnySuffix: ['.jpg'] },
          ObjectSizeGreaterThanBytes: 0,
          MatchAnyStorageClass: ['STANDARD'],
        },
      ),
      [],
    );
    expect(out).toEqual({
      S3JobManifestGenerator: {
        ExpectedBucketOwner: '111122223333',
        SourceBucket: 'arn:aws:s3:::photos',
        ManifestOutputLocation: {
          Bucket: 'arn:aws:s3:::ops-manifests',
          ManifestPrefix: 'generated',
          ManifestEncryption: { SSES3: {} },
          ManifestFormat: 'S3InventoryReport_CSV_20211130',
        },
        Filter: {
          CreatedAfter: '2024-01-01T00:00:00.000Z',
          CreatedBefore: '2024-02-01T00:00:00.000Z',
          KeyNameConstraint: { MatchAnyPrefix: ['raw/'], MatchAnySuffix: ['.jpg'] },
          ObjectSizeGreaterThanBytes: 0,
          MatchAnyStorageClass: ['STANDARD'],
        },
        EnableManifestOutput: true,
      },
    });
    const s = generatorSettings(out, []);
    expect(s.sourceBucket).toBe('photos');
    expect(s.output).toEqual({ bucket: 'ops-manifests', prefix: 'generated', expectedOwner: undefined });
    expect(s.filter.createdAfter?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });

  it.each([
    ['no SourceBucket', gen({ SourceBucket: undefined })],
    ['a bucket name instead of an ARN', gen({ SourceBucket: 'photos' })],
    ['EnableManifestOutput missing', gen({ EnableManifestOutput: undefined })],
    ['EnableManifestOutput without a location', gen({ EnableManifestOutput: true })],
    ['a bad ManifestFormat', gen({ ManifestOutputLocation: { Bucket: 'arn:aws:s3:::m', ManifestFormat: 'CSV' } })],
    [
      'SSE-KMS manifest encryption',
      gen({
        ManifestOutputLocation: {
          Bucket: 'arn:aws:s3:::m',
          ManifestFormat: 'S3InventoryReport_CSV_20211130',
          ManifestEncryption: { SSEKMS: { KeyId: 'k' } },
        },
      }),
    ],
    ['a bad ExpectedBucketOwner', gen({ ExpectedBucketOwner: '12' })],
    ['a bad date', gen({}, { CreatedAfter: 'yesterday' })],
    [
      'CreatedAfter not before CreatedBefore',
      gen({}, { CreatedAfter: '2024-02-01T00:00:00Z', CreatedBefore: '2024-01-01T00:00:00Z' }),
    ],
    ['a negative size', gen({}, { ObjectSizeGreaterThanBytes: -1 })],
    ['size bounds no size fits', gen({}, { ObjectSizeGreaterThanBytes: 10, ObjectSizeLessThanBytes: 11 })],
    ['an empty prefix list', gen({}, { KeyNameConstraint: { MatchAnyPrefix: [] } })],
    ['an empty prefix', gen({}, { KeyNameConstraint: { MatchAnyPrefix: [''] } })],
    ['an unknown KeyNameConstraint member', gen({}, { KeyNameConstraint: { MatchAnyRegex: ['x'] } })],
    ['an unknown storage class', gen({}, { MatchAnyStorageClass: ['COLD'] })],
    ['MatchAnyObjectEncryption (a listing cannot tell)', gen({}, { MatchAnyObjectEncryption: [{ SSES3: {} }] })],
    ['EligibleForReplication', gen({}, { EligibleForReplication: true })],
    ['ObjectReplicationStatuses', gen({}, { ObjectReplicationStatuses: ['COMPLETED'] })],
    ['an unknown filter member', gen({}, { Tagged: true })],
    ['a catastrophic regex', gen({}, { KeyNameRegex: '(a+)+$' })],
    ['a regex that does not compile', gen({}, { KeyNameRegex: '[' })],
    ['MaxObjects 0', gen({}, { MaxObjects: 0 })],
    ['two union members', { S3JobManifestGenerator: gen().S3JobManifestGenerator, Other: {} }],
  ])('refuses %s with InvalidRequest', (_name, g) => {
    expect(codeOf(() => validateManifestGenerator(g, []))).toBe('InvalidRequest');
  });

  it('takes the key regex and max objects from JSON members or s3batch: tags; they must agree', () => {
    const viaJson = generatorSettings(
      validateManifestGenerator(gen({}, { KeyNameRegex: '^a/', MaxObjects: 5 }), []),
      [],
    );
    expect(viaJson.filter.keyRegex?.source).toBe('^a\\/');
    expect(viaJson.maxObjects).toBe(5);
    const tags = [
      { Key: 's3batch:generator-key-regex', Value: 'photos/.+jpg' },
      { Key: 's3batch:generator-max-objects', Value: '7' },
    ];
    const viaTags = generatorSettings(validateManifestGenerator(gen(), tags), tags);
    expect(viaTags.filter.keyRegex?.test('photos/x.jpg')).toBe(true);
    expect(viaTags.maxObjects).toBe(7);
    expect(codeOf(() => validateManifestGenerator(gen({}, { MaxObjects: 5 }), tags))).toBe('InvalidRequest');
  });

  it('CreateJob accepts a generator instead of a manifest and refuses both or neither', () => {
    const base = {
      ConfirmationRequired: false,
      Operation: { S3PutObjectTagging: { TagSet: [] } },
      Report: { Enabled: false },
      Priority: 1,
      RoleArn: 'arn:aws:iam::111122223333:role/batch',
    };
    const opts = { confirmationRequiredByDefault: true };
    const req = validateCreateJobRequest({ ...base, ManifestGenerator: gen({}, { MaxObjects: 3 }) }, opts);
    expect(req.Manifest).toBeUndefined();
    expect(req.ManifestGenerator).toEqual(gen({}, { MaxObjects: 3 }));
    const manifest = {
      Spec: { Format: 'S3InventoryReport_CSV_20161130' },
      Location: { ObjectArn: 'arn:aws:s3:::inv/manifest.json', ETag: 'e' },
    };
    expect(validateCreateJobRequest({ ...base, Manifest: manifest }, opts).Manifest).toEqual(manifest);
    expect(
      codeOf(() => validateCreateJobRequest({ ...base, Manifest: manifest, ManifestGenerator: gen() }, opts)),
    ).toBe('InvalidRequest');
    expect(codeOf(() => validateCreateJobRequest(base, opts))).toBe('InvalidRequest');
  });
});
