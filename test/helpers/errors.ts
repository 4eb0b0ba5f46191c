/**
 * Assertions on S3BatchError refusals in unit tests.
 */
import { expect } from 'vitest';
import { S3BatchError } from '../../src/domain/errors.ts';

/** `fn` throws an S3BatchError InvalidRequest whose message matches `pattern`. */
export function rejects(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(S3BatchError);
  expect((caught as S3BatchError).code).toBe('InvalidRequest');
  expect((caught as S3BatchError).message).toMatch(pattern);
}
