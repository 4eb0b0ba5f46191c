/**
 * ListJobs page tokens are signed with a key kept in the data folder: a client paging through
 * ListJobs keeps going after the server restarts on the same folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';

let dataDir: string | undefined;
let server: RunningServer | undefined;

async function start(dir: string): Promise<RunningServer> {
  const s3rver = requireS3rver();
  return startServer(
    loadConfig(
      {
        port: 0,
        dataDir: dir,
        endpoint: s3rver.endpoint,
        accessKeyId: s3rver.accessKeyId,
        secretAccessKey: s3rver.secretAccessKey,
        logLevel: 'silent',
      },
      // JsonApi signs in with TEST_API_KEY.
      {
        S3BATCH_API_ACCESS_KEY_ID: TEST_API_KEY.accessKeyId,
        S3BATCH_API_SECRET_ACCESS_KEY: TEST_API_KEY.secretAccessKey,
        S3BATCH_ACCOUNT_ID: TEST_API_KEY.accountId,
      },
    ),
  );
}

afterAll(async () => {
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('ListJobs page tokens across a restart', () => {
  it('a NextToken from before the restart still pages on', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 's3batch-tokens-'));
    server = await start(dataDir);
    let api = new JsonApi(server.url);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { JobId } = await api.createJob({
        Operation: { S3PutObjectTagging: { TagSet: [] } },
        Manifest: {
          Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
          Location: { ObjectArn: 'arn:aws:s3:::nowhere/m.csv', ETag: 'e' },
        },
        Report: { Enabled: false },
        Priority: 1,
        RoleArn: 'arn:aws:iam::111122223333:role/batch',
        SkipAccessCheck: true, // no manifest: only the listing matters
      });
      ids.push(JobId);
    }
    const first = await api.call<{ Jobs: { JobId: string }[]; NextToken?: string }>('GET', '/jobs?maxResults=1');
    expect(first.NextToken).toBeDefined();
    await server.close();

    server = await start(dataDir);
    api = new JsonApi(server.url);
    const rest = await api.call<{ Jobs: { JobId: string }[] }>(
      'GET',
      `/jobs?maxResults=10&nextToken=${encodeURIComponent(first.NextToken!)}`,
    );
    expect([...first.Jobs, ...rest.Jobs].map((j) => j.JobId).sort()).toEqual([...ids].sort());
  });
});
