/**
 * The duplicate fingerprint of a job (docs/job-lifecycle.md#duplicate-jobs): two CreateJob requests
 * of one account with the same fingerprint would do the same work on the same objects. It covers
 * - the account;
 * - the RoleArn (it selects the storage profile, i.e. which storage the ARNs below name);
 * - the operation with every parameter (a copy's TargetResource and TargetKeyPrefix, a tag set,
 *   a Lambda function and its arguments, …): the operation's target is part of it;
 * - the manifest: its object ARN, version and ETag (quotes dropped), or the generator's whole
 *   specification (source bucket, filter, manifest output);
 * - the `s3batch:` tags that define what the job is (dry run, generator regex and cap).
 * Left out, as they change neither the objects nor the work: Priority, Description, Report,
 * ConfirmationRequired, ClientRequestToken and the other tags. Pure.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.ts';
import { creationOnlyTags } from '../domain/job-extensions.ts';
import type { CreateJobRequest } from '../domain/job-spec.ts';
import { stripQuotes } from './object-store.ts';

type FingerprintedRequest = Pick<CreateJobRequest, 'RoleArn' | 'Operation' | 'Manifest' | 'ManifestGenerator' | 'Tags'>;

/** The fingerprint (hex SHA-256) of an account's request. */
export function jobFingerprint(accountId: string, request: FingerprintedRequest): string {
  const location = request.Manifest?.Location;
  const manifest =
    location !== undefined
      ? {
          ObjectArn: location.ObjectArn,
          ObjectVersionId: location.ObjectVersionId,
          ETag: stripQuotes(location.ETag),
        }
      : undefined;
  const definingTags = creationOnlyTags(request.Tags)
    .map((t) => `${t.Key}=${t.Value}`)
    .sort();
  const parts = {
    v: 1,
    accountId,
    roleArn: request.RoleArn,
    operation: request.Operation,
    manifest,
    generator: request.ManifestGenerator,
    tags: definingTags,
  };
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

/** How long an ended job still counts as a duplicate's original. */
export const DUPLICATE_WINDOW_MS = 24 * 60 * 60 * 1000;
