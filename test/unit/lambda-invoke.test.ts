// LambdaInvoke (docs/operations.md#lambda-invoke): parsing the operation, the invocation payloads of schema 1.0 and 2.0
// against the spec's examples, reading the function's answer, and the report row each outcome
// gives. The invokers themselves run against real HTTP servers in test/e2e/lambda-invoke.test.ts.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { S3BatchError } from '../../src/domain/errors.ts';
import type { TaskEntry } from '../../src/domain/task.ts';
import { formatReportRow } from '../../src/reports/report-format.ts';
import { lambdaInvoke, outcomeOf } from '../../src/operations/lambda-invoke.ts';
import { describeLambdaError } from '../../src/operations/lambda/aws-lambda-function.ts';
import {
  buildInvocationPayload,
  newInvocationId,
  parseInvocationResponse,
  taskIdFor,
} from '../../src/operations/lambda/invocation-payload.ts';
import { createRoutingInvoker, isHttpFunction, type LambdaInvoker } from '../../src/operations/lambda/invoker.ts';
import { parseOperation } from '../../src/operations/index.ts';

function parseError(member: unknown): string {
  try {
    lambdaInvoke.parse(member);
  } catch (err) {
    expect(err).toBeInstanceOf(S3BatchError);
    expect((err as S3BatchError).code).toBe('InvalidRequest');
    return (err as Error).message;
  }
  throw new Error(`parse accepted ${JSON.stringify(member)}`);
}

