/**
 * S3DeleteObject — an s3batch extension (AWS has no delete operation, docs/extensions.md#delete-object): deletes each
 * manifest object, or exactly the version the manifest row names.
 *
 *  - A row with a VersionId deletes that version only (other versions stay).
 *  - A row without one is a plain delete: on a versioned bucket S3 then writes a delete marker and
 *    keeps every version; the report message says so.
 *  - Deleting a key that does not exist succeeds, as S3's DELETE does.
 *
 * Reached two ways, both explicit (nothing else in s3batch ever deletes an object):
 *  - JSON API / CLI: `Operation: { "S3DeleteObject": { "BypassGovernanceRetention"?: bool } }`;
 *  - S3 Control API (stock SDKs cannot send an unknown Operation member): `LambdaInvoke` with the
 *    reserved FunctionArn `arn:aws:lambda:<region>:000000000000:function:s3batch-delete-objects`
 *    (any region; schema 2.0 may pass UserArguments {"BypassGovernanceRetention": "true"}).
 *    Every other `…:000000000000:function:s3batch-…` name is reserved and rejected.
 *
 * Tasks are batched into DeleteObjects requests by a per-job DeleteBatcher (delete-batcher.ts).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3BatchError } from '../domain/errors.ts';
import { failed, succeeded } from '../domain/task.ts';
import { DeleteBatcher, s3DeleteTransport, type DeleteItemOutcome } from './delete-batcher.ts';
import { parseSchemaVersion } from './lambda-invoke.ts';
import { fieldsOf } from './member-fields.ts';
import type { OperationHandler } from './operation.ts';
import { versionIdOf } from './task-outcomes.ts';

export interface DeleteObjectConfig {
  /** Deletes versions under GOVERNANCE retention (x-amz-bypass-governance-retention). */
  readonly bypassGovernanceRetention: boolean;
}

/** The reserved function name of the built-in delete handler. */
export const BUILTIN_DELETE_FUNCTION = 's3batch-delete-objects';
/** The reserved account of built-in functions: `arn:aws:lambda:<region>:000000000000:function:s3batch-…`. */
export const BUILTIN_FUNCTION_ACCOUNT = '000000000000';
/** The FunctionArn to give LambdaInvoke for a delete job (any region works). */
export const BUILTIN_DELETE_FUNCTION_ARN = `arn:aws:lambda:us-east-1:${BUILTIN_FUNCTION_ACCOUNT}:function:${BUILTIN_DELETE_FUNCTION}`;

const RESERVED_FUNCTION = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):000000000000:function:(s3batch-[^:]*)(?::(.*))?$/;

/**
 * The built-in function a LambdaInvoke FunctionArn names: `'delete'` for the reserved delete ARN,
 * undefined for any other (a real function). A reserved-looking ARN that names no built-in (or
 * adds a qualifier) is an InvalidRequest, so a typo never reaches a real Lambda.
 */
export function builtinFunctionOf(functionArn: unknown): 'delete' | undefined {
  if (typeof functionArn !== 'string') return undefined;
  const m = RESERVED_FUNCTION.exec(functionArn);
  if (!m) return undefined;
  if (m[2] !== BUILTIN_DELETE_FUNCTION || m[3] !== undefined) {
    throw new S3BatchError(
      'InvalidRequest',
      `LambdaInvoke.FunctionArn ${functionArn} is in the reserved s3batch namespace but names no built-in function; the built-in delete is arn:aws:lambda:<region>:000000000000:function:${BUILTIN_DELETE_FUNCTION} (no qualifier)`,
    );
  }
  return 'delete';
}

const batchers = new WeakMap<DeleteObjectConfig, WeakMap<S3Client, DeleteBatcher>>();

/** The job's batcher: one per parsed config (i.e. per running job) and S3 client. */
function batcherFor(config: DeleteObjectConfig, s3: S3Client): DeleteBatcher {
  let perClient = batchers.get(config);
  if (!perClient) {
    perClient = new WeakMap();
    batchers.set(config, perClient);
  }
  let batcher = perClient.get(s3);
  if (!batcher) {
    batcher = new DeleteBatcher(s3DeleteTransport(s3, config.bypassGovernanceRetention));
    perClient.set(s3, batcher);
  }
  return batcher;
}

export const s3DeleteObject: OperationHandler<DeleteObjectConfig> & {
  parseLambdaForm(member: unknown): DeleteObjectConfig;
} = {
  name: 'S3DeleteObject',

  parse(member: unknown): DeleteObjectConfig {
    const m = fieldsOf(member, 'S3DeleteObject', ['BypassGovernanceRetention']);
    const bypass = m.BypassGovernanceRetention;
    if (bypass !== undefined && bypass !== null && typeof bypass !== 'boolean') {
      throw new S3BatchError('InvalidRequest', 'S3DeleteObject.BypassGovernanceRetention must be true or false');
    }
    return Object.freeze({ bypassGovernanceRetention: bypass === true });
  },

  /** The LambdaInvoke member whose FunctionArn is the reserved delete ARN. */
  parseLambdaForm(member: unknown): DeleteObjectConfig {
    const m = fieldsOf(member, 'LambdaInvoke', ['FunctionArn', 'InvocationSchemaVersion', 'UserArguments']);
    const schema = parseSchemaVersion(m.InvocationSchemaVersion);
    const args = m.UserArguments;
    if (args === undefined || args === null || args === '') return Object.freeze({ bypassGovernanceRetention: false });
    if (schema !== '2.0')
      throw new S3BatchError('InvalidRequest', 'LambdaInvoke.UserArguments requires InvocationSchemaVersion 2.0');
    const u = fieldsOf(args, `LambdaInvoke.UserArguments (of ${BUILTIN_DELETE_FUNCTION})`, [
      'BypassGovernanceRetention',
    ]);
    const bypass = u.BypassGovernanceRetention;
    if (bypass !== undefined && bypass !== 'true' && bypass !== 'false') {
      throw new S3BatchError(
        'InvalidRequest',
        `LambdaInvoke.UserArguments.BypassGovernanceRetention must be "true" or "false", got ${JSON.stringify(bypass)}`,
      );
    }
    return Object.freeze({ bypassGovernanceRetention: bypass === 'true' });
  },

  async attempt(config, entry, ctx, signal) {
    const versionId = versionIdOf(entry);
    const outcome = await batcherFor(config, ctx.s3).delete(entry.bucket, { key: entry.key, versionId }, signal);
    if (!outcome.ok)
      return { result: failed(entry, outcome.httpStatus, outcome.code, outcome.message), retryable: outcome.retryable };
    return { result: succeeded(entry, successMessage(versionId, outcome)), retryable: false };
  },

  describe(_config, entry) {
    const versionId = versionIdOf(entry);
    return versionId === undefined
      ? 'delete the object (a plain delete: on a versioned bucket a delete marker, all versions kept)'
      : `delete version ${versionId} of the object (other versions kept)`;
  },
};

function successMessage(versionId: string | undefined, outcome: Extract<DeleteItemOutcome, { ok: true }>): string {
  if (versionId !== undefined) return `Successful (deleted version ${versionId})`;
  if (outcome.deleteMarker) {
    const id = outcome.deleteMarkerVersionId ? ` ${outcome.deleteMarkerVersionId}` : '';
    return `Successful (plain delete: the bucket is versioned, so delete marker${id} now hides the object; its versions remain)`;
  }
  return 'Successful';
}
