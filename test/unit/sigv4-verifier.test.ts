/**
 * The SigV4 verifier against requests signed by the real @aws-sdk/client-s3-control. The client
 * gets a requestHandler that records the signed HttpRequest instead of sending it (no network in
 * the unit tier); the request is then turned into what the server receives — the query string
 * built by the same function the SDK's node http handler uses. Every refusal is checked for its
 * code and for not leaking the secret or the expected signature.
 */
import { createHash } from 'node:crypto';
import {
  CreateJobCommand,
  ListJobsCommand,
  S3ControlClient,
  UpdateJobStatusCommand,
  type S3ControlClientConfig,
} from '@aws-sdk/client-s3-control';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
// The function @smithy/node-http-handler uses to put request.query on the wire.
import { buildQueryString } from '@smithy/core/protocols';
import { describe, expect, it } from 'vitest';
import { createAccessKeyStore, type AccessKey } from '../../src/api/auth/access-keys.ts';
import { assertCallerAccount, createSigV4Verifier, type SignedRequest } from '../../src/api/auth/sigv4-verifier.ts';
import { isS3BatchError, type ErrorCode } from '../../src/domain/errors.ts';

const ACCOUNT = '111122223333';
const KEY: AccessKey = {
  accessKeyId: 'AKIDUNITTEST0000001',
  secretAccessKey: 'unitSecret/With+Chars0000000000000000001',
  accountId: ACCOUNT,
};
const OTHER: AccessKey = {
  accessKeyId: 'AKIDUNITTEST0000002',
  secretAccessKey: 'otherSecret000000000000000000000000000002',
  accountId: '444455556666',
};
const store = createAccessKeyStore([KEY, OTHER].map((key) => ({ key, source: 'test' })));

interface Captured {
  request: SignedRequest;
  date: Date;
}

/** What both HttpRequest types (the SDK's and the signer's) have in common. */
interface OutgoingRequest {
  method: string;
  path: string;
  query?: Parameters<typeof buildQueryString>[0];
  headers: Record<string, string>;
  body?: unknown;
}

function toReceived(r: OutgoingRequest): SignedRequest {
  const qs = buildQueryString(r.query ?? {});
  const body = r.body === undefined || r.body === null ? Buffer.alloc(0) : Buffer.from(r.body as string | Uint8Array);
  const headers: SignedRequest['headers'] = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  return { method: r.method, url: `${r.path}${qs === '' ? '' : `?${qs}`}`, headers, body };
}

function amzDate(req: SignedRequest): Date {
  const d = String(req.headers['x-amz-date']);
  return new Date(
    `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`,
  );
}

/** Signs `command` with the real S3 Control client and returns the request as the server would receive it. */
async function sdkSigned(
  command: CreateJobCommand | ListJobsCommand | UpdateJobStatusCommand,
  config: Partial<S3ControlClientConfig> = {},
): Promise<Captured> {
  let captured: HttpRequest | undefined;
  const client = new S3ControlClient({
    region: 'eu-west-3',
    endpoint: 'http://localhost:9000',
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    maxAttempts: 1,
    requestHandler: {
      handle: async (req: HttpRequest) => {
        captured = req;
        throw new Error('captured, not sent');
      },
    },
    ...config,
  });
  await expect(client.send(command as ListJobsCommand)).rejects.toThrow('captured, not sent');
  if (captured === undefined) throw new Error('the SDK sent nothing');
  const request = toReceived(captured);
  return { request, date: amzDate(request) };
}

function verifierAt(date: Date, keys = store) {
  return createSigV4Verifier({ keys, now: () => date });
}

/** The refusal's code; fails the test when verify accepts. Checks that no secret leaks. */
async function refusal(req: SignedRequest, date: Date, keys = store): Promise<{ code: ErrorCode; message: string }> {
  try {
    await verifierAt(date, keys).verify(req);
  } catch (err) {
    if (!isS3BatchError(err)) throw err;
    for (const secret of [KEY.secretAccessKey, OTHER.secretAccessKey, 'wrongSecret'])
      expect(err.message).not.toContain(secret);
    return { code: err.code, message: err.message };
  }
  throw new Error(`verify accepted ${req.method} ${req.url}`);
}

