/**
 * --function-urls: the operator decides which HTTP functions LambdaInvoke jobs may call. A URL under
 * an allowed prefix runs; any other is refused at CreateJob with InvalidRequest, so the server never
 * posts object lists to it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { ApiError, JsonApi } from '../helpers/json-api.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

let fn: Server;
let fnUrl: string;
const calls: string[] = [];
let s3: S3Client;
let server: ServerProcess;
let api: JsonApi;

beforeAll(async () => {
  fn = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls.push(req.url ?? '');
      const payload = JSON.parse(body) as { invocationId: string; tasks: { taskId: string }[] };
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          invocationSchemaVersion: '1.0',
          treatMissingKeysAs: 'PermanentFailure',
          invocationId: payload.invocationId,
          results: payload.tasks.map((t) => ({ taskId: t.taskId, resultCode: 'Succeeded', resultString: 'indexed' })),
        }),
      );
    });
  });
  await new Promise<void>((r) => fn.listen(0, '127.0.0.1', r));
  fnUrl = `http://127.0.0.1:${(fn.address() as AddressInfo).port}`;
  const s3rver = requireS3rver();
  s3 = makeS3Client(s3rver);
  server = await startServerProcess({ s3: s3rver, args: ['--function-urls', `${fnUrl}/allowed/`] });
  api = new JsonApi(server.url);
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  s3?.destroy();
  await new Promise((r) => fn?.close(r));
});

describe('--function-urls', () => {
  it('runs a job whose HTTP function is under an allowed prefix and refuses any other URL at CreateJob', async () => {
    const bucket = await createTestBucket(s3, 'fn-urls');
    await putObjects(s3, bucket, ['a.txt', 'b.txt'], 'x');
    const { etag } = await putManifest(s3, bucket, 'manifest.csv', [
      { bucket, key: 'a.txt' },
      { bucket, key: 'b.txt' },
    ]);
    const request = (url: string) =>
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'manifest.csv',
        etag,
        operation: { LambdaInvoke: { FunctionArn: url } },
        reportBucket: bucket,
        confirmationRequired: false,
      });

    const { JobId } = await api.createJob(request(`${fnUrl}/allowed/index`));
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.ProgressSummary).toMatchObject({ TotalNumberOfTasks: 2, NumberOfTasksSucceeded: 2 });
    expect(calls).toEqual(['/allowed/index', '/allowed/index']);

    for (const url of [`${fnUrl}/elsewhere`, 'http://127.0.0.2:1/allowed/index']) {
      const err = await api.createJob(request(url)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('InvalidRequest');
      expect((err as ApiError).message).toMatch(/is not an HTTP function this server may call/);
    }
    expect(calls).toHaveLength(2);
  });
});
