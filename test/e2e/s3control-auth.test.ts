/**
 * The S3 Control API's gate, with raw HTTP requests to the real `s3batch serve` process (on the
 * s3rver of the global setup): unsigned, wrongly signed, unknown-key, skewed-clock, tampered and
 * cross-account requests are refused with 403 and the right `<Code>` in an ErrorResponse, and no
 * secret leaks into an answer; bad input of every kind (headers, host, query, XML, body size,
 * routes) answers a 4xx ErrorResponse with a stable code; the server keeps serving throughout.
 *
 * Requests are signed here with @smithy/signature-v4, the signer the AWS SDK uses, so a refusal
 * is the server's decision about one changed thing, never a signing mistake of the test.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putManifest } from '../helpers/jobs.ts';
import { requireS3rver } from '../helpers/provided.ts';
import {
  errorCode,
  rawRequest,
  writeApiKeysFile,
  type ApiKey,
  type RawAnswer,
  type RawRequest,
} from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const secret = (): string => randomBytes(30).toString('base64url');
const A: ApiKey = { accessKeyId: 'AUTHTESTKEYACCOUNTA01', secretAccessKey: secret(), accountId: '111122223333' };
const B: ApiKey = { accessKeyId: 'AUTHTESTKEYACCOUNTB01', secretAccessKey: secret(), accountId: '444455556666' };
const SECRETS = [A.secretAccessKey, B.secretAccessKey];

let server: ServerProcess;
let s3: S3Client;
let bucket: string;
let etag: string;
/** A job of account B, waiting for confirmation. */
let jobOfB: string;

function createJobXml(account: ApiKey, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">
  <Operation><S3PutObjectTagging><TagSet><member><Key>k</Key><Value>v</Value></member></TagSet></S3PutObjectTagging></Operation>
  <Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec>
    <Location><ObjectArn>arn:aws:s3:::${bucket}/manifest.csv</ObjectArn><ETag>${etag}</ETag></Location></Manifest>
  <Report><Enabled>false</Enabled></Report>
  <ClientRequestToken>${randomUUID()}</ClientRequestToken>
  <Priority>5</Priority>
  <RoleArn>arn:aws:iam::${account.accountId}:role/batch</RoleArn>
  <ConfirmationRequired>true</ConfirmationRequired>${extra}
</CreateJobRequest>`;
}

const send = (r: RawRequest): Promise<RawAnswer> => rawRequest(server.url, r);

/** A 4xx ErrorResponse with this status and code, request ids in headers and body, and no secret or stack trace anywhere. */
function expectRefused(answer: RawAnswer, status: number, code: string): void {
  expect({ status: answer.status, code: errorCode(answer.body) }, answer.body).toEqual({ status, code });
  expect(answer.headers.get('content-type')).toMatch(/^application\/xml/);
  const requestId = answer.headers.get('x-amz-request-id');
  expect(requestId).toMatch(/^[0-9A-F]{16}$/);
  expect(answer.headers.get('x-amz-id-2')).toBeTruthy();
  expect(answer.body).toContain(`<RequestId>${requestId}</RequestId>`);
  expect(answer.body).toMatch(/<Message>[^<]+<\/Message>/);
  const everything = `${answer.body}\n${[...answer.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}`;
  for (const s of SECRETS) expect(everything).not.toContain(s);
  expect(everything).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

async function expectStillServing(): Promise<void> {
  const ok = await send({ method: 'GET', path: '/v20180820/jobs?maxResults=1', account: A.accountId, key: A });
  expect(ok.status, ok.body).toBe(200);
  expect(ok.body).toContain('<ListJobsResult');
}

async function waitForStatus(key: ApiKey, jobId: string, status: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    last = (await send({ method: 'GET', path: `/v20180820/jobs/${jobId}`, account: key.accountId, key })).body;
    if (last.includes(`<Status>${status}</Status>`)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${jobId} did not reach ${status}; last: ${last}`);
}

