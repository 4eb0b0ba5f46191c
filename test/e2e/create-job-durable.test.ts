/**
 * CreateJob is durable when it answers: a `s3batch serve --local` process SIGKILLed the moment its
 * 201 (JSON API) or 200 (S3 Control, the unchanged AWS SDK) arrives keeps the job after a restart
 * on the same data folder. The job store batches its writes (up to 50 ms later); CreateJob flushes
 * it before it answers, so no answered job is lost to a crash in that window.
 */
import { rmSync } from 'node:fs';
import { CreateJobCommand, DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { afterEach, describe, expect, it } from 'vitest';
import { jobRequest, putObjectsAndManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { createTestBucket } from '../helpers/s3-servers.ts';
import { endpointProviderClient } from '../helpers/s3control.ts';
import { embeddedS3Client, startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill('SIGTERM');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('CreateJob answered, then SIGKILL at once', () => {
  it('keeps every answered job across the restarts (JSON API and S3 Control)', async () => {
    const dataDir = tempDataDir('s3batch-create-durable-');
    dirs.push(dataDir);
    const serve = async (): Promise<ServerProcess> => {
      const server = await startServerProcess({ dataDir });
      servers.push(server);
      return server;
    };
    let server = await serve();
    const s3 = embeddedS3Client(server);
    const src = await createTestBucket(s3, 'cjd-src');
    const reports = await createTestBucket(s3, 'cjd-rep');
    const etag = await putObjectsAndManifest(s3, src, 'manifest.csv', ['a', 'b', 'c']);
    const request = (n: number): Record<string, unknown> =>
      jobRequest({
        manifestBucket: src,
        manifestKey: 'manifest.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'n', Value: String(n) }] } },
        reportBucket: reports,
        // Suspended until confirmed: the job only has to exist, nothing runs.
        confirmationRequired: true,
      });

    const answered: string[] = [];
    for (let n = 0; n < 3; n++) {
      const { JobId } = await new JsonApi(server.url).createJob(request(n) as never);
      await server.kill('SIGKILL');
      answered.push(JobId);
      server = await serve();
    }
    // The unchanged SDK's CreateJob through S3 Control, killed the same way.
    const control = endpointProviderClient(server.url, server.apiKey!);
    const body = request(3);
    const out = await control.send(
      new CreateJobCommand({
        AccountId: server.apiKey!.accountId,
        ...(body as object),
        ClientRequestToken: 'create-durable-3',
      } as never),
    );
    await server.kill('SIGKILL');
    answered.push(out.JobId!);
    server = await serve();

    const api = new JsonApi(server.url);
    for (const id of answered) {
      const view = await api.describe(id);
      expect(view.Job.JobId, `job ${id} after the restart:\n${server.output()}`).toBe(id);
    }
    // A job killed before it prepared prepares again after the restart, then waits for confirmation.
    for (const id of answered) expect((await api.waitFor(id, ['Suspended'])).Job.Status).toBe('Suspended');
    const described = await endpointProviderClient(server.url, server.apiKey!).send(
      new DescribeJobCommand({ AccountId: server.apiKey!.accountId, JobId: out.JobId! }),
    );
    expect(described.Job?.Status).toBe('Suspended');
  }, 120_000);
});
