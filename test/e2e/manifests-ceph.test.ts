/**
 * Manifests beyond CSV, end to end on Ceph RGW: `s3batch serve` as a subprocess driven through
 * its JSON API, objects and reports checked with the AWS SDK.
 *
 * - An S3 Inventory report built here (manifest.json + gzip CSV data files) runs a tagging job.
 * - The manifest generator, one job per filter, checking exactly which objects were processed;
 *   EnableManifestOutput read back with our inventory reader; no match → ManifestGenerationEmpty.
 * - Streaming: a listing held by a proxy in front of Ceph shows tasks succeeding before the
 *   listing completes (observed through the JSON API while the listing cannot progress).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateJobCommand, DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prepareInventoryManifest } from '../../src/manifest/inventory-manifest.ts';
import { followLocalChunks, LocalManifestWriter, readLocalChunk } from '../../src/manifest/local-manifest.ts';
import { createMemoryLocalManifestFiles } from '../../src/storage/local-manifest-files.ts';
import { createS3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { encodeKey, readReport } from '../helpers/jobs.ts';
import { JsonApi, type JobView } from '../helpers/json-api.ts';
import { startListingHold } from '../helpers/listing-hold.ts';
import { requireCeph } from '../helpers/provided.ts';
import { hostPrefixClient, waitForJob, writeApiKeysFile, type ApiKey } from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const ROLE = 'arn:aws:iam::111122223333:role/batch-ops';
const TAGGING = { S3PutObjectTagging: { TagSet: [{ Key: 'batch', Value: 'done' }] } };

let ceph: S3ServerInfo;
let s3: S3Client;
let reports: string;
const servers: ServerProcess[] = [];

type View = JobView & {
  Job: JobView['Job'] & {
    GeneratedManifestDescriptor?: { Format: string; Location: { ObjectArn: string; ETag: string } };
    ManifestGenerator?: unknown;
  };
  Discovery: { ObjectsListed: number; ObjectsFound: number; TotalBytes: number; ListingComplete: boolean } | null;
};

async function serve(
  s3Info: S3ServerInfo = ceph,
  env: Record<string, string> = {},
  dataDir?: string,
): Promise<JsonApi & { server: ServerProcess }> {
  const server = await startServerProcess({ s3: s3Info, env, ...(dataDir ? { dataDir } : {}) });
  servers.push(server);
  return Object.assign(new JsonApi(server.url), { server });
}

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  reports = await createTestBucket(s3, 'mf-reports');
});

afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill('SIGTERM');
});

afterAll(() => s3?.destroy());

function report(prefix: string) {
  return {
    Enabled: true,
    Bucket: `arn:aws:s3:::${reports}`,
    Format: 'Report_CSV_20180820',
    Prefix: prefix,
    ReportScope: 'AllTasks',
  };
}

function generatorRequest(
  source: string,
  filter: Record<string, unknown> | undefined,
  extra: Record<string, unknown> = {},
  generator: Record<string, unknown> = {},
) {
  return {
    ConfirmationRequired: false,
    Operation: TAGGING,
    ManifestGenerator: {
      S3JobManifestGenerator: {
        SourceBucket: `arn:aws:s3:::${source}`,
        EnableManifestOutput: false,
        ...(filter ? { Filter: filter } : {}),
        ...generator,
      },
    },
    Report: report('gen'),
    Priority: 10,
    RoleArn: ROLE,
    ...extra,
  };
}

/** Decoded keys of every report row, sorted; every row must have succeeded. */
async function processedKeys(jobId: string, prefix: string): Promise<string[]> {
  const r = await readReport(s3, reports, prefix, jobId);
  expect(r.rows.filter((row) => row[3] !== 'succeeded')).toEqual([]);
  return r.rows.map((row) => decodeURIComponent(row[1]!.replace(/\+/g, ' '))).sort();
}

const md5 = (b: Uint8Array | string): string => createHash('md5').update(b).digest('hex');