beforeAll(async () => {
  const s3rver = requireS3rver();
  s3 = makeS3Client(s3rver);
  bucket = await createTestBucket(s3, 'ctl-auth');
  etag = (await putManifest(s3, bucket, 'manifest.csv', [{ bucket, key: 'object.txt' }])).etag;
  const dataDir = tempDataDir('s3batch-s3control-auth-');
  server = await startServerProcess({
    s3: s3rver,
    dataDir,
    args: ['--api-keys-file', writeApiKeysFile(dataDir, [A, B])],
  });
  const created = await send({
    method: 'POST',
    path: '/v20180820/jobs',
    account: B.accountId,
    key: B,
    body: createJobXml(B),
    contentType: 'application/xml',
  });
  expect(created.status, created.body).toBe(200);
  jobOfB = /<JobId>([^<]+)<\/JobId>/.exec(created.body)![1]!;
  await waitForStatus(B, jobOfB, 'Suspended');
});

afterAll(async () => {
  s3?.destroy();
  await server?.kill('SIGTERM');
  // The server printed nothing secret either (it only names the keys file it was given).
  for (const s of SECRETS) expect(server?.output() ?? '').not.toContain(s);
});

describe('authentication: refused requests', () => {
  const listPath = '/v20180820/jobs';
  const cases: [name: string, request: () => RawRequest, status: number, code: string][] = [
    ['an unsigned request', () => ({ method: 'GET', path: listPath, account: A.accountId }), 403, 'AccessDenied'],
    [
      'a request signed with a wrong secret',
      () => ({
        method: 'GET',
        path: listPath,
        account: A.accountId,
        key: { accessKeyId: A.accessKeyId, secretAccessKey: secret() },
      }),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'a request signed with an unknown access key',
      () => ({
        method: 'GET',
        path: listPath,
        account: A.accountId,
        key: { accessKeyId: 'NOSUCHKEY0000000000X', secretAccessKey: secret() },
      }),
      403,
      'InvalidAccessKeyId',
    ],
    [
      'a request signed 20 minutes ago',
      () => ({
        method: 'GET',
        path: listPath,
        account: A.accountId,
        key: A,
        signingDate: new Date(Date.now() - 20 * 60_000),
      }),
      403,
      'RequestTimeTooSkewed',
    ],
    [
      'a request signed 20 minutes ahead',
      () => ({
        method: 'GET',
        path: listPath,
        account: A.accountId,
        key: A,
        signingDate: new Date(Date.now() + 20 * 60_000),
      }),
      403,
      'RequestTimeTooSkewed',
    ],
    [
      'a body changed after signing',
      () => ({
        method: 'POST',
        path: listPath,
        account: A.accountId,
        key: A,
        body: createJobXml(A),
        sendBody: createJobXml(A).replace('<Priority>5<', '<Priority>9<'),
        contentType: 'application/xml',
      }),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'x-amz-account-id changed after signing',
      () => ({
        method: 'GET',
        path: listPath,
        account: A.accountId,
        key: A,
        afterSigning: (h) => {
          h['x-amz-account-id'] = B.accountId;
        },
      }),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'a query changed after signing',
      () => ({
        method: 'GET',
        path: `${listPath}?maxResults=1`,
        sendPath: `${listPath}?maxResults=2`,
        account: A.accountId,
        key: A,
      }),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'a host changed after signing',
      () => ({
        method: 'GET',
        path: listPath,
        account: A.accountId,
        key: A,
        afterSigning: (h) => {
          h.host = `localhost:${port()}`;
        },
      }),
      403,
      'SignatureDoesNotMatch',
    ],
    [
      'an unsigned request for an unknown route',
      () => ({ method: 'GET', path: '/v20180820/nothing', account: A.accountId }),
      403,
      'AccessDenied',
    ],
    // cross-account: a valid key of account A acting for account B
    [
      "account A's key describing account B's job",
      () => ({ method: 'GET', path: `/v20180820/jobs/${jobOfB}`, account: B.accountId, key: A }),
      403,
      'AccessDenied',
    ],
    [
      "account A's key listing account B's jobs",
      () => ({ method: 'GET', path: listPath, account: B.accountId, key: A }),
      403,
      'AccessDenied',
    ],
    [
      "account A's key cancelling account B's job",
      () => ({
        method: 'POST',
        path: `/v20180820/jobs/${jobOfB}/status?requestedJobStatus=Cancelled`,
        account: B.accountId,
        key: A,
      }),
      403,
      'AccessDenied',
    ],
    [
      "account A's key tagging account B's job",
      () => ({
        method: 'PUT',
        path: `/v20180820/jobs/${jobOfB}/tagging`,
        account: B.accountId,
        key: A,
        body: '<PutJobTaggingRequest><Tags/></PutJobTaggingRequest>',
      }),
      403,
      'AccessDenied',
    ],
  ];

  it.each(cases)('%s → %i %s, nothing leaks, the server keeps serving', async (_name, request, status, code) => {
    expectRefused(await send(request()), status, code);
    await expectStillServing();
  });

  it("account B's job was not touched by any refused request", async () => {
    const own = await send({ method: 'GET', path: `/v20180820/jobs/${jobOfB}`, account: B.accountId, key: B });
    expect(own.status).toBe(200);
    expect(own.body).toContain('<Status>Suspended</Status>');
    expect(own.body).toContain('<Priority>5</Priority>');
    const tags = await send({ method: 'GET', path: `/v20180820/jobs/${jobOfB}/tagging`, account: B.accountId, key: B });
    expect(tags.status).toBe(200);
    // in account A it does not exist at all
    expectRefused(
      await send({ method: 'GET', path: `/v20180820/jobs/${jobOfB}`, account: A.accountId, key: A }),
      404,
      'NotFoundException',
    );
  });
});

