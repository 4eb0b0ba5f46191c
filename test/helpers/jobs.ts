// Building blocks for end-to-end job tests: manifests in S3, CreateJob requests, report reading.
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { type ObjectBody, putObjects } from './s3-servers.ts';

/** URL-encodes a key for a CSV manifest; `plus` writes spaces as `+` (quote_plus style). */
export function encodeKey(key: string, plus = false): string {
  const e = encodeURIComponent(key).replace(/%2F/g, '/');
  return plus ? e.replace(/%20/g, '+') : e;
}

export interface ManifestRow {
  bucket: string;
  key: string;
  versionId?: string;
  plus?: boolean;
}

/** Writes a CSV manifest and returns its ETag (unquoted) and the encoded rows as written. */
export async function putManifest(
  client: S3Client,
  bucket: string,
  key: string,
  rows: ManifestRow[],
): Promise<{ etag: string; rawKeys: string[] }> {
  const rawKeys = rows.map((r) => encodeKey(r.key, r.plus));
  const body = rows
    .map((r, i) => `${[r.bucket, rawKeys[i], ...(r.versionId !== undefined ? [r.versionId] : [])].join(',')}\n`)
    .join('');
  const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return { etag: (out.ETag ?? '').replace(/"/g, ''), rawKeys };
}

/**
 * Puts the objects `keys` into `bucket` (with `body`, as putObjects: default each its own key) and a
 * CSV manifest that lists them at `manifestKey`; returns the manifest's ETag (unquoted).
 */
export async function putObjectsAndManifest(
  client: S3Client,
  bucket: string,
  manifestKey: string,
  keys: string[],
  body?: ObjectBody,
): Promise<string> {
  await putObjects(client, bucket, keys, body);
  return (
    await putManifest(
      client,
      bucket,
      manifestKey,
      keys.map((key) => ({ bucket, key })),
    )
  ).etag;
}

export function jobRequest(args: {
  manifestBucket: string;
  manifestKey: string;
  etag: string;
  operation: Record<string, unknown>;
  reportBucket: string;
  reportPrefix?: string;
  scope?: 'AllTasks' | 'FailedTasksOnly';
  priority?: number;
  confirmationRequired?: boolean | undefined;
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    ...(args.confirmationRequired === undefined ? {} : { ConfirmationRequired: args.confirmationRequired }),
    Operation: args.operation,
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: `arn:aws:s3:::${args.manifestBucket}/${args.manifestKey}`, ETag: args.etag },
    },
    Report: {
      Enabled: true,
      Bucket: `arn:aws:s3:::${args.reportBucket}`,
      Format: 'Report_CSV_20180820',
      ...(args.reportPrefix ? { Prefix: args.reportPrefix } : {}),
      ReportScope: args.scope ?? 'AllTasks',
    },
    Priority: args.priority ?? 10,
    RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
    ...args.extra,
  };
}

export async function getText(client: S3Client, bucket: string, key: string, versionId?: string): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return out.Body!.transformToString();
}

export interface ReadReport {
  manifest: {
    Format: string;
    ReportCreationDate: string;
    Results: { TaskExecutionStatus: string; Bucket: string; MD5Checksum: string; Key: string }[];
    ReportSchema: string;
  };
  /** Every row of every result file, parsed (7 columns each). */
  rows: string[][];
  /** Raw CSV text per result file key. */
  files: Map<string, string>;
}

/** Reads `<prefix>/job-<id>/manifest.json` and every result file; checks each file's MD5 against the manifest. */
export async function readReport(
  client: S3Client,
  bucket: string,
  prefix: string | undefined,
  jobId: string,
): Promise<ReadReport> {
  const base = prefix ? `${prefix}/job-${jobId}` : `job-${jobId}`;
  const manifest = JSON.parse(await getText(client, bucket, `${base}/manifest.json`)) as ReadReport['manifest'];
  const rows: string[][] = [];
  const files = new Map<string, string>();
  for (const r of manifest.Results) {
    const text = await getText(client, bucket, r.Key);
    const md5 = createHash('md5').update(text).digest('hex');
    if (md5 !== r.MD5Checksum) throw new Error(`MD5 of ${r.Key} is ${md5}, manifest.json says ${r.MD5Checksum}`);
    files.set(r.Key, text);
    rows.push(...(parse(text, { relax_column_count: false }) as string[][]));
  }
  return { manifest, rows, files };
}