describe('S3 Inventory report manifests on Ceph RGW', () => {
  const KEYS = [
    'plain.txt',
    'with space.txt',
    'plus+sign.txt',
    'amp&eq=q?.txt',
    'unicode/日本語.txt',
    'quote\'"comma,.txt',
    'nested/a/b/c.txt',
  ];
  let src: string;
  let inv: string;

  /** Writes data files (AWS style: every field quoted, keys URL-encoded) and manifest.json; returns its ETag. */
  async function putInventory(
    name: string,
    files: string[][],
    over: { fileFormat?: string; badMd5?: boolean } = {},
  ): Promise<string> {
    const entries = [];
    for (const [i, keys] of files.entries()) {
      const csv = keys
        .map(
          (k, j) =>
            `${[src, encodeKey(k, j % 2 === 0), String(k.length), '2024-01-01T00:00:00.000Z', 'STANDARD']
              .map((v) => `"${v}"`)
              .join(',')}\n`,
        )
        .join('');
      const gz = gzipSync(csv);
      const key = `${name}/data/${i}-${md5(csv)}.csv.gz`;
      await s3.send(new PutObjectCommand({ Bucket: inv, Key: key, Body: gz }));
      entries.push({ key, size: gz.length, MD5checksum: over.badMd5 ? md5('not it') : md5(gz) });
    }
    const manifest = {
      sourceBucket: src,
      destinationBucket: `arn:aws:s3:::${inv}`,
      version: '2016-11-30',
      creationTimestamp: '1704067200000',
      fileFormat: over.fileFormat ?? 'CSV',
      fileSchema: 'Bucket, Key, Size, LastModifiedDate, StorageClass',
      files: entries,
    };
    const out = await s3.send(
      new PutObjectCommand({
        Bucket: inv,
        Key: `${name}/2024-01-01T00-00Z/manifest.json`,
        Body: JSON.stringify(manifest),
      }),
    );
    return (out.ETag ?? '').replace(/"/g, '');
  }

  function inventoryRequest(name: string, etag: string) {
    return {
      ConfirmationRequired: false,
      Operation: TAGGING,
      Manifest: {
        Spec: { Format: 'S3InventoryReport_CSV_20161130' },
        Location: { ObjectArn: `arn:aws:s3:::${inv}/${name}/2024-01-01T00-00Z/manifest.json`, ETag: etag },
      },
      Report: report(`inv-${name}`),
      Priority: 10,
      RoleArn: ROLE,
    };
  }

  beforeAll(async () => {
    src = await createTestBucket(s3, 'mf-inv-src');
    inv = await createTestBucket(s3, 'mf-inv');
    await putObjects(s3, src, KEYS, (k) => `body of ${k}`);
  });

  it('runs a tagging job from an inventory built here (two gzip data files) to Complete, each object reported once', async () => {
    const api = await serve();
    const etag = await putInventory('good', [KEYS.slice(0, 4), KEYS.slice(4)]);
    const { JobId } = await api.createJob(inventoryRequest('good', etag));
    const done = (await api.waitFor(JobId, ['Complete', 'Failed'])) as View;
    expect(done.Job.FailureReasons).toEqual([]);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: KEYS.length,
      NumberOfTasksSucceeded: KEYS.length,
      NumberOfTasksFailed: 0,
    });
    expect(done.Discovery).toEqual({
      ObjectsListed: KEYS.length,
      ObjectsFound: KEYS.length,
      TotalBytes: KEYS.reduce((n, k) => n + k.length, 0),
      ListingComplete: true,
    });
    const r = await readReport(s3, reports, 'inv-good', JobId);
    // the key column echoes the inventory's own encoding (spaces as + on every other row)
    expect(r.rows.map((row) => row[1]).sort()).toEqual(
      KEYS.map((k, i) => encodeKey(k, (i < 4 ? i : i - 4) % 2 === 0)).sort(),
    );
    for (const key of KEYS) {
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: src, Key: key }));
      expect(tags.TagSet).toEqual([{ Key: 'batch', Value: 'done' }]);
    }
  });

  it('fails the job with ManifestChecksumMismatch when a data file does not match its MD5, before any task runs', async () => {
    const api = await serve();
    const etag = await putInventory('badmd5', [KEYS.slice(0, 2)], { badMd5: true });
    const { JobId } = await api.createJob(inventoryRequest('badmd5', etag));
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Failed');
    expect(done.Job.FailureReasons.map((f) => f.FailureCode)).toEqual(['ManifestChecksumMismatch']);
    expect(done.Job.ProgressSummary.NumberOfTasksSucceeded + done.Job.ProgressSummary.NumberOfTasksFailed).toBe(0);
  });

  it('refuses an ORC inventory with InvalidManifestContent naming the format', async () => {
    const api = await serve();
    const etag = await putInventory('orc', [KEYS.slice(0, 1)], { fileFormat: 'ORC' });
    const { JobId } = await api.createJob(inventoryRequest('orc', etag));
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.FailureReasons).toEqual([
      { FailureCode: 'InvalidManifestContent', FailureReason: expect.stringContaining('ORC') },
    ]);
  });
});