// Factories: a command instance keeps the middleware it was sent with, so each send needs a new one.
const CREATE_JOB = (): CreateJobCommand =>
  new CreateJobCommand({
    AccountId: ACCOUNT,
    ConfirmationRequired: false,
    Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'owner', Value: 'équipe données ✓' }] } },
    Report: { Enabled: false },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: 'arn:aws:s3:::manifests/m.csv', ETag: '"0123456789abcdef"' },
    },
    Priority: 10,
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
    ClientRequestToken: 'token-1',
  });
const LIST_JOBS = (): ListJobsCommand =>
  new ListJobsCommand({ AccountId: ACCOUNT, JobStatuses: ['Active', 'Complete', 'Failed'], MaxResults: 5 });
const UPDATE_STATUS = (): UpdateJobStatusCommand =>
  new UpdateJobStatusCommand({
    AccountId: ACCOUNT,
    JobId: 'abcde-12345',
    RequestedJobStatus: 'Cancelled',
    StatusUpdateReason: 'no longer needed — café ✓ 100% & more',
  });

describe('requests signed by @aws-sdk/client-s3-control verify', () => {
  it('GET ListJobs with repeated jobStatuses (host with the account prefix)', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    expect(request.headers.host).toBe(`${ACCOUNT}.localhost:9000`);
    expect(request.url).toBe('/v20180820/jobs?jobStatuses=Active&jobStatuses=Complete&jobStatuses=Failed&maxResults=5');
    await expect(verifierAt(date).verify(request)).resolves.toEqual({
      accessKeyId: KEY.accessKeyId,
      accountId: ACCOUNT,
    });
  });

  it('POST CreateJob with an XML body covered by x-amz-content-sha256', async () => {
    const { request, date } = await sdkSigned(CREATE_JOB());
    expect(request.body.toString()).toContain('<CreateJobRequest');
    expect(request.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(request.body).digest('hex'));
    await expect(verifierAt(date).verify(request)).resolves.toEqual({
      accessKeyId: KEY.accessKeyId,
      accountId: ACCOUNT,
    });
  });

  it('POST UpdateJobStatus whose statusUpdateReason has spaces, %, & and non-ASCII characters', async () => {
    const { request, date } = await sdkSigned(UPDATE_STATUS());
    expect(request.url).toContain('statusUpdateReason=no%20longer%20needed%20%E2%80%94%20caf%C3%A9');
    await expect(verifierAt(date).verify(request)).resolves.toEqual({
      accessKeyId: KEY.accessKeyId,
      accountId: ACCOUNT,
    });
  });

  it('an absolute-form request target (as a proxy receives it)', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    const absolute = { ...request, url: `http://${String(request.headers.host)}${request.url}` };
    await expect(verifierAt(date).verify(absolute)).resolves.toMatchObject({ accountId: ACCOUNT });
  });

  it('a host without the account prefix (endpointProvider override, docs/s3control-api.md#account-id)', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS(), {
      endpointProvider: () => ({ url: new URL('http://localhost:9000') }),
    });
    expect(request.headers.host).toBe('localhost:9000');
    await expect(verifierAt(date).verify(request)).resolves.toEqual({
      accessKeyId: KEY.accessKeyId,
      accountId: ACCOUNT,
    });
  });

  it('any region in the credential scope, and the query parameters in any order', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS(), { region: 'ap-southeast-2' });
    expect(request.headers.authorization).toContain('/ap-southeast-2/s3/aws4_request');
    const reordered = {
      ...request,
      url: '/v20180820/jobs?maxResults=5&jobStatuses=Active&jobStatuses=Complete&jobStatuses=Failed',
    };
    await expect(verifierAt(date).verify(reordered)).resolves.toEqual({
      accessKeyId: KEY.accessKeyId,
      accountId: ACCOUNT,
    });
  });

  it('the key of another account verifies as that account, and assertCallerAccount refuses the mismatch', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS(), {
      credentials: { accessKeyId: OTHER.accessKeyId, secretAccessKey: OTHER.secretAccessKey },
    });
    const caller = await verifierAt(date).verify(request);
    expect(caller).toEqual({ accessKeyId: OTHER.accessKeyId, accountId: '444455556666' });
    expect(() => assertCallerAccount(caller, ACCOUNT)).toThrow(expect.objectContaining({ code: 'AccessDenied' }));
    expect(() => assertCallerAccount(caller, undefined)).toThrow(expect.objectContaining({ code: 'AccessDenied' }));
    expect(() => assertCallerAccount(caller, '444455556666')).not.toThrow();
  });

  it('x-amz-content-sha256: UNSIGNED-PAYLOAD is accepted only when allowed, and then does not cover the body', async () => {
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: KEY,
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
    });
    const date = new Date('2026-01-02T03:04:05Z');
    const signed = await signer.sign(
      new HttpRequest({
        method: 'PUT',
        hostname: `${ACCOUNT}.localhost`,
        path: '/v20180820/jobs/abcde-1/tagging',
        headers: {
          host: `${ACCOUNT}.localhost`,
          'x-amz-account-id': ACCOUNT,
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
        body: '<PutJobTaggingRequest/>',
      }),
      { signingDate: date },
    );
    const request = toReceived(signed);
    expect(await refusal(request, date)).toMatchObject({ code: 'UnsignedPayloadNotAllowed' });
    const allowing = createSigV4Verifier({ keys: store, now: () => date, allowUnsignedPayload: true });
    await expect(allowing.verify(request)).resolves.toEqual({
      accessKeyId: KEY.accessKeyId,
      accountId: ACCOUNT,
    });
    await expect(allowing.verify({ ...request, body: Buffer.from('<other/>') })).resolves.toMatchObject({
      accountId: ACCOUNT,
    });
  });
});