describe('LambdaInvoke.parse', () => {
  it.each([
    ['a bare function name', 'my-function'],
    ['a name with a version', 'my-function:7'],
    ['a partial ARN', '123456789012:function:my-function'],
    ['a full ARN', 'arn:aws:lambda:us-east-1:123456789012:function:my-function'],
    ['a full ARN with an alias', 'arn:aws:lambda:eu-west-3:123456789012:function:my_function:prod'],
    ['a full ARN with $LATEST', 'arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST'],
    ['a GovCloud ARN', 'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f'],
    [
      'the reserved built-in delete ARN (routed elsewhere, never rejected here)',
      'arn:aws:lambda:us-east-1:000000000000:function:s3batch-delete-objects',
    ],
    ['an http URL', 'http://127.0.0.1:9000/functions/index'],
    ['an https URL with a query string', 'https://fn.example.com/hook?token=abc'],
  ])('accepts %s', (_what, arn) => {
    expect(lambdaInvoke.parse({ FunctionArn: arn })).toEqual({ functionArn: arn, invocationSchemaVersion: '1.0' });
  });

  it('defaults InvocationSchemaVersion to 1.0 and keeps 2.0 with its UserArguments', () => {
    expect(lambdaInvoke.parse({ FunctionArn: 'f', InvocationSchemaVersion: '1.0' }).invocationSchemaVersion).toBe(
      '1.0',
    );
    const c = lambdaInvoke.parse({
      FunctionArn: 'f',
      InvocationSchemaVersion: '2.0',
      UserArguments: { k1: 'v1', empty: '' },
    });
    expect(c).toEqual({ functionArn: 'f', invocationSchemaVersion: '2.0', userArguments: { k1: 'v1', empty: '' } });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.userArguments)).toBe(true);
  });

  it('treats an empty UserArguments map as absent (docs/operations.md#lambda-invoke), either schema version', () => {
    expect(lambdaInvoke.parse({ FunctionArn: 'f', UserArguments: {} })).toEqual({
      functionArn: 'f',
      invocationSchemaVersion: '1.0',
    });
    expect(lambdaInvoke.parse({ FunctionArn: 'f', InvocationSchemaVersion: '2.0', UserArguments: '' })).toEqual({
      functionArn: 'f',
      invocationSchemaVersion: '2.0',
    });
  });

  it('reads an empty <value/> from the XML layer (null) as an empty string', () => {
    expect(
      lambdaInvoke.parse({ FunctionArn: 'f', InvocationSchemaVersion: '2.0', UserArguments: { k: null } })
        .userArguments,
    ).toEqual({ k: '' });
  });

  it.each([
    ['no FunctionArn', {}, /FunctionArn is required/],
    ['an empty member', '', /FunctionArn is required/],
    ['a non-string FunctionArn', { FunctionArn: 42 }, /FunctionArn must be a string/],
    [
      'a FunctionArn over 1024 characters',
      { FunctionArn: `https://h/${'a'.repeat(1020)}` },
      /FunctionArn must be 1\.\.1024 characters long, got 1030/,
    ],
    [
      'a region the model pattern rejects',
      { FunctionArn: 'arn:aws:lambda:local:000000000000:function:f' },
      /neither a Lambda function .* nor an http\(s\) URL/,
    ],
    ['a name with a slash', { FunctionArn: 'my/function' }, /neither a Lambda function/],
    ['an ftp URL', { FunctionArn: 'ftp://host/f' }, /neither a Lambda function/],
    ['a URL without a host', { FunctionArn: 'http://' }, /not a valid http\(s\) URL/],
    ['a URL with a fragment', { FunctionArn: 'http://h/f#x' }, /#fragment/],
    ['schema 3.0', { FunctionArn: 'f', InvocationSchemaVersion: '3.0' }, /must be 1\.0 or 2\.0, got "3\.0"/],
    ['an empty schema version', { FunctionArn: 'f', InvocationSchemaVersion: '' }, /must be 1\.0 or 2\.0, got ""/],
    ['a numeric schema version', { FunctionArn: 'f', InvocationSchemaVersion: 2 }, /must be 1\.0 or 2\.0, got 2/],
    [
      'UserArguments without a schema version',
      { FunctionArn: 'f', UserArguments: { k: 'v' } },
      /UserArguments requires .*InvocationSchemaVersion 2\.0/,
    ],
    [
      'UserArguments with schema 1.0',
      { FunctionArn: 'f', InvocationSchemaVersion: '1.0', UserArguments: { k: 'v' } },
      /UserArguments requires/,
    ],
    [
      '11 UserArguments',
      {
        FunctionArn: 'f',
        InvocationSchemaVersion: '2.0',
        UserArguments: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])),
      },
      /11 entries; at most 10/,
    ],
    [
      'a 65-character key',
      { FunctionArn: 'f', InvocationSchemaVersion: '2.0', UserArguments: { ['k'.repeat(65)]: 'v' } },
      /must be 1\.\.64 characters long, got 65/,
    ],
    [
      'an empty key',
      { FunctionArn: 'f', InvocationSchemaVersion: '2.0', UserArguments: { '': 'v' } },
      /key "" must be 1\.\.64 characters long, got 0/,
    ],
    [
      'a 1025-character value',
      { FunctionArn: 'f', InvocationSchemaVersion: '2.0', UserArguments: { k: 'v'.repeat(1025) } },
      /UserArguments\["k"\] must be 0\.\.1024 characters long, got 1025/,
    ],
    [
      'a non-string value',
      { FunctionArn: 'f', InvocationSchemaVersion: '2.0', UserArguments: { k: 1 } },
      /UserArguments\["k"\] must be a string/,
    ],
    [
      'a list of UserArguments',
      { FunctionArn: 'f', InvocationSchemaVersion: '2.0', UserArguments: [{ key: 'k', value: 'v' }] },
      /must be a map/,
    ],
  ])('rejects %s with InvalidRequest', (_what, member, message) => {
    expect(parseError(member)).toMatch(message);
  });

  it('accepts the limits themselves: 10 entries, a 64-character key, a 1024-character value', () => {
    const args = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']));
    args['k'.repeat(64)] = 'v'.repeat(1024);
    expect(
      Object.keys(
        lambdaInvoke.parse({ FunctionArn: 'f', InvocationSchemaVersion: '2.0', UserArguments: args }).userArguments!,
      ),
    ).toHaveLength(10);
  });

  it('is registered: a LambdaInvoke job parses through the operation registry', () => {
    const parsed = parseOperation({
      LambdaInvoke: {
        FunctionArn: 'https://fn.example.com/',
        InvocationSchemaVersion: '2.0',
        UserArguments: { a: 'b' },
      },
    });
    expect(parsed.name).toBe('LambdaInvoke');
    expect(parsed.handler).toBe(lambdaInvoke);
    expect(parsed.config).toEqual({
      functionArn: 'https://fn.example.com/',
      invocationSchemaVersion: '2.0',
      userArguments: { a: 'b' },
    });
  });
});