describe('the manifest generator on Ceph RGW', () => {
  // key → [size, storage class, batch]; batch B is written at least a second after batch A.
  const OBJECTS: Record<string, [number, string, 'A' | 'B']> = {
    'photos/a-1.jpg': [50, 'STANDARD', 'A'],
    'photos/b-2.png': [500, 'STANDARD', 'A'],
    'photos/thumb/c-3.jpg': [5, 'STANDARD', 'A'],
    'docs/readme.txt': [2000, 'STANDARD', 'A'],
    'docs/thumbnail-notes.md': [300, 'STANDARD_IA', 'A'],
    'archive/old.jpg': [700, 'GLACIER', 'A'],
    'photos/new-4.jpg': [200, 'STANDARD', 'B'],
    'new/fresh.txt': [10, 'STANDARD', 'B'],
  };
  const ALL = Object.keys(OBJECTS).sort();
  const inBatch = (b: 'A' | 'B'): string[] => ALL.filter((k) => OBJECTS[k]![2] === b);
  let src: string;
  /**
   * One source bucket per time-window job: Ceph RGW 16 moves an object's LastModified when its
   * tags are replaced, so a window job must list objects no other tagging job touched.
   */
  let timedSrcs: string[];
  let out: string;
  let lastOfA: Date;
  let firstOfB: Date;

  async function put(bucket: string, keys: string[]): Promise<void> {
    for (const key of keys) {
      const [size, storageClass] = OBJECTS[key]!;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: 'x'.repeat(size),
          StorageClass: storageClass as 'STANDARD',
        }),
      );
    }
  }

  async function listed(bucket: string): Promise<Map<string, { modified: Date; storageClass: string }>> {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    return new Map(
      (res.Contents ?? []).map((o) => [
        o.Key!,
        { modified: o.LastModified!, storageClass: o.StorageClass ?? 'STANDARD' },
      ]),
    );
  }

  beforeAll(async () => {
    src = await createTestBucket(s3, 'mf-gen-src');
    timedSrcs = [];
    for (let i = 1; i <= 4; i++) timedSrcs.push(await createTestBucket(s3, `mf-gen-t${i}`));
    out = await createTestBucket(s3, 'mf-gen-out');
    const buckets = [src, ...timedSrcs];
    for (const b of buckets) await put(b, inBatch('A'));
    const times = async (keys: string[]): Promise<number[]> => {
      const ts: number[] = [];
      for (const b of buckets) {
        const l = await listed(b);
        ts.push(...keys.map((k) => l.get(k)!.modified.getTime()));
      }
      return ts;
    };
    lastOfA = new Date(Math.max(...(await times(inBatch('A')))));
    // LastModified has a one-second resolution on some stores: let the clock pass it.
    while (Date.now() < lastOfA.getTime() + 1100) await new Promise((r) => setTimeout(r, 100));
    for (const b of buckets) await put(b, inBatch('B'));
    firstOfB = new Date(Math.min(...(await times(inBatch('B')))));
    expect(firstOfB.getTime()).toBeGreaterThan(lastOfA.getTime());
    const all = await listed(src);
    // the storage classes are what Ceph lists (scripts/ceph/start-ceph.sh adds them)
    expect(all.get('archive/old.jpg')!.storageClass).toBe('GLACIER');
    expect(all.get('docs/thumbnail-notes.md')!.storageClass).toBe('STANDARD_IA');
  });

  it('processes exactly the objects each filter selects (one job per filter)', async () => {
    const api = await serve();
    const cases: {
      name: string;
      filter?: Record<string, unknown>;
      tags?: { Key: string; Value: string }[];
      expected: string[];
      bucket?: number;
    }[] = [
      {
        name: 'prefix',
        filter: { KeyNameConstraint: { MatchAnyPrefix: ['photos/'] } },
        expected: ['photos/a-1.jpg', 'photos/b-2.png', 'photos/new-4.jpg', 'photos/thumb/c-3.jpg'],
      },
      {
        name: 'suffix',
        filter: { KeyNameConstraint: { MatchAnySuffix: ['.jpg'] } },
        expected: ['archive/old.jpg', 'photos/a-1.jpg', 'photos/new-4.jpg', 'photos/thumb/c-3.jpg'],
      },
      {
        name: 'substring',
        filter: { KeyNameConstraint: { MatchAnySubstring: ['thumb'] } },
        expected: ['docs/thumbnail-notes.md', 'photos/thumb/c-3.jpg'],
      },
      {
        name: 'created before (backfill window)',
        filter: { CreatedBefore: firstOfB.toISOString() },
        expected: inBatch('A'),
        bucket: 0,
      },
      { name: 'created after', filter: { CreatedAfter: lastOfA.toISOString() }, expected: inBatch('B'), bucket: 1 },
      {
        name: 'size bounds',
        filter: { ObjectSizeGreaterThanBytes: 100, ObjectSizeLessThanBytes: 1000 },
        expected: ['archive/old.jpg', 'docs/thumbnail-notes.md', 'photos/b-2.png', 'photos/new-4.jpg'],
      },
      {
        name: 'storage class',
        filter: { MatchAnyStorageClass: ['STANDARD_IA', 'GLACIER'] },
        expected: ['archive/old.jpg', 'docs/thumbnail-notes.md'],
      },
      {
        name: 'regex (JSON member)',
        filter: { KeyNameRegex: '^photos/[a-z]+-\\d+\\.(jpg|png)$' },
        expected: ['photos/a-1.jpg', 'photos/b-2.png', 'photos/new-4.jpg'],
      },
      {
        name: 'regex (job tag)',
        tags: [{ Key: 's3batch:generator-key-regex', Value: 'thumb/.+jpg' }],
        expected: ['photos/thumb/c-3.jpg'],
      },
      {
        name: 'max objects (job tag) with a prefix',
        filter: { KeyNameConstraint: { MatchAnyPrefix: ['photos/'] } },
        tags: [{ Key: 's3batch:generator-max-objects', Value: '2' }],
        expected: ['photos/a-1.jpg', 'photos/b-2.png'],
      },
      {
        name: 'combined',
        filter: {
          KeyNameConstraint: { MatchAnyPrefix: ['photos/', 'archive/'], MatchAnySuffix: ['.jpg'] },
          ObjectSizeGreaterThanBytes: 10,
          CreatedBefore: firstOfB.toISOString(),
        },
        expected: ['archive/old.jpg', 'photos/a-1.jpg'],
        bucket: 2,
      },
    ];
    // One job at a time: Ceph RGW 16 answers concurrent PutObjectTagging calls on one object with
    // 409 OperationAborted ("a conflicting operation is in progress"), a permanent task failure.
    for (const c of cases) {
      const bucket = c.bucket === undefined ? src : timedSrcs[c.bucket]!;
      const { JobId } = await api.createJob(generatorRequest(bucket, c.filter, c.tags ? { Tags: c.tags } : {}));
      const done = (await api.waitFor(JobId, ['Complete', 'Failed'])) as View;
      expect({ name: c.name, status: done.Job.Status, reasons: done.Job.FailureReasons }).toEqual({
        name: c.name,
        status: 'Complete',
        reasons: [],
      });
      expect({ name: c.name, keys: await processedKeys(JobId, 'gen') }).toEqual({
        name: c.name,
        keys: [...c.expected].sort(),
      });
      expect(done.Job.ProgressSummary.TotalNumberOfTasks).toBe(c.expected.length);
      expect(done.Discovery).toMatchObject({ ObjectsFound: c.expected.length, ListingComplete: true });
    }
  });

  it('EnableManifestOutput writes an inventory-format manifest that our reader and a second job read back', async () => {
    const api = await serve();
    const { JobId } = await api.createJob(
      generatorRequest(
        src,
        { KeyNameConstraint: { MatchAnyPrefix: ['photos/'] } },
        {},
        {
          EnableManifestOutput: true,
          ManifestOutputLocation: {
            Bucket: `arn:aws:s3:::${out}`,
            ManifestPrefix: 'generated',
            ManifestFormat: 'S3InventoryReport_CSV_20211130',
          },
        },
      ),
    );
    const done = (await api.waitFor(JobId, ['Complete', 'Failed'])) as View;
    expect(done.Job.Status).toBe('Complete');
    const descriptor = done.Job.GeneratedManifestDescriptor!;
    expect(descriptor).toEqual({
      Format: 'S3InventoryReport_CSV_20211130',
      Location: {
        ObjectArn: `arn:aws:s3:::${out}/generated/job-${JobId}/manifest.json`,
        ETag: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
    const expected = ['photos/a-1.jpg', 'photos/b-2.png', 'photos/new-4.jpg', 'photos/thumb/c-3.jpg'];

    // our inventory reader, on the real bucket
    const files = createMemoryLocalManifestFiles();
    await prepareInventoryManifest({
      store: createS3ObjectStore(s3),
      location: descriptor.Location,
      openWriter: (fields) => LocalManifestWriter.open(files, { fields, chunkSize: 2, resume: false }),
      maxTasks: 100,
    });
    const readBack: string[] = [];
    const signal = new AbortController().signal;
    for await (const chunk of followLocalChunks(files, { signal, ticket: () => 0, waitForChange: async () => {} })) {
      for await (const e of readLocalChunk(files, ['Bucket', 'Key'], chunk)) readBack.push(`${e.bucket}/${e.key}`);
    }
    expect(readBack).toEqual(expected.map((k) => `${src}/${k}`));

    // and a job that takes it as its manifest
    const again = await api.createJob({
      ConfirmationRequired: false,
      Operation: TAGGING,
      Manifest: { Spec: { Format: 'S3InventoryReport_CSV_20161130' }, Location: descriptor.Location },
      Report: report('gen-again'),
      Priority: 10,
      RoleArn: ROLE,
    });
    const second = await api.waitFor(again.JobId, ['Complete', 'Failed']);
    expect(second.Job.Status).toBe('Complete');
    expect(await processedKeys(again.JobId, 'gen-again')).toEqual(expected);
  });

  it('fails a job whose filter matches nothing with ManifestGenerationEmpty', async () => {
    const api = await serve();
    const { JobId } = await api.createJob(
      generatorRequest(src, { KeyNameConstraint: { MatchAnyPrefix: ['nothing-here/'] } }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Failed');
    expect(done.Job.FailureReasons).toEqual([
      {
        FailureCode: 'ManifestGenerationEmpty',
        FailureReason: 'Manifest generation found no keys matching the filter criteria',
      },
    ]);
    expect(done.StatusHistory.map((h) => h.status)).toEqual(['New', 'Preparing', 'Failing', 'Failed']);
  });

  it('a generator job through the S3 Control API and the AWS SDK: filters, the max-objects tag, manifest output, DescribeJob echo', async () => {
    const key: ApiKey = {
      accessKeyId: 'GENTESTKEYACCOUNT0001',
      secretAccessKey: 'gen-test-secret-0000000000000000000000000',
      accountId: '111122223333',
    };
    const dataDir = tempDataDir('s3batch-generator-sdk-');
    const server = await startServerProcess({
      s3: ceph,
      dataDir,
      env: { S3BATCH_API_KEYS_FILE: writeApiKeysFile(dataDir, [key]) },
    });
    servers.push(server);
    const client = hostPrefixClient(server.url, key);
    try {
      const generator = {
        S3JobManifestGenerator: {
          SourceBucket: `arn:aws:s3:::${timedSrcs[3]}`,
          EnableManifestOutput: true,
          ManifestOutputLocation: {
            Bucket: `arn:aws:s3:::${out}`,
            ManifestPrefix: 'sdk',
            ManifestEncryption: { SSES3: {} },
            ManifestFormat: 'S3InventoryReport_CSV_20211130' as const,
          },
          Filter: {
            KeyNameConstraint: { MatchAnySuffix: ['.jpg'] },
            CreatedBefore: firstOfB,
            MatchAnyStorageClass: ['STANDARD' as const, 'GLACIER' as const],
          },
        },
      };
      const created = await client.send(
        new CreateJobCommand({
          AccountId: key.accountId,
          ConfirmationRequired: false,
          Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'batch', Value: 'sdk' }] } },
          ManifestGenerator: generator,
          Report: {
            Enabled: true,
            Bucket: `arn:aws:s3:::${reports}`,
            Format: 'Report_CSV_20180820',
            Prefix: 'sdk',
            ReportScope: 'AllTasks',
          },
          Priority: 5,
          RoleArn: ROLE,
          Tags: [{ Key: 's3batch:generator-max-objects', Value: '2' }],
        }),
      );
      const job = await waitForJob(client, key.accountId, created.JobId!, ['Complete', 'Failed']);
      expect(job.Status).toBe('Complete');
      expect(job.Manifest).toBeUndefined();
      // the echo, in the SDK's own types (timestamps as Date)
      expect(job.ManifestGenerator?.S3JobManifestGenerator?.Filter?.KeyNameConstraint?.MatchAnySuffix).toEqual([
        '.jpg',
      ]);
      expect(job.ManifestGenerator?.S3JobManifestGenerator?.Filter?.CreatedBefore).toEqual(firstOfB);
      expect(
        job.ManifestGenerator?.S3JobManifestGenerator?.ManifestOutputLocation?.ManifestEncryption?.SSES3,
      ).toBeDefined();
      expect(job.GeneratedManifestDescriptor).toEqual({
        Format: 'S3InventoryReport_CSV_20211130',
        Location: {
          ObjectArn: `arn:aws:s3:::${out}/sdk/job-${created.JobId}/manifest.json`,
          ETag: expect.stringMatching(/^[0-9a-f]{32}$/),
        },
      });
      // .jpg objects of batch A in STANDARD or GLACIER, the first two in key order
      expect(await processedKeys(created.JobId!, 'sdk')).toEqual(['archive/old.jpg', 'photos/a-1.jpg']);
      const again = await client.send(new DescribeJobCommand({ AccountId: key.accountId, JobId: created.JobId! }));
      expect(again.Job?.ProgressSummary?.TotalNumberOfTasks).toBe(2);
    } finally {
      client.destroy();
    }
  });

  it('refuses at CreateJob a filter a listing cannot answer, and a catastrophic regex', async () => {
    const api = await serve();
    await expect(
      api.createJob(generatorRequest(src, { MatchAnyObjectEncryption: [{ SSES3: {} }] })),
    ).rejects.toMatchObject({ status: 400, code: 'InvalidRequest' });
    await expect(api.createJob(generatorRequest(src, { KeyNameRegex: '(a+)+$' }))).rejects.toMatchObject({
      status: 400,
      code: 'InvalidRequest',
    });
  });
});