describe('tampered or wrongly signed requests are refused with the right code', () => {
  it('a changed body: the payload hash no longer matches', async () => {
    const { request, date } = await sdkSigned(CREATE_JOB());
    const body = Buffer.from(request.body.toString().replace('<Priority>10</Priority>', '<Priority>99</Priority>'));
    const r = await refusal({ ...request, body }, date);
    expect(r.code).toBe('SignatureDoesNotMatch');
    expect(r.message).toMatch(/x-amz-content-sha256/);
  });

  it('a changed body with a recomputed x-amz-content-sha256: the signature no longer matches', async () => {
    const { request, date } = await sdkSigned(CREATE_JOB());
    const body = Buffer.from(request.body.toString().replace('<Priority>10</Priority>', '<Priority>99</Priority>'));
    const headers = { ...request.headers, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') };
    const r = await refusal({ ...request, body, headers }, date);
    expect(r.code).toBe('SignatureDoesNotMatch');
    expect(r.message).toMatch(/signature we calculated/);
    expect(r.message).not.toMatch(/[0-9a-f]{64}/); // no expected signature
  });

  it('a changed path', async () => {
    const { request, date } = await sdkSigned(UPDATE_STATUS());
    expect((await refusal({ ...request, url: request.url.replace('abcde-12345', 'abcde-12346') }, date)).code).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('a changed, dropped or added query parameter', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    for (const url of [
      request.url.replace('maxResults=5', 'maxResults=6'),
      request.url.replace('&jobStatuses=Failed', ''),
      `${request.url}&nextToken=abc`,
    ]) {
      expect((await refusal({ ...request, url }, date)).code).toBe('SignatureDoesNotMatch');
    }
  });

  it('a changed signed header: x-amz-account-id, host, x-amz-date', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    const later = String(request.headers['x-amz-date']).replace(
      /\d\dZ$/,
      (s) => `${String((Number(s.slice(0, 2)) + 1) % 60).padStart(2, '0')}Z`,
    );
    for (const change of [
      { 'x-amz-account-id': '444455556666' },
      { host: `444455556666.localhost:9000` },
      { 'x-amz-date': later },
    ]) {
      expect((await refusal({ ...request, headers: { ...request.headers, ...change } }, date)).code).toBe(
        'SignatureDoesNotMatch',
      );
    }
  });

  it('a signed header missing from the request', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    const headers = { ...request.headers, 'amz-sdk-request': undefined };
    expect((await refusal({ ...request, headers }, date)).code).toBe('SignatureDoesNotMatch');
  });

  it('an unsigned x-amz-* header is AccessDenied', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    const r = await refusal({ ...request, headers: { ...request.headers, 'x-amz-extra': '1' } }, date);
    expect(r.code).toBe('AccessDenied');
    expect(r.message).toContain('x-amz-extra');
  });

  it('the right key id with the wrong secret', async () => {
    const { request, date } = await sdkSigned(CREATE_JOB(), {
      credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: 'wrongSecret0000000000000000000000000000000' },
    });
    const r = await refusal(request, date);
    expect(r.code).toBe('SignatureDoesNotMatch');
    expect(r.message).toMatch(/signature we calculated/);
    expect(r.message).not.toMatch(/[0-9a-f]{64}/);
  });

  it('an unknown access key id', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS(), {
      credentials: {
        accessKeyId: 'AKIDNOBODY000000000',
        secretAccessKey: 'wrongSecret0000000000000000000000000000000',
      },
    });
    const r = await refusal(request, date);
    expect(r.code).toBe('InvalidAccessKeyId');
    expect(r.message).toContain('AKIDNOBODY000000000');
  });

  it('a clock skewed by more than 15 minutes in either direction; 14 minutes is accepted', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    const minutes = (n: number) => new Date(date.getTime() + n * 60_000);
    expect((await refusal(request, minutes(16))).code).toBe('RequestTimeTooSkewed');
    expect((await refusal(request, minutes(-16))).code).toBe('RequestTimeTooSkewed');
    await expect(verifierAt(minutes(14)).verify(request)).resolves.toMatchObject({ accountId: ACCOUNT });
    await expect(verifierAt(minutes(-14)).verify(request)).resolves.toMatchObject({ accountId: ACCOUNT });
    await expect(
      createSigV4Verifier({ keys: store, now: () => minutes(3), maxSkewMs: 60_000 }).verify(request),
    ).rejects.toMatchObject({ code: 'RequestTimeTooSkewed' });
  });

  it('a request signed for another service than s3', async () => {
    const date = new Date('2026-01-02T03:04:05Z');
    const signer = new SignatureV4({
      service: 's3-control',
      region: 'us-east-1',
      credentials: KEY,
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'GET',
        hostname: 'localhost',
        path: '/v20180820/jobs',
        headers: { host: 'localhost', 'x-amz-account-id': ACCOUNT },
      }),
      { signingDate: date },
    );
    const r = await refusal(toReceived(signed), date);
    expect(r.code).toBe('AccessDenied');
    expect(r.message).toContain('s3-control');
  });

  it('no Authorization header', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    const r = await refusal({ ...request, headers: { ...request.headers, authorization: undefined } }, date);
    expect(r.code).toBe('AccessDenied');
    expect(r.message).toMatch(/Missing Authorization header/);
  });

  it('garbled Authorization headers', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    const auth = String(request.headers.authorization);
    for (const garbled of [
      'garbage',
      'Bearer abc',
      `AWS ${KEY.accessKeyId}:c2lnbmF0dXJl`,
      auth.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512'),
      auth.replace(/, Signature=[0-9a-f]+/, ''),
      auth.replace(/Signature=[0-9a-f]+/, 'Signature=xyz'),
      auth.replace('/aws4_request', '/aws4_reqest'),
      auth.replace(/Credential=[^/]+\//, 'Credential=/'),
      auth.replace('SignedHeaders=', 'SignedHeaders=Host;'),
      `${auth}, Signature=${'0'.repeat(64)}`,
    ]) {
      const r = await refusal({ ...request, headers: { ...request.headers, authorization: garbled } }, date);
      expect(r.code, garbled).toBe('AccessDenied');
    }
  });

  it('a credential date that is not the date of x-amz-date', async () => {
    const { request, date } = await sdkSigned(LIST_JOBS());
    const auth = String(request.headers.authorization).replace(/\/(\d{8})\//, '/19990101/');
    expect((await refusal({ ...request, headers: { ...request.headers, authorization: auth } }, date)).code).toBe(
      'AccessDenied',
    );
  });

  it('presigned (query-string) authentication is refused with a clear message', async () => {
    const date = new Date('2026-01-02T03:04:05Z');
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: KEY,
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
    });
    const presigned = await signer.presign(
      new HttpRequest({
        method: 'GET',
        hostname: 'localhost',
        path: '/v20180820/jobs',
        headers: { host: 'localhost' },
      }),
      { signingDate: date },
    );
    const r = await refusal(toReceived(presigned), date);
    expect(r.code).toBe('AccessDenied');
    expect(r.message).toMatch(/Presigned URLs/);
  });
});
