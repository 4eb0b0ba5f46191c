/**
 * The CLI's exit codes and stderr lines (src/cli/cli-errors.ts): 2 for the user's errors (bad
 * arguments and configuration, 4xx answers), 1 for the server's and the network's. The SDK
 * exceptions are the real classes of @aws-sdk/client-s3-control, built as its deserialiser builds them.
 */
import {
  BadRequestException,
  JobStatusException,
  NotFoundException,
  S3ControlServiceException,
} from '@aws-sdk/client-s3-control';
import { describe, expect, it } from 'vitest';
import {
  CliError,
  describeFailure,
  fileErrorText,
  networkErrorCode,
  unreachableError,
  usageError,
} from '../../src/cli/cli-errors.ts';
import { S3BatchError } from '../../src/domain/errors.ts';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, message: 'm' });

describe('describeFailure', () => {
  it.each([
    [new NotFoundException(meta(404)), 2, 's3batch: NotFoundException: m'],
    [new BadRequestException(meta(400)), 2, 's3batch: BadRequestException: m'],
    [new JobStatusException(meta(409)), 2, 's3batch: JobStatusException: m'],
    [
      new S3ControlServiceException({ name: 'AccessDenied', $fault: 'client', ...meta(403) }),
      2,
      's3batch: AccessDenied: m',
    ],
    [
      new S3ControlServiceException({ name: 'InvalidRequest', $fault: 'client', ...meta(400) }),
      2,
      's3batch: InvalidRequest: m',
    ],
    [
      new S3ControlServiceException({ name: 'InternalError', $fault: 'server', ...meta(500) }),
      1,
      's3batch: InternalError: m',
    ],
    [
      new S3ControlServiceException({ name: 'ServiceUnavailable', $fault: 'server', ...meta(503) }),
      1,
      's3batch: ServiceUnavailable: m',
    ],
  ])('an SDK %s answer → exit %i', (err, exitCode, line) => {
    expect(describeFailure(err)).toEqual({ exitCode, line });
  });

  it("CLI and configuration errors are the user's; internal ones the server's", () => {
    expect(describeFailure(usageError('bad'))).toEqual({ exitCode: 2, line: 's3batch: InvalidArgument: bad' });
    expect(describeFailure(new S3BatchError('InvalidConfiguration', 'no key'))).toEqual({
      exitCode: 2,
      line: 's3batch: InvalidConfiguration: no key',
    });
    expect(describeFailure(new S3BatchError('InternalServiceException', 'x')).exitCode).toBe(1);
    expect(describeFailure(new CliError('X', 'y', 1)).exitCode).toBe(1);
    const unexpected = describeFailure(new TypeError('boom'));
    expect(unexpected.exitCode).toBe(1);
    expect(unexpected.line).toMatch(/^s3batch: TypeError: /);
  });

  it("a failed local file call (mkdir over a file) is the user's: exit 2, the reason in words, no stack", () => {
    const eexist = Object.assign(new Error("EEXIST: file already exists, mkdir '/tmp/x'"), {
      code: 'EEXIST',
      syscall: 'mkdir',
      path: '/tmp/x',
      errno: -17,
    });
    expect(describeFailure(eexist)).toEqual({
      exitCode: 2,
      line: 's3batch: LocalFileError: cannot mkdir /tmp/x: a file of that name is in the way (EEXIST)',
    });
    expect(fileErrorText(Object.assign(new Error('x'), { code: 'EISDIR' }))).toBe(
      'it is a folder, not a file (EISDIR)',
    );
    expect(fileErrorText(Object.assign(new Error('x'), { code: 'EWEIRD' }))).toBe('EWEIRD');
  });

  it('a refused connection names the endpoint and how to start the server; exit 1', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8080'), { code: 'ECONNREFUSED' });
    expect(networkErrorCode(refused)).toBe('ECONNREFUSED');
    // fetch (undici) wraps it: TypeError('fetch failed') with the socket error as cause.
    expect(networkErrorCode(new TypeError('fetch failed', { cause: refused }))).toBe('ECONNREFUSED');
    expect(networkErrorCode(new Error('other'))).toBeUndefined();
    const f = describeFailure(unreachableError('http://127.0.0.1:8080', 'ECONNREFUSED', refused));
    expect(f.exitCode).toBe(1);
    expect(f.line).toMatch(
      /^s3batch: EndpointUnreachable: cannot reach the s3batch server at http:\/\/127\.0\.0\.1:8080 \(ECONNREFUSED\)\. Start it with `s3batch serve`/,
    );
  });
});