describe('listing object versions on Ceph RGW (the generator of S3ReplicateObject jobs)', () => {
  it('lists every version newest first within a key, the null version as "null", no delete markers; resumes after a key', async () => {
    const bucket = await createTestBucket(s3, 'mf-versions');
    const put = async (key: string, body: string): Promise<string> =>
      (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId ?? 'null';
    await put('a', 'unversioned'); // written before versioning: the null version
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const a2 = await put('a', 'second');
    const b1 = await put('b', 'one');
    const c1 = await put('c', 'gone');
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'c' })); // a delete marker on top of c
    const store = createS3ObjectStore(s3);
    const all: string[] = [];
    for await (const page of store.listVersions!(bucket))
      all.push(...page.map((v) => `${v.key}@${v.versionId}:${v.isLatest}:${v.size}`));
    expect(all).toEqual([`a@${a2}:true:6`, 'a@null:false:11', `b@${b1}:true:3`, `c@${c1}:false:4`]);
    const after: string[] = [];
    for await (const page of store.listVersions!(bucket, { startAfter: 'a' })) after.push(...page.map((v) => v.key));
    expect(after).toEqual(['b', 'c']);
  });
});

describe('a generator job streams into execution', () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
  let src: string;

  beforeAll(async () => {
    src = await createTestBucket(s3, 'mf-stream');
    await putObjects(s3, src, keys, 'x', 64);
  });

  it('runs tasks before the listing completes: 3,000 objects, chunks of 100, the second listing page held', async () => {
    const hold = await startListingHold(ceph.endpoint);
    try {
      const api = await serve({ ...ceph, endpoint: hold.endpoint }, { S3BATCH_CHUNK_SIZE: '100' });
      const { JobId } = await api.createJob(generatorRequest(src, undefined, { Report: report('stream') }));
      // The first page (1,000 keys) is all the listing can give while the second is held.
      const mid = (await api.waitUntil(
        JobId,
        'the first page of tasks ran',
        (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded === 1000,
      )) as View;
      expect(hold.held()).toBe(1);
      expect(mid.Job.Status).toBe('Active');
      expect(mid.Job.ProgressSummary.TotalNumberOfTasks).toBe(1000);
      expect(mid.Discovery).toEqual({
        ObjectsListed: 1000,
        ObjectsFound: 1000,
        TotalBytes: 1000,
        ListingComplete: false,
      });
      hold.release();
      const done = (await api.waitFor(JobId, ['Complete', 'Failed'])) as View;
      expect(done.Job.Status).toBe('Complete');
      expect(done.Job.ProgressSummary).toMatchObject({
        TotalNumberOfTasks: 3000,
        NumberOfTasksSucceeded: 3000,
        NumberOfTasksFailed: 0,
      });
      expect(done.Discovery).toEqual({
        ObjectsListed: 3000,
        ObjectsFound: 3000,
        TotalBytes: 3000,
        ListingComplete: true,
      });
      expect(done.StatusHistory.map((h) => h.status)).toEqual([
        'New',
        'Preparing',
        'Ready',
        'Active',
        'Completing',
        'Complete',
      ]);
      const r = await readReport(s3, reports, 'stream', JobId);
      expect(r.rows).toHaveLength(3000);
      expect(new Set(r.rows.map((row) => row[1])).size).toBe(3000);
    } finally {
      await hold.close();
    }
  });

  it('SIGKILL while the listing is held, restart on the same data folder: the listing resumes and each object is reported once', async () => {
    const hold = await startListingHold(ceph.endpoint);
    try {
      const first = await serve({ ...ceph, endpoint: hold.endpoint }, { S3BATCH_CHUNK_SIZE: '100' });
      const { JobId } = await first.createJob(generatorRequest(src, undefined, { Report: report('crash') }));
      await first.waitUntil(
        JobId,
        'the first page of tasks ran',
        (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded === 1000,
      );
      await first.server.kill('SIGKILL');
      hold.release();
      const second = await serve(
        { ...ceph, endpoint: hold.endpoint },
        { S3BATCH_CHUNK_SIZE: '100' },
        first.server.dataDir,
      );
      const done = (await second.waitFor(JobId, ['Complete', 'Failed'])) as View;
      expect(done.Job.FailureReasons).toEqual([]);
      expect(done.Job.ProgressSummary).toMatchObject({
        TotalNumberOfTasks: 3000,
        NumberOfTasksSucceeded: 3000,
        NumberOfTasksFailed: 0,
      });
      expect(done.Discovery).toMatchObject({ ObjectsFound: 3000, ListingComplete: true });
      const r = await readReport(s3, reports, 'crash', JobId);
      expect(r.rows.map((row) => row[1]).sort()).toEqual(keys);
    } finally {
      await hold.close();
    }
  });
});