describe('invocation payloads (docs/operations.md#lambda-payloads)', () => {
  it('schema 1.0: the spec example, member for member and in the same order', () => {
    const payload = buildInvocationPayload(
      {
        jobId: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce',
        taskId: 'dGFza2lkZ29lc2hlcmUK',
        bucket: 'amzn-s3-demo-bucket',
        rawKey: 'customerImage1.jpg',
        versionId: '1',
      },
      { schemaVersion: '1.0', invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo' },
    );
    const spec = {
      invocationSchemaVersion: '1.0',
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      job: { id: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce' },
      tasks: [
        {
          taskId: 'dGFza2lkZ29lc2hlcmUK',
          s3Key: 'customerImage1.jpg',
          s3VersionId: '1',
          s3BucketArn: 'arn:aws:s3:::amzn-s3-demo-bucket',
        },
      ],
    };
    expect(JSON.stringify(payload)).toBe(JSON.stringify(spec));
  });

  it('schema 2.0: the spec example (bucket by name, null version, job.userArguments)', () => {
    const payload = buildInvocationPayload(
      {
        jobId: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce',
        taskId: 'dGFza2lkZ29lc2hlcmUK',
        bucket: 'powertools-dataset',
        rawKey: 'prefix/dataset/dataset.20231222.json.gz',
      },
      {
        schemaVersion: '2.0',
        userArguments: { k1: 'v1', k2: 'v2' },
        invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      },
    );
    const spec = {
      invocationSchemaVersion: '2.0',
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      job: { id: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce', userArguments: { k1: 'v1', k2: 'v2' } },
      tasks: [
        {
          taskId: 'dGFza2lkZ29lc2hlcmUK',
          s3Key: 'prefix/dataset/dataset.20231222.json.gz',
          s3VersionId: null,
          s3Bucket: 'powertools-dataset',
        },
      ],
    };
    expect(JSON.stringify(payload)).toBe(JSON.stringify(spec));
  });

  it('passes the key URL-encoded, exactly as the manifest wrote it, in both schemas', () => {
    const task = { jobId: 'j', taskId: 't', bucket: 'b', rawKey: 'photos/a%20b+c%2Bd.jpg', versionId: '' };
    for (const schemaVersion of ['1.0', '2.0'] as const) {
      const p = buildInvocationPayload(task, { schemaVersion, invocationId: 'i' });
      expect(p.tasks[0]!.s3Key).toBe('photos/a%20b+c%2Bd.jpg');
      expect(p.tasks[0]!.s3VersionId).toBeNull();
    }
  });

  it('schema 2.0 without UserArguments sends an empty userArguments object', () => {
    const p = buildInvocationPayload(
      { jobId: 'j', taskId: 't', bucket: 'b', rawKey: 'k' },
      { schemaVersion: '2.0', invocationId: 'i' },
    );
    expect(p.job).toEqual({ id: 'j', userArguments: {} });
  });

  it('task ids are stable per task and distinct between tasks; invocation ids are fresh each time', () => {
    expect(taskIdFor('job-1', 7)).toBe(taskIdFor('job-1', 7));
    expect(taskIdFor('job-1', 7)).not.toBe(taskIdFor('job-1', 8));
    expect(taskIdFor('job-1', 7)).not.toBe(taskIdFor('job-2', 7));
    expect(Buffer.from(taskIdFor('job-1', 7), 'base64').toString()).toBe('job-1:7');
    const ids = new Set(Array.from({ length: 100 }, () => newInvocationId()));
    expect(ids.size).toBe(100);
  });
});

describe('reading the function answer', () => {
  const answer = (results: unknown, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ invocationSchemaVersion: '1.0', invocationId: 'i', ...extra, results });

  it.each(['Succeeded', 'TemporaryFailure', 'PermanentFailure'] as const)(
    'reads resultCode %s with its resultString',
    (code) => {
      expect(
        parseInvocationResponse(answer([{ taskId: 't', resultCode: code, resultString: 'said "x", y' }]), 't'),
      ).toEqual({ resultCode: code, resultString: 'said "x", y' });
    },
  );

  it('reads the spec response example', () => {
    const body =
      '{"invocationSchemaVersion":"1.0","treatMissingKeysAs":"PermanentFailure","invocationId":"YXNk","results":[{"taskId":"dGFza2lkZ29lc2hlcmUK","resultCode":"Succeeded","resultString":"[\\"Mary Major\\", \\"John Stiles\\"]"}]}';
    expect(parseInvocationResponse(body, 'dGFza2lkZ29lc2hlcmUK')).toEqual({
      resultCode: 'Succeeded',
      resultString: '["Mary Major", "John Stiles"]',
    });
  });

  it('an absent or null resultString is empty', () => {
    expect(parseInvocationResponse(answer([{ taskId: 't', resultCode: 'Succeeded' }]), 't')).toEqual({
      resultCode: 'Succeeded',
      resultString: '',
    });
    expect(
      parseInvocationResponse(answer([{ taskId: 't', resultCode: 'Succeeded', resultString: null }]), 't'),
    ).toEqual({ resultCode: 'Succeeded', resultString: '' });
  });

  it('picks the result of this task among several', () => {
    const body = answer([
      { taskId: 'other', resultCode: 'PermanentFailure' },
      { taskId: 't', resultCode: 'Succeeded', resultString: 'mine' },
    ]);
    expect(parseInvocationResponse(body, 't')).toEqual({ resultCode: 'Succeeded', resultString: 'mine' });
  });

  it('a task missing from results takes treatMissingKeysAs, PermanentFailure by default', () => {
    const missing = [{ taskId: 'someone-else', resultCode: 'Succeeded' }];
    expect(parseInvocationResponse(answer(missing), 't')).toEqual({
      resultCode: 'PermanentFailure',
      resultString: 'Task t is missing from the results returned in Lambda payload',
    });
    expect(parseInvocationResponse(answer(missing, { treatMissingKeysAs: 'Succeeded' }), 't')).toEqual({
      resultCode: 'Succeeded',
      resultString: '',
    });
    expect(parseInvocationResponse(answer([], { treatMissingKeysAs: 'TemporaryFailure' }), 't').resultCode).toBe(
      'TemporaryFailure',
    );
  });

  it.each([
    ['not JSON', 'Task timed out', /not JSON/],
    ['empty', '', /empty/],
    ['JSON null', 'null', /not a JSON object/],
    ['an array', '[]', /not a JSON object/],
    ['no results', '{"invocationId":"i"}', /"results" must be an array/],
    ['results not an array', '{"results":{"taskId":"t"}}', /"results" must be an array/],
    [
      'an unknown resultCode',
      answer([{ taskId: 't', resultCode: 'Success' }]),
      /"resultCode" must be one of Succeeded, TemporaryFailure, PermanentFailure, got "Success"/,
    ],
    ['no resultCode', answer([{ taskId: 't' }]), /got nothing/],
    [
      'a non-string resultString',
      answer([{ taskId: 't', resultCode: 'Succeeded', resultString: { a: 1 } }]),
      /"resultString" must be a string/,
    ],
    ['a bad treatMissingKeysAs', answer([], { treatMissingKeysAs: 'Ignore' }), /"treatMissingKeysAs" must be one of/],
  ])("an answer that is %s is Invalid with AWS's message", (_what, body, detail) => {
    const v = parseInvocationResponse(body, 't');
    expect(v.resultCode).toBe('Invalid');
    expect(v.resultString).toMatch(/^Invalid JSON returned in Lambda payload: /);
    expect(v.resultString).toMatch(detail);
  });
});

describe('report rows per outcome (docs/operations.md#lambda-results, docs/reports.md#result-rows)', () => {
  const entry: TaskEntry = { line: 3, bucket: 'awsexamplebucket1', key: 'image_17775', rawKey: 'image_17775' };
  const row = (code: Parameters<typeof outcomeOf>[2]): { row: string; retryable: boolean } => {
    const o = outcomeOf(entry, 200, code);
    return { row: formatReportRow(o.result), retryable: o.retryable };
  };

  it('Succeeded: succeeded,200,,<resultString>, CSV-quoted', () => {
    expect(row({ resultCode: 'Succeeded', resultString: "{u'CopySourceVersionId': 'x', u'a': 1}" })).toEqual({
      row: `awsexamplebucket1,image_17775,,succeeded,200,,"{u'CopySourceVersionId': 'x', u'a': 1}"\r\n`,
      retryable: false,
    });
  });

  it('TemporaryFailure: retryable; the row if it is the last attempt', () => {
    expect(row({ resultCode: 'TemporaryFailure', resultString: 'busy' })).toEqual({
      row: 'awsexamplebucket1,image_17775,,failed,200,TemporaryFailure,busy\r\n',
      retryable: true,
    });
    expect(row({ resultCode: 'TemporaryFailure', resultString: '' }).row).toContain(
      ',failed,200,TemporaryFailure,The function returned TemporaryFailure\r\n',
    );
  });

  it('PermanentFailure: failed,200,PermanentFailure,<resultString>, not retried', () => {
    expect(row({ resultCode: 'PermanentFailure', resultString: 'no such thing' })).toEqual({
      row: 'awsexamplebucket1,image_17775,,failed,200,PermanentFailure,no such thing\r\n',
      retryable: false,
    });
  });

  it('an unreadable answer: failed,200,PermanentFailure,Invalid JSON returned in Lambda payload…', () => {
    const v = parseInvocationResponse('Task timed out', 't');
    expect(row(v)).toEqual({
      row: 'awsexamplebucket1,image_17775,,failed,200,PermanentFailure,Invalid JSON returned in Lambda payload: the answer is not JSON\r\n',
      retryable: false,
    });
  });
});

describe('LambdaInvoke.attempt without an invoker', () => {
  it('fails the task permanently with a clear message instead of throwing', async () => {
    const config = lambdaInvoke.parse({ FunctionArn: 'f' });
    const ctx = { s3: undefined as never, multipartCopyThresholdBytes: 1, multipartCopyPartBytes: 1 };
    const out = await lambdaInvoke.attempt(
      config,
      { line: 1, bucket: 'b', key: 'k', rawKey: 'k' },
      ctx,
      new AbortController().signal,
    );
    expect(out.retryable).toBe(false);
    expect(out.result).toMatchObject({
      status: 'failed',
      errorCode: 'PermanentFailure',
      message: 'No function invoker is configured in this s3batch server',
    });
  });
});

describe('Invoke API errors (as @aws-sdk/client-lambda throws them)', () => {
  const sdkError = (name: string, status: number, message: string): Error =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status, requestId: 'req-1' } });

  it.each([
    ['TooManyRequestsException', 429, true],
    ['ServiceException', 500, true],
    ['EC2ThrottledException', 502, true],
    ['ResourceNotFoundException', 404, false],
    ['AccessDeniedException', 403, false],
    ['InvalidRequestContentException', 400, false],
  ])('%s (%d) is retryable: %s', (name, status, retryable) => {
    expect(
      describeLambdaError(sdkError(name, status, 'Function not found: arn:aws:lambda:us-east-1:1:function:f')),
    ).toEqual({
      kind: 'failed',
      httpStatus: status,
      code: name,
      message: `Function not found: arn:aws:lambda:us-east-1:1:function:f (Service: AWSLambda; Status Code: ${status}; Error Code: ${name}; Request ID: req-1)`,
      retryable,
    });
  });

  it('a network error (no HTTP answer) is retryable with status 0 and the network code', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(describeLambdaError(err)).toMatchObject({
      kind: 'failed',
      httpStatus: 0,
      code: 'ECONNREFUSED',
      retryable: true,
    });
  });
});