describe('bad input answers an ErrorResponse with a stable code', () => {
  const jobPath = (id: string, rest = ''): string => `/v20180820/jobs/${id}${rest}`;
  const cases: [name: string, request: () => RawRequest, status: number, code: string][] = [
    // the account
    [
      'no x-amz-account-id',
      () => ({ method: 'GET', path: '/v20180820/jobs', account: null, key: A }),
      400,
      'InvalidRequest',
    ],
    [
      'x-amz-account-id of 11 digits',
      () => ({ method: 'GET', path: '/v20180820/jobs', account: '11112222333', key: A, host: `localhost:${port()}` }),
      400,
      'InvalidRequest',
    ],
    [
      'x-amz-account-id with letters',
      () => ({ method: 'GET', path: '/v20180820/jobs', account: '11112222333a', key: A, host: `localhost:${port()}` }),
      400,
      'InvalidRequest',
    ],
    [
      'a host label naming another account',
      () => ({
        method: 'GET',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        host: `${B.accountId}.localhost:${port()}`,
      }),
      400,
      'InvalidRequest',
    ],
    // routes
    [
      'an unknown route',
      () => ({ method: 'GET', path: '/v20180820/nothing', account: A.accountId, key: A }),
      404,
      'NotFound',
    ],
    [
      'PATCH on /jobs',
      () => ({ method: 'PATCH', path: '/v20180820/jobs', account: A.accountId, key: A }),
      405,
      'MethodNotAllowed',
    ],
    [
      'DELETE on a job',
      () => ({ method: 'DELETE', path: jobPath(jobOfB), account: A.accountId, key: A }),
      405,
      'MethodNotAllowed',
    ],
    // job ids
    [
      'DescribeJob of a 37-character id',
      () => ({ method: 'GET', path: jobPath('a'.repeat(37)), account: A.accountId, key: A }),
      400,
      'BadRequestException',
    ],
    [
      'DescribeJob of an id with a dot',
      () => ({ method: 'GET', path: jobPath('abc.def'), account: A.accountId, key: A }),
      400,
      'BadRequestException',
    ],
    [
      'DescribeJob of an encoded path traversal',
      () => ({ method: 'GET', path: jobPath('..%2F..%2Fetc%2Fpasswd'), account: A.accountId, key: A }),
      400,
      'BadRequestException',
    ],
    [
      'GetJobTagging of a 4-character id',
      () => ({ method: 'GET', path: jobPath('abcd', '/tagging'), account: A.accountId, key: A }),
      400,
      'InvalidRequest',
    ],
    [
      'DescribeJob of an unknown id',
      () => ({ method: 'GET', path: jobPath(randomUUID()), account: A.accountId, key: A }),
      404,
      'NotFoundException',
    ],
    // ListJobs query
    [
      'maxResults not a number',
      () => ({ method: 'GET', path: '/v20180820/jobs?maxResults=ten', account: A.accountId, key: A }),
      400,
      'InvalidRequestException',
    ],
    [
      'maxResults 1001',
      () => ({ method: 'GET', path: '/v20180820/jobs?maxResults=1001', account: A.accountId, key: A }),
      400,
      'InvalidRequestException',
    ],
    [
      'maxResults -1',
      () => ({ method: 'GET', path: '/v20180820/jobs?maxResults=-1', account: A.accountId, key: A }),
      400,
      'InvalidRequestException',
    ],
    [
      'maxResults given twice',
      () => ({ method: 'GET', path: '/v20180820/jobs?maxResults=1&maxResults=2', account: A.accountId, key: A }),
      400,
      'InvalidRequestException',
    ],
    [
      'an unknown job status',
      () => ({ method: 'GET', path: '/v20180820/jobs?jobStatuses=Running', account: A.accountId, key: A }),
      400,
      'InvalidRequestException',
    ],
    [
      'a forged nextToken',
      () => ({ method: 'GET', path: '/v20180820/jobs?nextToken=eyJjIjoiMjAyNCJ9.abc', account: A.accountId, key: A }),
      400,
      'InvalidNextTokenException',
    ],
    // UpdateJobPriority / UpdateJobStatus query
    [
      'priority missing',
      () => ({ method: 'POST', path: jobPath(jobOfB, '/priority'), account: B.accountId, key: B }),
      400,
      'BadRequestException',
    ],
    [
      'priority "high"',
      () => ({ method: 'POST', path: jobPath(jobOfB, '/priority?priority=high'), account: B.accountId, key: B }),
      400,
      'BadRequestException',
    ],
    [
      'priority 2^31',
      () => ({ method: 'POST', path: jobPath(jobOfB, '/priority?priority=2147483648'), account: B.accountId, key: B }),
      400,
      'BadRequestException',
    ],
    [
      'priority 1.5',
      () => ({ method: 'POST', path: jobPath(jobOfB, '/priority?priority=1.5'), account: B.accountId, key: B }),
      400,
      'BadRequestException',
    ],
    [
      'requestedJobStatus missing',
      () => ({ method: 'POST', path: jobPath(jobOfB, '/status'), account: B.accountId, key: B }),
      400,
      'BadRequestException',
    ],
    [
      'requestedJobStatus Active',
      () => ({
        method: 'POST',
        path: jobPath(jobOfB, '/status?requestedJobStatus=Active'),
        account: B.accountId,
        key: B,
      }),
      400,
      'BadRequestException',
    ],
    [
      'statusUpdateReason given twice',
      () => ({
        method: 'POST',
        path: jobPath(jobOfB, '/status?requestedJobStatus=Cancelled&statusUpdateReason=a&statusUpdateReason=b'),
        account: B.accountId,
        key: B,
      }),
      400,
      'BadRequestException',
    ],
    [
      'statusUpdateReason empty',
      () => ({
        method: 'POST',
        path: jobPath(jobOfB, '/status?requestedJobStatus=Cancelled&statusUpdateReason='),
        account: B.accountId,
        key: B,
      }),
      400,
      'BadRequestException',
    ],
    // bodies
    [
      'CreateJob without a body',
      () => ({ method: 'POST', path: '/v20180820/jobs', account: A.accountId, key: A }),
      400,
      'MalformedXML',
    ],
    [
      'CreateJob with broken XML',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: '<CreateJobRequest><Priority>1</CreateJobRequest>',
      }),
      400,
      'MalformedXML',
    ],
    [
      'CreateJob with JSON',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: '{"Priority": 1}',
        contentType: 'application/json',
      }),
      400,
      'MalformedXML',
    ],
    [
      'CreateJob with the wrong root element',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: '<PutJobTaggingRequest><Tags/></PutJobTaggingRequest>',
      }),
      400,
      'MalformedXML',
    ],
    [
      'CreateJob with an entity declaration',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><CreateJobRequest><Description>&b;</Description></CreateJobRequest>',
      }),
      400,
      'MalformedXML',
    ],
    [
      'CreateJob with invalid UTF-8',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x3e]),
      }),
      400,
      'MalformedXML',
    ],
    [
      'CreateJob with Priority "high"',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: createJobXml(A).replace('<Priority>5</Priority>', '<Priority>high</Priority>'),
      }),
      400,
      'InvalidRequest',
    ],
    [
      'CreateJob with two operations',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: createJobXml(A).replace('<Operation>', '<Operation><S3DeleteObjectTagging/>'),
      }),
      400,
      'InvalidRequest',
    ],
    [
      'CreateJob without a Report',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: createJobXml(A).replace('<Report><Enabled>false</Enabled></Report>', ''),
      }),
      400,
      'InvalidRequest',
    ],
    [
      'CreateJob with 51 tags',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: createJobXml(
          A,
          `<Tags>${Array.from({ length: 51 }, (_, i) => `<member><Key>k${i}</Key><Value>v</Value></member>`).join('')}</Tags>`,
        ),
      }),
      400,
      'TooManyTagsException',
    ],
    [
      'PutJobTagging without <Tags>',
      () => ({
        method: 'PUT',
        path: jobPath(jobOfB, '/tagging'),
        account: B.accountId,
        key: B,
        body: '<PutJobTaggingRequest/>',
      }),
      400,
      'MalformedXML',
    ],
    [
      'PutJobTagging with a duplicate key',
      () => ({
        method: 'PUT',
        path: jobPath(jobOfB, '/tagging'),
        account: B.accountId,
        key: B,
        body: '<PutJobTaggingRequest><Tags><member><Key>a</Key><Value>1</Value></member><member><Key>a</Key><Value>2</Value></member></Tags></PutJobTaggingRequest>',
      }),
      400,
      'InvalidRequest',
    ],
    [
      'a 2 MiB body (limit 256 KiB)',
      () => ({
        method: 'POST',
        path: '/v20180820/jobs',
        account: A.accountId,
        key: A,
        body: `<CreateJobRequest><Description>${'x'.repeat(2 * 1024 * 1024)}</Description></CreateJobRequest>`,
      }),
      413,
      'MaxMessageLengthExceeded',
    ],
  ];

  it.each(cases)('%s → %i %s', async (_name, request, status, code) => {
    expectRefused(await send(request()), status, code);
  });

  it("after all of that the server still serves, and account B's job is unchanged", async () => {
    await expectStillServing();
    const own = await send({ method: 'GET', path: jobPath(jobOfB), account: B.accountId, key: B });
    expect(own.body).toContain('<Status>Suspended</Status>');
    expect(own.body).toContain('<Priority>5</Priority>');
    expect(own.body).not.toContain('StatusUpdateReason');
    const tags = await send({ method: 'GET', path: jobPath(jobOfB, '/tagging'), account: B.accountId, key: B });
    expect(tags.body).not.toContain('<member>');
  });
});

