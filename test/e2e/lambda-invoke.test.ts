/**
 * LambdaInvoke end to end (docs/operations.md#lambda-invoke): the real `s3batch serve` process on s3rver runs jobs
 * whose function is
 *  - an HTTP function (s3batch extension): a node:http server in this test that records every
 *    payload and answers per key — Succeeded with a CSV-hostile resultString, PermanentFailure,
 *    TemporaryFailure twice then Succeeded, TemporaryFailure for ever, a 500, no answer in time,
 *    an answer that is not JSON, a result list without the task; plus a refused connection;
 *  - an AWS Lambda function, reached through the Lambda Invoke REST API
 *    (`POST /2015-03-31/functions/{name}/invocations`). AWS Lambda does not exist on this machine,
 *    so a small server in this test stands in for it: it speaks that API (payload in, result
 *    payload out, `X-Amz-Function-Error` for a function error, a 429 TooManyRequestsException,
 *    a 404 ResourceNotFoundException) and the server's --lambda-endpoint points at it;
 *  - an HTTP function named in a job created through the S3 Control XML API with the real
 *    @aws-sdk/client-s3-control (the SDK does not check FunctionArn's pattern).
 * Every report row is checked. The server runs with 3 attempts per task (S3BATCH_RETRY_MAX_ATTEMPTS)
 * and a 1 s HTTP-function timeout.
 *
 * The manifests name keys that do not exist as objects: LambdaInvoke never touches them.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateJobCommand, DescribeJobCommand } from '@aws-sdk/client-s3-control';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { hostPrefixClient, waitForJob, writeApiKeysFile, type ApiKey } from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';
import { createHttpFunctionInvoker } from '../../src/operations/lambda/http-function.ts';

interface Call {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Payload;
}

interface Payload {
  invocationSchemaVersion: string;
  invocationId: string;
  job: { id: string; userArguments?: Record<string, string> };
  tasks: { taskId: string; s3Key: string; s3VersionId: string | null; s3BucketArn?: string; s3Bucket?: string }[];
}

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body: string;
  delayMs?: number;
}

/** A function server: records each request and answers with `respond(payload, nth call for this key)`. */
class FunctionServer {
  readonly calls: Call[] = [];
  private readonly server: Server;
  url = '';
  /** TCP connections accepted so far. */
  connections = 0;
  private closeListener: (() => void) | undefined;

  /** Calls `listener` when a client connection closes. */
  onClose(listener: () => void): void {
    this.closeListener = listener;
  }

