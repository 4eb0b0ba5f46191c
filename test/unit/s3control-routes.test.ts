/** The pure parts of the S3 Control routes: the account label of a Host header, and the model's error code per operation. */
import { describe, expect, it } from 'vitest';
import { S3BatchError } from '../../src/domain/errors.ts';
import { modelledError } from '../../src/api/s3control/error-envelope.ts';
import { hostAccountLabel } from '../../src/api/s3control/routes.ts';

describe('hostAccountLabel', () => {
  it.each([
    ['111122223333.localhost:8080', '111122223333'],
    ['111122223333.s3-control.example.internal', '111122223333'],
    ['111122223333.localhost.', '111122223333'],
    ['12.example.com', '12'],
    ['localhost:8080', undefined],
    ['batch.example.internal', undefined],
    ['127.0.0.1:8080', undefined],
    ['10.0.0.1', undefined],
    ['[::1]:8080', undefined],
    ['111122223333', undefined],
    ['a111122223333.localhost', undefined],
    [undefined, undefined],
    ['', undefined],
  ])('%j → %j', (host, label) => {
    expect(hostAccountLabel(host)).toBe(label);
  });
});

describe('modelledError', () => {
  const invalid = new S3BatchError('InvalidRequest', 'bad');
  it.each([
    ['ListJobs', 'InvalidRequestException'],
    ['DescribeJob', 'BadRequestException'],
    ['UpdateJobPriority', 'BadRequestException'],
    ['UpdateJobStatus', 'BadRequestException'],
    ['CreateJob', 'InvalidRequest'],
    ['PutJobTagging', 'InvalidRequest'],
  ] as const)('a validation failure of %s is %s', (operation, code) => {
    const err = modelledError(operation, invalid) as S3BatchError;
    expect({ code: err.code, status: err.status, message: err.message }).toEqual({ code, status: 400, message: 'bad' });
  });

  it('leaves every other error as it is', () => {
    for (const err of [
      new S3BatchError('NotFoundException', 'x'),
      new S3BatchError('TooManyTagsException', 'x'),
      new S3BatchError('IdempotencyException', 'x'),
      new Error('boom'),
    ]) {
      expect(modelledError('UpdateJobStatus', err)).toBe(err);
    }
  });
});