describe('accepted forms', () => {
  it('takes the account from the header alone when the host carries none (IP address or plain name)', async () => {
    for (const host of [`127.0.0.1:${port()}`, `localhost:${port()}`]) {
      const r = await send({ method: 'GET', path: `/v20180820/jobs/${jobOfB}`, account: B.accountId, key: B, host });
      expect(r.status, r.body).toBe(200);
      expect(r.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
      expect(r.headers.get('x-amz-id-2')).toBeTruthy();
    }
  });

  it('takes a body with no content type (botocore) and one with application/xml (JS SDK); Put/DeleteJobTagging answer 200 with an empty body', async () => {
    const put = await send({
      method: 'PUT',
      path: `/v20180820/jobs/${jobOfB}/tagging`,
      account: B.accountId,
      key: B,
      body: '<PutJobTaggingRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Tags><member><Key>a</Key><Value>1</Value></member></Tags></PutJobTaggingRequest>',
    });
    expect({ status: put.status, body: put.body }).toEqual({ status: 200, body: '' });
    const get = await send({ method: 'GET', path: `/v20180820/jobs/${jobOfB}/tagging`, account: B.accountId, key: B });
    expect(get.body).toContain('<member><Key>a</Key><Value>1</Value></member>');
    const put2 = await send({
      method: 'PUT',
      path: `/v20180820/jobs/${jobOfB}/tagging`,
      account: B.accountId,
      key: B,
      contentType: 'application/xml',
      body: '<?xml version="1.0" encoding="UTF-8"?><PutJobTaggingRequest><Tags><member><Key>b</Key><Value>2</Value></member></Tags></PutJobTaggingRequest>',
    });
    expect(put2.status, put2.body).toBe(200);
    expect(
      (await send({ method: 'GET', path: `/v20180820/jobs/${jobOfB}/tagging`, account: B.accountId, key: B })).body,
    ).toContain('<Key>b</Key>');
    const del = await send({
      method: 'DELETE',
      path: `/v20180820/jobs/${jobOfB}/tagging`,
      account: B.accountId,
      key: B,
    });
    expect({ status: del.status, body: del.body }).toEqual({ status: 200, body: '' });
    expect(
      (await send({ method: 'GET', path: `/v20180820/jobs/${jobOfB}/tagging`, account: B.accountId, key: B })).body,
    ).not.toContain('<member>');
  });
});

function port(): string {
  return new URL(server.url).port;
}