describe('routing FunctionArn to an invoker', () => {
  it('sends URLs to the HTTP invoker and everything else to Lambda, creating each on first use', async () => {
    const made: string[] = [];
    const fake = (kind: string): LambdaInvoker => ({
      invoke: async () => ({ kind: 'answered', statusCode: 200, payload: kind }),
    });
    const router = createRoutingInvoker({
      http: () => {
        made.push('http');
        return fake('http');
      },
      lambda: () => {
        made.push('lambda');
        return fake('lambda');
      },
    });
    const signal = new AbortController().signal;
    expect(made).toEqual([]);
    expect(await router.invoke('HTTPS://fn.example.com/', '{}', signal)).toMatchObject({ payload: 'http' });
    expect(await router.invoke('http://127.0.0.1/', '{}', signal)).toMatchObject({ payload: 'http' });
    expect(await router.invoke('arn:aws:lambda:us-east-1:123456789012:function:f', '{}', signal)).toMatchObject({
      payload: 'lambda',
    });
    expect(made).toEqual(['http', 'lambda']);
    expect(isHttpFunction('httpfunction')).toBe(false);
  });
});

describe('Lambda settings', () => {
  it('defaults: AWS Lambda, the S3 region and keys (resolved in main), 60 s HTTP-function timeout', () => {
    const c = loadConfig({}, {});
    expect([
      c.lambdaEndpoint,
      c.lambdaRegion,
      c.lambdaAccessKeyId,
      c.lambdaSecretAccessKey,
      c.functionTimeoutSeconds,
    ]).toEqual([undefined, undefined, undefined, undefined, 60]);
  });

  it('reads S3BATCH_LAMBDA_* and S3BATCH_FUNCTION_TIMEOUT_SECONDS; flags win', () => {
    const env = {
      S3BATCH_LAMBDA_ENDPOINT: 'http://127.0.0.1:9001',
      S3BATCH_LAMBDA_REGION: 'eu-west-1',
      S3BATCH_LAMBDA_ACCESS_KEY_ID: 'AK',
      S3BATCH_LAMBDA_SECRET_ACCESS_KEY: 'SK',
      S3BATCH_FUNCTION_TIMEOUT_SECONDS: '5',
    };
    expect(loadConfig({}, env)).toMatchObject({
      lambdaEndpoint: 'http://127.0.0.1:9001',
      lambdaRegion: 'eu-west-1',
      lambdaAccessKeyId: 'AK',
      lambdaSecretAccessKey: 'SK',
      functionTimeoutSeconds: 5,
    });
    expect(loadConfig({ functionTimeoutSeconds: '7', lambdaRegion: 'us-west-2' }, env)).toMatchObject({
      functionTimeoutSeconds: 7,
      lambdaRegion: 'us-west-2',
    });
  });

  it.each([
    [{ S3BATCH_LAMBDA_ENDPOINT: 'lambda.local:9001' }, /S3BATCH_LAMBDA_ENDPOINT/],
    [
      { S3BATCH_LAMBDA_ACCESS_KEY_ID: 'AK' },
      /Give both S3BATCH_LAMBDA_ACCESS_KEY_ID and S3BATCH_LAMBDA_SECRET_ACCESS_KEY/,
    ],
    [{ S3BATCH_FUNCTION_TIMEOUT_SECONDS: '0' }, /S3BATCH_FUNCTION_TIMEOUT_SECONDS.*from 1 to 900/],
  ])('rejects %j', (env, message) => {
    expect(() => loadConfig({}, env)).toThrow(message);
  });
});