  constructor(respond: (call: Call, n: number) => Answer) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Payload;
        const call: Call = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
        this.calls.push(call);
        const answer = respond(call, this.callsFor(body.tasks[0]!.s3Key).length);
        const send = (): void => {
          if (res.destroyed) return;
          res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
          res.end(answer.body);
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
      });
    });
  }

  async start(): Promise<this> {
    this.server.on('connection', (socket) => {
      this.connections++;
      socket.once('close', () => this.closeListener?.());
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  callsFor(rawKey: string): Call[] {
    return this.calls.filter((c) => c.body.tasks[0]!.s3Key === rawKey);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The result JSON a Batch Operations function answers with. */
function result(call: Call, resultCode: string, resultString: string): string {
  return JSON.stringify({
    invocationSchemaVersion: call.body.invocationSchemaVersion,
    treatMissingKeysAs: 'PermanentFailure',
    invocationId: call.body.invocationId,
    results: [{ taskId: call.body.tasks[0]!.taskId, resultCode, resultString }],
  });
}

const CSV_HOSTILE = 'indexed: "title", 3 words\nsecond line';
const TIMED_OUT =
  '{"errorMessage":"2019-04-05T17:35:21.155Z 2845ca0d-38d9-4c4b-abcf-379dc749c452 Task timed out after 3.00 seconds"}';
const LAMBDA_KEY = { accessKeyId: 'LAMBDATESTKEY0000001', secretAccessKey: 'lambda-test-secret' };
const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:indexer:prod';
const API_KEY: ApiKey = {
  accessKeyId: 'LAMBDATESTAPIKEY0001',
  secretAccessKey: randomBytes(30).toString('base64url'),
  accountId: '111122223333',
};

let s3rver: S3ServerInfo;
let s3: S3Client;
let server: ServerProcess;
let api: JsonApi;
let bucket: string;
let reports: string;
let httpFunction: FunctionServer;
let lambda: FunctionServer;

beforeAll(async () => {
  s3rver = requireS3rver();
  s3 = makeS3Client(s3rver);
  bucket = await createTestBucket(s3, 'lambda-src');
  reports = await createTestBucket(s3, 'lambda-rep');

  httpFunction = await new FunctionServer((call, n): Answer => {
    const key = decodeURIComponent(call.body.tasks[0]!.s3Key);
    switch (key) {
      case 'ok/quoted, "csv".txt':
        return { body: result(call, 'Succeeded', CSV_HOSTILE) };
      case 'echo key+plus.txt':
        return { body: result(call, 'Succeeded', call.body.tasks[0]!.s3Key) };
      case 'perm.txt':
        return { body: result(call, 'PermanentFailure', 'cannot process, sorry') };
      case 'temp-then-ok.txt':
        return {
          body: n < 3 ? result(call, 'TemporaryFailure', `busy #${n}`) : result(call, 'Succeeded', 'third time lucky'),
        };
      case 'always-temp.txt':
        return { body: result(call, 'TemporaryFailure', `still busy #${n}`) };
      case 'http500.txt':
        return { status: 500, body: 'boom' };
      case 'slow.txt':
        return { delayMs: 2500, body: result(call, 'Succeeded', 'too late') };
      case 'not-json.txt':
        return { body: 'Hello from the function' };
      case 'missing.txt':
        return {
          body: JSON.stringify({ invocationSchemaVersion: '1.0', invocationId: call.body.invocationId, results: [] }),
        };
      case 'redirect.txt':
        return { status: 302, headers: { location: 'http://elsewhere.example/collect?secret=1' }, body: '' };
      case 'http404.txt':
        return { status: 404, body: 'no such route' };
      case 'header-error.txt':
        return { headers: { 'x-amz-function-error': 'Unhandled' }, body: '{"errorMessage":"division by zero"}' };
      default:
        return { body: result(call, 'Succeeded', `args ${JSON.stringify(call.body.job.userArguments ?? null)}`) };
    }
  }).start();

  // The stand-in for AWS Lambda's Invoke API (see the header comment).
  lambda = await new FunctionServer((call, n): Answer => {
    const name = decodeURIComponent(/^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(call.path)?.[1] ?? '');
    if (name !== FUNCTION) {
      return {
        status: 404,
        headers: { 'x-amzn-errortype': 'ResourceNotFoundException', 'x-amzn-requestid': 'req-404' },
        body: JSON.stringify({ Type: 'User', Message: `Function not found: ${name}` }),
      };
    }
    switch (call.body.tasks[0]!.s3Key) {
      case 'fnerr.txt':
        return { headers: { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '7' }, body: TIMED_OUT };
      case 'throttled.txt':
        if (n === 1)
          return {
            status: 429,
            headers: { 'x-amzn-errortype': 'TooManyRequestsException' },
            body: JSON.stringify({
              Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
              Type: 'User',
              message: 'Rate Exceeded.',
            }),
          };
        return { headers: { 'x-amz-executed-version': '7' }, body: result(call, 'Succeeded', `after ${n} calls`) };
      default:
        return {
          headers: { 'x-amz-executed-version': '7' },
          body: result(call, 'Succeeded', JSON.stringify(call.body.job.userArguments)),
        };
    }
  }).start();

  const dataDir = tempDataDir('s3batch-lambda-');
  server = await startServerProcess({
    s3: s3rver,
    dataDir,
    args: [
      '--function-timeout',
      '1',
      '--lambda-endpoint',
      lambda.url,
      '--lambda-region',
      'us-east-1',
      '--lambda-access-key-id',
      LAMBDA_KEY.accessKeyId,
      '--lambda-secret-access-key',
      LAMBDA_KEY.secretAccessKey,
    ],
    env: { S3BATCH_RETRY_MAX_ATTEMPTS: '3', S3BATCH_API_KEYS_FILE: writeApiKeysFile(dataDir, [API_KEY]) },
  });
  api = new JsonApi(server.url);
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  await httpFunction?.stop();
  await lambda?.stop();
  s3?.destroy();
});

/** Runs a LambdaInvoke job over `keys` through the JSON API to Complete; returns its id and report rows by raw key. */
async function runJob(
  name: string,
  keys: string[],
  operation: Record<string, unknown>,
): Promise<{ jobId: string; rawKeys: string[]; rows: Map<string, string[]> }> {
  const m = await putManifest(
    s3,
    bucket,
    `m/${name}.csv`,
    keys.map((key) => ({ bucket, key })),
  );
  const { JobId } = await api.createJob(
    jobRequest({
      manifestBucket: bucket,
      manifestKey: `m/${name}.csv`,
      etag: m.etag,
      operation: { LambdaInvoke: operation },
      reportBucket: reports,
      reportPrefix: name,
      confirmationRequired: false,
    }),
  );
  const done = await api.waitFor(JobId, ['Complete', 'Failed']);
  expect(done.Job.Status).toBe('Complete');
  const report = await readReport(s3, reports, name, JobId);
  expect(report.rows).toHaveLength(keys.length);
  return { jobId: JobId, rawKeys: m.rawKeys, rows: new Map(report.rows.map((r) => [r[1]!, r])) };
}

describe('LambdaInvoke with an HTTP function', () => {
  it('sends the schema 1.0 payload and reports every outcome, redriving temporary failures', async () => {
    const keys = [
      'ok/quoted, "csv".txt',
      'echo key+plus.txt',
      'perm.txt',
      'temp-then-ok.txt',
      'always-temp.txt',
      'http500.txt',
      'slow.txt',
      'not-json.txt',
      'missing.txt',
      'redirect.txt',
      'http404.txt',
      'header-error.txt',
    ];
    const fn = `${httpFunction.url}/fn?token=s3cr3t`;
    const { jobId, rawKeys, rows } = await runJob('http', keys, { FunctionArn: fn });
    const raw = Object.fromEntries(keys.map((k, i) => [k, rawKeys[i]!]));
    const row = (key: string): string[] => rows.get(raw[key]!)!;

    expect(row('ok/quoted, "csv".txt')).toEqual([
      bucket,
      raw['ok/quoted, "csv".txt'],
      '',
      'succeeded',
      '200',
      '',
      CSV_HOSTILE,
    ]);
    expect(row('echo key+plus.txt')).toEqual([
      bucket,
      'echo%20key%2Bplus.txt',
      '',
      'succeeded',
      '200',
      '',
      'echo%20key%2Bplus.txt',
    ]);
    expect(row('perm.txt').slice(3)).toEqual(['failed', '200', 'PermanentFailure', 'cannot process, sorry']);
    expect(row('temp-then-ok.txt').slice(3)).toEqual(['succeeded', '200', '', 'third time lucky']);
    expect(row('always-temp.txt').slice(3)).toEqual(['failed', '200', 'TemporaryFailure', 'still busy #3']);
    expect(row('http500.txt').slice(3)).toEqual([
      'failed',
      '500',
      'TemporaryFailure',
      `HTTP function ${httpFunction.url}/fn answered 500 Internal Server Error: boom`,
    ]);
    expect(row('slow.txt').slice(3)).toEqual([
      'failed',
      '0',
      'PermanentFailure',
      `HTTP function ${httpFunction.url}/fn returned function error: Task timed out after 1.00 seconds (no complete answer)`,
    ]);
    expect(row('not-json.txt').slice(3)).toEqual([
      'failed',
      '200',
      'PermanentFailure',
      'Invalid JSON returned in Lambda payload: the answer is not JSON',
    ]);
    expect(row('missing.txt')[3]).toBe('failed');
    expect(row('missing.txt')[5]).toBe('PermanentFailure');
    expect(row('missing.txt')[6]).toMatch(/is missing from the results returned in Lambda payload$/);
    // Redirects are not followed (nothing is sent to elsewhere.example); the target is named without its query.
    expect(row('redirect.txt').slice(3)).toEqual([
      'failed',
      '302',
      'PermanentFailure',
      `HTTP function ${httpFunction.url}/fn answered 302 Found, a redirect to http://elsewhere.example/collect: redirects are not followed, set FunctionArn to the final URL`,
    ]);
    expect(row('http404.txt').slice(3)).toEqual([
      'failed',
      '404',
      'PermanentFailure',
      `HTTP function ${httpFunction.url}/fn answered 404 Not Found: no such route`,
    ]);
    expect(row('header-error.txt').slice(3)).toEqual([
      'failed',
      '200',
      'PermanentFailure',
      'HTTP function returned function error: {"errorMessage":"division by zero"}',
    ]);
    // The raw CSV quotes the resultString with its comma, quotes and line break (RFC 4180).
    const text = [...(await readReport(s3, reports, 'http', jobId)).files.values()].join('');
    expect(text).toContain(`,succeeded,200,,"indexed: ""title"", 3 words\nsecond line"\r\n`);
    // The URL's query string (a token) is sent but never written to the report.
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('secret=1');

    // Redrives: TemporaryFailure and 5xx are retried up to the 3 attempts; the rest run once.
    const count = (key: string): number => httpFunction.callsFor(raw[key]!).length;
    expect(Object.fromEntries(keys.map((k) => [k, count(k)]))).toEqual({
      'ok/quoted, "csv".txt': 1,
      'echo key+plus.txt': 1,
      'perm.txt': 1,
      'temp-then-ok.txt': 3,
      'always-temp.txt': 3,
      'http500.txt': 3,
      'slow.txt': 1,
      'not-json.txt': 1,
      'missing.txt': 1,
      'redirect.txt': 1,
      'http404.txt': 1,
      'header-error.txt': 1,
    });

    // The payload: schema 1.0 as AWS sends it, one task, the job id, the bucket ARN, the key URL-encoded.
    const first = httpFunction.callsFor(raw['ok/quoted, "csv".txt']!)[0]!;
    expect(first.method).toBe('POST');
    expect(first.path).toBe('/fn?token=s3cr3t');
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.body).toEqual({
      invocationSchemaVersion: '1.0',
      invocationId: expect.any(String),
      job: { id: jobId },
      tasks: [
        {
          taskId: expect.any(String),
          s3Key: 'ok/quoted%2C%20%22csv%22.txt',
          s3VersionId: null,
          s3BucketArn: `arn:aws:s3:::${bucket}`,
        },
      ],
    });
    // A task keeps its taskId across redrives; every invocation has its own invocationId.
    const redriven = httpFunction.callsFor(raw['temp-then-ok.txt']!);
    expect(new Set(redriven.map((c) => c.body.tasks[0]!.taskId)).size).toBe(1);
    expect(new Set(redriven.map((c) => c.body.invocationId)).size).toBe(3);
    expect(new Set(httpFunction.calls.map((c) => c.body.tasks[0]!.taskId)).size).toBe(keys.length);
  });

  it('a function nobody listens on: retried, then failed with the connection error', async () => {
    const closed = await new FunctionServer(() => ({ body: '' })).start();
    const url = `${closed.url}/gone`;
    await closed.stop();
    const { rows } = await runJob('refused', ['a.txt'], { FunctionArn: url });
    expect(rows.get('a.txt')!.slice(3, 6)).toEqual(['failed', '0', 'ECONNREFUSED']);
    expect(rows.get('a.txt')![6]).toMatch(new RegExp(`^Unable to invoke HTTP function ${url}: connect ECONNREFUSED`));
  });

  it('schema 2.0 sends the bucket by name and the UserArguments', async () => {
    const { jobId, rows } = await runJob('http2', ['v2.txt'], {
      FunctionArn: `${httpFunction.url}/v2`,
      InvocationSchemaVersion: '2.0',
      UserArguments: { mode: 'fast', note: 'a, "b"' },
    });
    expect(rows.get('v2.txt')!.slice(3)).toEqual(['succeeded', '200', '', 'args {"mode":"fast","note":"a, \\"b\\""}']);
    expect(httpFunction.callsFor('v2.txt').map((c) => c.body)).toEqual([
      {
        invocationSchemaVersion: '2.0',
        invocationId: expect.any(String),
        job: { id: jobId, userArguments: { mode: 'fast', note: 'a, "b"' } },
        tasks: [{ taskId: expect.any(String), s3Key: 'v2.txt', s3VersionId: null, s3Bucket: bucket }],
      },
    ]);
  });

  it('rejects a bad LambdaInvoke at CreateJob with InvalidRequest', async () => {
    const m = await putManifest(s3, bucket, 'm/bad.csv', [{ bucket, key: 'x' }]);
    const bad = async (operation: Record<string, unknown>): Promise<string> => {
      const err = await api
        .createJob(
          jobRequest({
            manifestBucket: bucket,
            manifestKey: 'm/bad.csv',
            etag: m.etag,
            operation: { LambdaInvoke: operation },
            reportBucket: reports,
          }),
        )
        .then(
          () => undefined,
          (e: unknown) => e as { status: number; code: string; message: string },
        );
      expect(err).toMatchObject({ status: 400, code: 'InvalidRequest' });
      return err!.message;
    };
    expect(await bad({ FunctionArn: httpFunction.url, UserArguments: { k: 'v' } })).toMatch(
      /UserArguments requires LambdaInvoke.InvocationSchemaVersion 2.0/,
    );
    expect(await bad({ FunctionArn: 'arn:aws:lambda:local:000000000000:function:f' })).toMatch(
      /neither a Lambda function/,
    );
    expect(await bad({ FunctionArn: httpFunction.url, InvocationSchemaVersion: '3.0' })).toMatch(/must be 1.0 or 2.0/);
  });
});

describe('LambdaInvoke with an AWS Lambda function (Lambda Invoke API stand-in)', () => {
  it('invokes the qualified function with the schema 2.0 payload; function errors and throttling as AWS reports them', async () => {
    const keys = ['ok.txt', 'fnerr.txt', 'throttled.txt'];
    const { jobId, rows } = await runJob('lambda', keys, {
      FunctionArn: FUNCTION,
      InvocationSchemaVersion: '2.0',
      UserArguments: { index: 'products', mode: 'reindex' },
    });

    expect(rows.get('ok.txt')).toEqual([
      bucket,
      'ok.txt',
      '',
      'succeeded',
      '200',
      '',
      '{"index":"products","mode":"reindex"}',
    ]);
    expect(rows.get('fnerr.txt')).toEqual([
      bucket,
      'fnerr.txt',
      '',
      'failed',
      '200',
      'PermanentFailure',
      `Lambda returned function error: ${TIMED_OUT}`,
    ]);
    expect(rows.get('throttled.txt')!.slice(3)).toEqual(['succeeded', '200', '', 'after 2 calls']);
    expect(Object.fromEntries(keys.map((k) => [k, lambda.callsFor(k).length]))).toEqual({
      'ok.txt': 1,
      'fnerr.txt': 1,
      'throttled.txt': 2,
    });

    const call = lambda.callsFor('ok.txt')[0]!;
    expect(call.method).toBe('POST');
    // The full ARN with its alias qualifier is the FunctionName, path-encoded by the SDK.
    expect(call.path).toBe(`/2015-03-31/functions/${encodeURIComponent(FUNCTION)}/invocations`);
    expect(call.headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(call.headers.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${LAMBDA_KEY.accessKeyId}/\\d{8}/us-east-1/lambda/aws4_request`),
    );
    expect(call.body).toEqual({
      invocationSchemaVersion: '2.0',
      invocationId: expect.any(String),
      job: { id: jobId, userArguments: { index: 'products', mode: 'reindex' } },
      tasks: [{ taskId: expect.any(String), s3Key: 'ok.txt', s3VersionId: null, s3Bucket: bucket }],
    });
  });

  it('an unknown function fails each task with ResourceNotFoundException (404), not retried', async () => {
    const missing = 'arn:aws:lambda:us-east-1:123456789012:function:no-such-function';
    const before = lambda.calls.length;
    const { rows } = await runJob('lambda404', ['a.txt', 'b.txt'], { FunctionArn: missing });
    for (const key of ['a.txt', 'b.txt']) {
      expect(rows.get(key)!.slice(3)).toEqual([
        'failed',
        '404',
        'ResourceNotFoundException',
        `Function not found: ${missing} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: req-404)`,
      ]);
    }
    expect(lambda.calls.length - before).toBe(2);
    // Schema 1.0 by default: the bucket by ARN, no userArguments.
    expect(lambda.calls.at(-1)!.body.job).toEqual({ id: expect.any(String) });
    expect(lambda.calls.at(-1)!.body.tasks[0]!.s3BucketArn).toBe(`arn:aws:s3:::${bucket}`);
  });
});

describe('LambdaInvoke through the S3 Control XML API', () => {
  it('the SDK carries an HTTP function URL in FunctionArn and UserArguments as an XML map', async () => {
    const client = hostPrefixClient(server.url, API_KEY);
    try {
      const m = await putManifest(s3, bucket, 'm/xml.csv', [{ bucket, key: 'xml.txt' }]);
      const fn = `${httpFunction.url}/xml`;
      const { JobId } = await client.send(
        new CreateJobCommand({
          AccountId: API_KEY.accountId,
          ConfirmationRequired: false,
          Operation: {
            LambdaInvoke: { FunctionArn: fn, InvocationSchemaVersion: '2.0', UserArguments: { via: 'xml', empty: '' } },
          },
          Manifest: {
            Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
            Location: { ObjectArn: `arn:aws:s3:::${bucket}/m/xml.csv`, ETag: m.etag },
          },
          Report: {
            Enabled: true,
            Bucket: `arn:aws:s3:::${reports}`,
            Prefix: 'xml',
            Format: 'Report_CSV_20180820',
            ReportScope: 'AllTasks',
          },
          Priority: 10,
          RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
        }),
      );
      const job = await waitForJob(client, API_KEY.accountId, JobId!, ['Complete', 'Failed']);
      expect(job.Status).toBe('Complete');
      const described = await client.send(new DescribeJobCommand({ AccountId: API_KEY.accountId, JobId: JobId! }));
      expect(described.Job?.Operation?.LambdaInvoke).toEqual({
        FunctionArn: fn,
        InvocationSchemaVersion: '2.0',
        UserArguments: { via: 'xml', empty: '' },
      });
      expect(httpFunction.callsFor('xml.txt').map((c) => c.body.job)).toEqual([
        { id: JobId, userArguments: { via: 'xml', empty: '' } },
      ]);
      const report = await readReport(s3, reports, 'xml', JobId!);
      expect(report.rows).toEqual([[bucket, 'xml.txt', '', 'succeeded', '200', '', 'args {"via":"xml","empty":""}']]);
    } finally {
      client.destroy();
    }
  });
});

describe('the HTTP function invoker, in process', () => {
  it('stops an invocation in flight when the job stops (its signal), and the function sees the connection close', async () => {
    let closed!: () => void;
    const sawClose = new Promise<void>((resolve) => (closed = resolve));
    const fn = await new FunctionServer(() => ({ delayMs: 30_000, body: '' })).start();
    const invoker = createHttpFunctionInvoker({ timeoutMs: 60_000 });
    try {
      const ctl = new AbortController();
      const pending = invoker.invoke(`${fn.url}/slow`, JSON.stringify({ tasks: [{ s3Key: 'k' }] }), ctl.signal);
      while (fn.calls.length === 0) await new Promise((r) => setTimeout(r, 10));
      fn.onClose(closed);
      ctl.abort(new Error('job paused'));
      await expect(pending).rejects.toThrow('job paused');
      await sawClose;
    } finally {
      invoker.close?.();
      await fn.stop();
    }
  });

  it('reuses one keep-alive connection for successive invocations', async () => {
    const fn = await new FunctionServer((call) => ({ body: result(call, 'Succeeded', '') })).start();
    const invoker = createHttpFunctionInvoker({ timeoutMs: 5_000 });
    try {
      for (let i = 0; i < 3; i++) {
        const payload = JSON.stringify({
          invocationSchemaVersion: '1.0',
          invocationId: `i${i}`,
          job: { id: 'j' },
          tasks: [{ taskId: `t${i}`, s3Key: 'k' }],
        });
        expect(await invoker.invoke(fn.url, payload, new AbortController().signal)).toMatchObject({
          kind: 'answered',
          statusCode: 200,
        });
      }
      expect(fn.connections).toBe(1);
    } finally {
      invoker.close?.();
      await fn.stop();
    }
  });

  it('an answer cut off mid-body is a connection reset, retryable', async () => {
    const cutter = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"results": [');
        setTimeout(() => res.socket?.destroy(), 50);
      });
    });
    await new Promise<void>((resolve) => cutter.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(cutter.address() as AddressInfo).port}/cut`;
    const invoker = createHttpFunctionInvoker({ timeoutMs: 10_000 });
    try {
      expect(await invoker.invoke(url, '{}', new AbortController().signal)).toMatchObject({
        kind: 'failed',
        httpStatus: 0,
        code: 'ECONNRESET',
        retryable: true,
        message: expect.stringMatching(new RegExp(`^Unable to invoke HTTP function ${url}: the answer broke off`)),
      });
    } finally {
      invoker.close?.();
      cutter.closeAllConnections();
      await new Promise<void>((resolve) => cutter.close(() => resolve()));
    }
  });

  it('fails an answer larger than the limit instead of buffering it', async () => {
    const fn = await new FunctionServer(() => ({ body: 'x'.repeat(64 * 1024) })).start();
    const invoker = createHttpFunctionInvoker({ timeoutMs: 5_000, maxResponseBytes: 1024 });
    try {
      expect(
        await invoker.invoke(fn.url, JSON.stringify({ tasks: [{ s3Key: 'k' }] }), new AbortController().signal),
      ).toEqual({
        kind: 'failed',
        httpStatus: 200,
        code: 'PermanentFailure',
        message: `HTTP function ${fn.url}/ answered more than 1024 bytes`,
        retryable: false,
      });
    } finally {
      invoker.close?.();
      await fn.stop();
    }
  });
});
