import { NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { TaskEntry } from '../../src/domain/task.ts';
import {
  failureOutcome,
  missingVersionOutcome,
  rethrowIfOwnAbort,
  versionIdOf,
} from '../../src/operations/task-outcomes.ts';
import { describeS3Error, isRetryable } from '../../src/storage/s3-error-classification.ts';

/** What the SDK throws for an S3 error answer (shape observed against Ceph RGW and s3rver). */
function serviceError(
  name: string,
  status: number,
  message = 'UnknownError',
  extra: Record<string, unknown> = {},
): S3ServiceException {
  const e = new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'REQ123', attempts: 1, totalRetryDelay: 0 },
    message,
  });
  return Object.assign(e, extra);
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, $metadata: { attempts: 1, totalRetryDelay: 0 } });
}

describe('describeS3Error: S3 answers', () => {
  it('NoSuchKey 404 with an S3 message: permanent, AWS-style message', () => {
    const e = serviceError('NoSuchKey', 404, 'The specified key does not exist.', { Code: 'NoSuchKey' });
    expect(describeS3Error(e)).toEqual({
      httpStatus: 404,
      code: 'NoSuchKey',
      message:
        'The specified key does not exist. (Service: Amazon S3; Status Code: 404; Error Code: NoSuchKey; Request ID: REQ123)',
      retryable: false,
    });
  });

  it('the SDK modelled NoSuchKey class', () => {
    const e = new NoSuchKey({
      $metadata: { httpStatusCode: 404, requestId: 'R' },
      message: 'The specified key does not exist.',
    });
    expect(describeS3Error(e)).toMatchObject({ httpStatus: 404, code: 'NoSuchKey', retryable: false });
  });

  it('Ceph answers without <Message> ("UnknownError"): S3 wording is filled in', () => {
    const info = describeS3Error(
      serviceError('PreconditionFailed', 412, 'UnknownError', { Code: 'PreconditionFailed' }),
    );
    expect(info.code).toBe('PreconditionFailed');
    expect(info.message).toMatch(
      /^At least one of the pre-conditions you specified did not hold \(Service: Amazon S3; Status Code: 412;/,
    );
    expect(info.retryable).toBe(false);
  });

  it('HEAD 404 without body or code (name NotFound) ⇒ NoSuchKey 404 with a sensible message', () => {
    const info = describeS3Error(serviceError('NotFound', 404));
    expect(info).toMatchObject({ httpStatus: 404, code: 'NoSuchKey', retryable: false });
    expect(info.message).toContain('The specified key does not exist.');
    expect(info.message).not.toContain('UnknownError');
  });

  it('HEAD 403 (name Forbidden) ⇒ AccessDenied', () => {
    expect(describeS3Error(serviceError('Forbidden', 403))).toMatchObject({
      httpStatus: 403,
      code: 'AccessDenied',
      retryable: false,
    });
  });

  it.each([
    ['NoSuchVersion', 404],
    ['NoSuchBucket', 404],
    ['AccessDenied', 403],
    ['InvalidRequest', 400],
    ['InvalidObjectState', 403],
    ['PreconditionFailed', 412],
    ['MethodNotAllowed', 405],
    ['NotImplemented', 501],
    ['InvalidTag', 400],
  ])('%s %i is permanent', (code, status) => {
    const info = describeS3Error(serviceError(code, status, 'x', { Code: code }));
    expect(info).toMatchObject({ httpStatus: status, code, retryable: false });
  });

  it.each([
    ['InternalError', 500],
    ['BadGateway', 502],
    ['ServiceUnavailable', 503],
    ['SlowDown', 503],
    ['GatewayTimeout', 504],
    ['TooManyRequests', 429],
    ['RequestTimeout', 400],
    ['OperationAborted', 409],
    ['Throttling', 400],
    ['ThrottlingException', 400],
    ['RequestThrottled', 400],
    ['InternalError', 200], // CopyObject's "200 with an error body"
  ])('%s %i is retryable', (code, status) => {
    expect(describeS3Error(serviceError(code, status, 'x', { Code: code })).retryable).toBe(true);
  });

  it('an unknown code keeps the store message and the status decides', () => {
    expect(describeS3Error(serviceError('Weird', 400, 'odd thing'))).toMatchObject({ code: 'Weird', retryable: false });
    expect(describeS3Error(serviceError('Weird', 503, 'odd thing')).retryable).toBe(true);
  });

  it('an answer with only a status gets a code from it', () => {
    expect(describeS3Error(serviceError('', 500, ''))).toMatchObject({
      httpStatus: 500,
      code: 'InternalError',
      retryable: true,
    });
    expect(describeS3Error(serviceError('', 418, ''))).toMatchObject({
      httpStatus: 418,
      code: 'Http418',
      retryable: false,
    });
  });

  it('includes the extended request id when there is one, and omits an unknown request id', () => {
    const e = serviceError('AccessDenied', 403, 'Access Denied', { Code: 'AccessDenied' });
    e.$metadata.extendedRequestId = 'EXT9';
    expect(describeS3Error(e).message).toBe(
      'Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: REQ123; S3 Extended Request ID: EXT9)',
    );
    const noId = serviceError('AccessDenied', 403, 'Access Denied');
    noId.$metadata.requestId = undefined;
    expect(describeS3Error(noId).message).toBe(
      'Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied)',
    );
  });
});

describe('describeS3Error: network failures', () => {
  it.each([
    ['ECONNRESET', 'read ECONNRESET'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'],
    ['ETIMEDOUT', 'connect ETIMEDOUT'],
    ['EPIPE', 'write EPIPE'],
  ])('%s is retryable, status 0', (code, message) => {
    const info = describeS3Error(networkError(code, message));
    expect(info).toMatchObject({ httpStatus: 0, code, retryable: true });
    expect(info.message).toContain(message);
  });

  it('socket hang up', () => {
    expect(describeS3Error(new Error('socket hang up'))).toMatchObject({
      httpStatus: 0,
      code: 'ECONNRESET',
      retryable: true,
    });
  });

  it('TimeoutError and a foreign AbortError', () => {
    const timeout = Object.assign(new Error('Connection timed out after 10000 ms'), { name: 'TimeoutError' });
    expect(describeS3Error(timeout)).toMatchObject({ httpStatus: 0, code: 'TimeoutError', retryable: true });
    const abort = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    expect(describeS3Error(abort)).toMatchObject({ httpStatus: 0, code: 'AbortError', retryable: true });
  });

  it('a network code found on the cause', () => {
    const e = new Error('request failed', { cause: networkError('ECONNRESET', 'read ECONNRESET') });
    expect(describeS3Error(e)).toMatchObject({ code: 'ECONNRESET', retryable: true });
  });

  it('anything else is permanent and never throws', () => {
    expect(describeS3Error(new TypeError('bad input'))).toMatchObject({
      httpStatus: 0,
      code: 'TypeError',
      retryable: false,
    });
    expect(describeS3Error('a string')).toMatchObject({ retryable: false });
    expect(describeS3Error(undefined)).toMatchObject({ retryable: false });
    expect(describeS3Error(null)).toMatchObject({ retryable: false });
  });
});

describe('isRetryable', () => {
  it('NotImplemented 501 is permanent even though it is a 5xx', () => {
    expect(isRetryable(501, 'NotImplemented')).toBe(false);
    expect(isRetryable(429, 'Whatever')).toBe(true);
  });
});

describe('task outcomes (operations/task-outcomes.ts)', () => {
  const entry: TaskEntry = { line: 3, bucket: 'src', key: 'a b', rawKey: 'a%20b', versionId: '' };

  it("missingVersionOutcome is AWS's row: 400 InvalidRequest, permanent", () => {
    expect(missingVersionOutcome(entry)).toEqual({
      result: {
        bucket: 'src',
        rawKey: 'a%20b',
        versionId: '',
        status: 'failed',
        httpStatus: 400,
        errorCode: 'InvalidRequest',
        message: 'Task failed due to missing VersionId',
      },
      retryable: false,
    });
  });

  it('failureOutcome carries status, code, message and retryability', () => {
    const out = failureOutcome(
      entry,
      serviceError('SlowDown', 503, 'Please reduce your request rate.', { Code: 'SlowDown' }),
    );
    expect(out.retryable).toBe(true);
    expect(out.result).toMatchObject({ status: 'failed', httpStatus: 503, errorCode: 'SlowDown' });
  });

  it('versionIdOf: undefined for no column and for an empty value', () => {
    expect(versionIdOf({ ...entry, versionId: undefined })).toBeUndefined();
    expect(versionIdOf(entry)).toBeUndefined();
    expect(versionIdOf({ ...entry, versionId: 'v1' })).toBe('v1');
  });

  it('rethrowIfOwnAbort rethrows only when our signal fired', () => {
    const ac = new AbortController();
    const err = new Error('x');
    expect(() => rethrowIfOwnAbort(err, ac.signal)).not.toThrow();
    ac.abort();
    expect(() => rethrowIfOwnAbort(err, ac.signal)).toThrow(err);
  });
});
