/**
 * The server's log as a platform team ships it: the real `s3batch serve` process on Ceph RGW with
 * `--log-format json --log-level info`, its stdout read line by line. Every line is a JSON object;
 * each API request's lines carry its reqId (the caller's x-request-id when given, returned in the
 * `x-request-id` header and, on the S3 Control API, equal to `x-amz-request-id`); each line of a job
 * carries its jobId and accountId; no secret (API secret, Authorization value, presigned
 * signature) appears anywhere; and the start prints no fastify deprecation warning.
 */
import { ListJobsCommand, type S3ControlClient } from '@aws-sdk/client-s3-control';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putObjectsAndManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { endpointProviderClient } from '../helpers/s3control.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

type LogLine = Record<string, unknown> & { level: string; msg: string; reqId?: string; jobId?: string };

const SIGNATURE = 'feedc0de'.repeat(8);

let s3: S3Client;
let control: S3ControlClient;
let server: ServerProcess;
let bucket: string;
let etag: string;

/** The complete lines of stdout so far, each parsed (a line that is not JSON fails the test). */
function logLines(): LogLine[] {
  const text = server.stdout();
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`a log line that is not JSON: ${line}`);
      }
    });
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'logs');
  const keys = ['l/1', 'l/2', 'l/3'];
  etag = await putObjectsAndManifest(s3, bucket, 'm.csv', keys, 'x');
  server = await startServerProcess({ s3: ceph, args: ['--log-level', 'info', '--log-format', 'json'] });
  control = endpointProviderClient(server.url, TEST_API_KEY);
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  control?.destroy();
  s3?.destroy();
});

describe('s3batch serve --log-format json', () => {
  it('starts without a fastify deprecation warning', () => {
    expect(server.stderr()).not.toContain('FSTDEP');
    expect(server.stderr()).not.toMatch(/FastifyWarning|DeprecationWarning/);
    // The banner is for people, on stderr; stdout holds only the log.
    expect(server.stderr()).toContain(`s3batch listening on ${server.url}`);
    expect(logLines().some((l) => l.msg === `Server listening at ${server.url}`)).toBe(true);
  });

  it('API request lines carry the request id the answer names', async () => {
    // No id given: the server's own, in x-request-id and (S3 Control) x-amz-request-id.
    let amzRequestId: string | undefined;
    control.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const headers = (out.response as { headers?: Record<string, string> }).headers ?? {};
        amzRequestId = headers['x-amz-request-id'];
        expect(headers['x-request-id']).toBe(amzRequestId);
        return out;
      },
      { step: 'deserialize', name: 'captureRequestId' },
    );
    await control.send(new ListJobsCommand({ AccountId: TEST_API_KEY.accountId }));
    expect(amzRequestId).toMatch(/^[0-9A-F]{16}$/);
    // An id from the caller (or its proxy) is kept.
    const res = await fetch(`${server.url}/api/v1/jobs`, {
      headers: { authorization: basicAuth(TEST_API_KEY), 'x-request-id': 'proxy-id.42' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('proxy-id.42');
    // One that is not a plain token is replaced.
    const odd = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'a b\tc' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9A-F]{16}$/);

    await until(
      () => logLines().filter((l) => l.reqId === amzRequestId || l.reqId === 'proxy-id.42').length >= 2,
      'the two request lines',
    );
    const s3control = logLines().find((l) => l.reqId === amzRequestId && l.msg === 'request completed');
    expect(s3control).toMatchObject({
      level: 'info',
      req: { method: 'GET', url: `/v20180820/jobs` },
      res: { statusCode: 200 },
    });
    expect(typeof s3control?.responseTime).toBe('number');
    expect(logLines().find((l) => l.reqId === 'proxy-id.42')).toMatchObject({
      msg: 'request completed',
      req: { method: 'GET', url: '/api/v1/jobs' },
      res: { statusCode: 200 },
    });
  });

  it('a presigned query is logged without its signature and credential', async () => {
    const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${TEST_API_KEY.accessKeyId}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=${SIGNATURE}`;
    const res = await fetch(`${server.url}/api/v1/jobs?${query}`);
    const reqId = res.headers.get('x-request-id');
    expect(res.status).toBeGreaterThanOrEqual(400);
    await until(() => logLines().some((l) => l.reqId === reqId), 'the presigned request line');
    const line = logLines().find((l) => l.reqId === reqId && l.msg === 'request completed');
    expect(line?.req).toMatchObject({
      url: '/api/v1/jobs?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[Redacted]&X-Amz-Signature=[Redacted]',
    });
  });

  it('a job: its lines carry jobId and accountId; every request line a reqId; no secret anywhere', async () => {
    const api = new JsonApi(server.url);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'logged', Value: 'yes' }] } },
        reportBucket: bucket,
        reportPrefix: 'reports',
        confirmationRequired: false,
      }),
    );
    await api.waitFor(JobId, 'Complete', 60_000, 100);
    await until(() => logLines().some((l) => l.jobId === JobId && l.to === 'Complete'), 'the job line of Complete');

    const lines = logLines();
    // Every line of the job names it and its account.
    const jobLines = lines.filter((l) => l.jobId === JobId || l.msg.includes(JobId));
    expect(jobLines.map((l) => l.to)).toEqual(['Preparing', 'Ready', 'Active', 'Completing', 'Complete']);
    for (const l of jobLines) expect(l).toMatchObject({ jobId: JobId, accountId: TEST_API_KEY.accountId });

    // Every line of a request names it; request lines are the only ones with req/res.
    const requestLines = lines.filter((l) => l.req !== undefined || l.res !== undefined);
    expect(requestLines.length).toBeGreaterThan(3);
    for (const l of requestLines) expect(l.reqId, JSON.stringify(l)).toMatch(/\S/);
    expect(
      lines.filter((l) => l.msg === 'request completed' && (l.req as { method: string }).method === 'POST'),
    ).not.toEqual([]);

    // No secret: the API secret, the Basic credential, SigV4 signatures, the presigned signature,
    // the S3 secret the server was started with.
    const everything = server.output();
    for (const secret of [
      TEST_API_KEY.secretAccessKey,
      basicAuth(TEST_API_KEY).slice('Basic '.length),
      SIGNATURE,
      requireCeph().secretAccessKey,
    ]) {
      expect(everything).not.toContain(secret);
    }
    // The SDK's SigV4 Authorization header (ListJobs above) is nowhere either.
    expect(everything).not.toMatch(/Signature=[0-9a-f]{64}/);
  });
});
