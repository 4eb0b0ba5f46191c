/**
 * A smoke run on a given Node.js: `s3batch serve` on Ceph RGW and the CLI verbs, both run by the Node
 * binary in S3BATCH_TEST_NODE (scripts/test-node24.sh passes Node 24), or by the Node running the
 * tests when it is unset (then it is part of the main suite). One tagging job created with
 * `s3batch create-job`, followed to Complete with `s3batch watch`, its report downloaded with
 * `s3batch report` and compared with the report objects in S3.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, serverEnv, shellEnv, startCli, type CliResult } from '../helpers/cli-process.ts';
import { putObjectsAndManifest } from '../helpers/jobs.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const NODE = process.env.S3BATCH_TEST_NODE || process.execPath;
const KEYS = ['smoke/a.txt', 'smoke/b.txt', 'smoke/c.txt'];

let server: ServerProcess;
let s3: S3Client;
let bucket: string;
let reports: string;
let etag: string;
let cwd: string;

/** `s3batch <args>` run by NODE, with the server's URL and key in the environment. */
function s3batch(...args: string[]): Promise<CliResult> {
  const env = { ...shellEnv(cwd), ...serverEnv(server.url, TEST_API_KEY) };
  return startCli(NODE, [CLI_BIN, ...args], { cwd, env, killAfterMs: 120_000 }).done;
}

async function objectBytes(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: reports, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'node-smoke');
  reports = await createTestBucket(s3, 'node-smoke-reports');
  etag = await putObjectsAndManifest(s3, bucket, 'manifest.csv', KEYS);
  server = await startServerProcess({ s3: ceph, node: NODE });
  cwd = tempDataDir('s3batch-node-smoke-');
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe(`s3batch on ${NODE === process.execPath ? `this Node (${process.version})` : NODE}`, () => {
  it('the server runs on that Node binary', () => {
    const version = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
    expect(version).toMatch(/^v\d+\./);
    expect(realpathSync(`/proc/${server.child.pid}/exe`)).toBe(realpathSync(NODE));
    console.log(`[node-smoke] s3batch serve runs on Node ${version} (${NODE})`);
  });

  it('create-job, watch to Complete, and report downloads the report as stored in S3', async () => {
    const tag = `run-${randomUUID().slice(0, 8)}`;
    const created = await s3batch(
      'create-job',
      '--manifest',
      `s3://${bucket}/manifest.csv`,
      '--manifest-etag',
      etag,
      '--operation',
      'tag',
      '--tag',
      `smoke=${tag}`,
      '--report',
      `s3://${reports}/smoke`,
      '--confirm',
    );
    expect(created.code, created.stderr).toBe(0);
    const jobId = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(created.stdout)?.[0];
    expect(jobId, created.stdout).toBeDefined();

    const watched = await s3batch('watch', jobId!, '--interval', '0.2');
    expect(watched.code, watched.stderr + watched.stdout).toBe(0);
    expect(watched.stdout).toContain(`Job ${jobId} is Complete: ${KEYS.length} succeeded, 0 failed.`);
    for (const key of KEYS) {
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      expect(tags.TagSet).toEqual([{ Key: 'smoke', Value: tag }]);
    }

    const out = path.join(cwd, 'report');
    const report = await s3batch('report', jobId!, '--out', out);
    expect(report.code, report.stderr).toBe(0);
    const base = `smoke/job-${jobId}`;
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
      Results: { TaskExecutionStatus: string; Key: string }[];
    };
    expect(readFileSync(path.join(out, 'manifest.json'))).toEqual(await objectBytes(`${base}/manifest.json`));
    expect(manifest.Results.map((r) => r.TaskExecutionStatus)).toEqual(['succeeded']);
    const resultKey = manifest.Results[0]!.Key;
    const resultFile = path.basename(resultKey);
    expect(readdirSync(out).sort()).toEqual(['manifest.json', resultFile].sort());
    const downloaded = readFileSync(path.join(out, resultFile));
    expect(downloaded).toEqual(await objectBytes(resultKey));
    const rows = downloaded.toString('utf8').trim().split('\n');
    expect(rows).toHaveLength(KEYS.length);
    for (const row of rows) expect(row.split(',')[3]).toBe('succeeded');
  });
});
