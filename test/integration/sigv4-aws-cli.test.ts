/**
 * The SigV4 verifier accepts what the real aws CLI (Debian's /usr/bin/aws, i.e. botocore) sends:
 * the CLI runs as a subprocess against a small recording HTTP server, and every recorded request
 * — without a body (ListJobs, UpdateJobStatus with a unicode reason) and with one (CreateJob) —
 * is verified as received. The CLI connects to `111122223333.localhost:PORT` (the account-id
 * host prefix, docs/s3control-api.md#account-id), which must resolve through /etc/hosts: scripts/ensure-test-deps.sh
 * adds the line when run as root.
 */
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { access, constants } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessKeyStore } from '../../src/api/auth/access-keys.ts';
import { createSigV4Verifier, type SignedRequest } from '../../src/api/auth/sigv4-verifier.ts';

const run = promisify(execFile);
const AWS = '/usr/bin/aws';
const ACCOUNT = '111122223333';
const KEY = {
  accessKeyId: 'AKIDAWSCLITEST000001',
  secretAccessKey: 'awsCliSecret/0000000000000000000000000001',
  accountId: ACCOUNT,
};
const verifier = createSigV4Verifier({ keys: createAccessKeyStore([{ key: KEY, source: 'test' }]) });

const recorded: SignedRequest[] = [];
let server: http.Server;
let endpoint: string;

// Minimal valid answers so the CLI exits 0 (its exit code is checked too).
function answer(req: http.IncomingMessage): string {
  if (req.method === 'POST' && req.url === '/v20180820/jobs')
    return '<CreateJobResult><JobId>abcde-1</JobId></CreateJobResult>';
  if (req.url?.includes('/status'))
    return '<UpdateJobStatusResult><JobId>abcde-1</JobId><Status>Cancelled</Status></UpdateJobStatusResult>';
  return '<ListJobsResult><Jobs/></ListJobsResult>';
}

beforeAll(async () => {
  await access(AWS, constants.X_OK).catch(() => {
    throw new Error(`${AWS} (Debian's awscli) is missing: run scripts/ensure-test-deps.sh as root`);
  });
  await lookup(`${ACCOUNT}.localhost`).catch(() => {
    throw new Error(
      `${ACCOUNT}.localhost does not resolve: add "127.0.0.1 ${ACCOUNT}.localhost 444455556666.localhost" to /etc/hosts (scripts/ensure-test-deps.sh does it when run as root)`,
    );
  });
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      recorded.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'content-type': 'application/xml' }).end(answer(req));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
});

/** Runs `aws s3control <args>` with the test key and nothing from the machine's AWS config. */
async function awsCli(args: string[]): Promise<SignedRequest> {
  const before = recorded.length;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  await run(AWS, ['s3control', ...args, '--account-id', ACCOUNT, '--endpoint-url', endpoint, '--region', 'us-east-1'], {
    env,
    timeout: 60_000,
  });
  expect(recorded.length).toBe(before + 1);
  return recorded[before] as SignedRequest;
}

describe('aws CLI requests verify as received', () => {
  it('list-jobs with repeated --job-statuses (no body)', async () => {
    const req = await awsCli(['list-jobs', '--job-statuses', 'Active', 'Complete', '--max-results', '10']);
    expect(req.headers.host).toMatch(new RegExp(`^${ACCOUNT}\\.localhost:\\d+$`));
    expect(req.url).toBe('/v20180820/jobs?jobStatuses=Active&jobStatuses=Complete&maxResults=10');
    expect(req.headers['x-amz-content-sha256']).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    await expect(verifier.verify(req)).resolves.toEqual({ accessKeyId: KEY.accessKeyId, accountId: ACCOUNT });
  });

  it('update-job-status with a reason holding spaces and non-ASCII characters', async () => {
    const req = await awsCli([
      'update-job-status',
      '--job-id',
      'abcde-1',
      '--requested-job-status',
      'Cancelled',
      '--status-update-reason',
      'no longer needed — café ✓',
    ]);
    expect(req.url).toContain('statusUpdateReason=no%20longer%20needed%20%E2%80%94%20caf%C3%A9%20%E2%9C%93');
    await expect(verifier.verify(req)).resolves.toEqual({ accessKeyId: KEY.accessKeyId, accountId: ACCOUNT });
  });

  it('create-job with an XML body (and the same request with a changed body is refused)', async () => {
    const req = await awsCli([
      'create-job',
      '--no-confirmation-required',
      '--operation',
      '{"S3PutObjectTagging":{"TagSet":[{"Key":"owner","Value":"équipe"}]}}',
      '--report',
      '{"Enabled":false}',
      '--manifest',
      '{"Spec":{"Format":"S3BatchOperations_CSV_20180820","Fields":["Bucket","Key"]},"Location":{"ObjectArn":"arn:aws:s3:::b/m.csv","ETag":"abc"}}',
      '--priority',
      '10',
      '--role-arn',
      `arn:aws:iam::${ACCOUNT}:role/batch`,
      '--client-request-token',
      'cli-token-1',
    ]);
    expect(req.body.toString()).toContain('<CreateJobRequest');
    await expect(verifier.verify(req)).resolves.toEqual({ accessKeyId: KEY.accessKeyId, accountId: ACCOUNT });
    const changed = Buffer.from(req.body.toString().replace('<Priority>10</Priority>', '<Priority>11</Priority>'));
    await expect(verifier.verify({ ...req, body: changed })).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
  });
});
