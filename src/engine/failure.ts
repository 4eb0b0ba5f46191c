import { isS3BatchError } from '../domain/errors.ts';

/** A job-level failure code and reason from any error (docs/errors.md#job-failure-codes; InternalError otherwise). */
export function failureOf(err: unknown): { code: string; message: string } {
  if (isS3BatchError(err)) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'InternalError', message };
}
