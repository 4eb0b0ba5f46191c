/**
 * The job's operation as the engine and the workers run it: the parsed Operation member with the
 * job's `s3batch:` tags that change how it runs applied (docs/extensions.md#reserved-tags):
 *
 *  - `s3batch:count-copy-bytes=false`: S3PutObjectCopy counts no bytes and skips the HEAD that
 *    learns them (config.countBytes, s3-put-object-copy.ts);
 *  - `s3batch:dry-run=true`: the operation is wrapped so that it changes nothing (dry-run.ts).
 */
import { parseJobExtensions } from '../domain/job-extensions.ts';
import type { CreateJobRequest } from '../domain/job-spec.ts';
import type { CopyConfig } from './copy-config.ts';
import { withDryRun } from './dry-run.ts';
import type { ParsedOperation } from './index.ts';

export function withJobTags(
  parsed: ParsedOperation,
  request: Pick<CreateJobRequest, 'Tags' | 'Report'>,
): ParsedOperation {
  return withDryRun(withCopyBytes(parsed, request), request);
}

function withCopyBytes(parsed: ParsedOperation, request: Pick<CreateJobRequest, 'Tags'>): ParsedOperation {
  if (parsed.name !== 'S3PutObjectCopy' || parseJobExtensions(request.Tags).countCopyBytes !== false) return parsed;
  const config: CopyConfig = { ...(parsed.config as CopyConfig), countBytes: false };
  return { ...parsed, config: Object.freeze(config) };
}
