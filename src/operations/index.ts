/**
 * The operation registry. Adding an operation kind = one new file exporting an OperationHandler
 * + one line in HANDLERS. Kinds the AWS model has but this version does not implement are
 * rejected at CreateJob with a clear message, never silently dropped.
 */
import { S3BatchError } from '../domain/errors.ts';
import {
  EXTENSION_OPERATION_NAMES,
  OPERATION_NAMES,
  type JobOperation,
  type OperationName,
} from '../domain/job-spec.ts';
import type { OperationHandler } from './operation.ts';
import { builtinFunctionOf, s3DeleteObject } from './s3-delete-object.ts';
import { s3ComputeObjectChecksum } from './s3-compute-object-checksum.ts';
import { lambdaInvoke } from './lambda-invoke.ts';
import { s3DeleteObjectTagging } from './s3-delete-object-tagging.ts';
import { s3InitiateRestoreObject } from './s3-initiate-restore-object.ts';
import { s3PutObjectAcl } from './s3-put-object-acl.ts';
import { s3PutObjectCopy } from './s3-put-object-copy.ts';
import { s3PutObjectLegalHold } from './s3-put-object-legal-hold.ts';
import { s3PutObjectRetention } from './s3-put-object-retention.ts';
import { s3PutObjectTagging } from './s3-put-object-tagging.ts';
import { s3ReplicateObject } from './s3-replicate-object.ts';
import { s3UpdateObjectEncryption } from './s3-update-object-encryption.ts';

const HANDLERS: Readonly<Partial<Record<OperationName, OperationHandler>>> = Object.freeze({
  S3PutObjectCopy: s3PutObjectCopy,
  S3PutObjectTagging: s3PutObjectTagging,
  S3DeleteObjectTagging: s3DeleteObjectTagging,
  S3PutObjectAcl: s3PutObjectAcl,
  S3InitiateRestoreObject: s3InitiateRestoreObject,
  S3ReplicateObject: s3ReplicateObject,
  S3PutObjectLegalHold: s3PutObjectLegalHold,
  S3PutObjectRetention: s3PutObjectRetention,
  S3ComputeObjectChecksum: s3ComputeObjectChecksum,
  S3UpdateObjectEncryption: s3UpdateObjectEncryption,
  S3DeleteObject: s3DeleteObject,
  LambdaInvoke: lambdaInvoke,
});

export function getOperation(name: OperationName): OperationHandler | undefined {
  return HANDLERS[name];
}

/** The AWS model's kinds, then s3batch's extension kinds (S3DeleteObject). */
const ALL_OPERATION_NAMES: readonly OperationName[] = [...OPERATION_NAMES, ...EXTENSION_OPERATION_NAMES];

/** Names of the kinds this version can run. */
export function supportedOperations(): OperationName[] {
  return ALL_OPERATION_NAMES.filter((n) => HANDLERS[n] !== undefined);
}

function isOperationName(name: string): name is OperationName {
  return (ALL_OPERATION_NAMES as readonly string[]).includes(name);
}

/**
 * The one operation member of a job's Operation (docs/operations.md#operation-member: exactly one child). A member is
 * present unless undefined/null, so an empty element (`<S3DeleteObjectTagging/>` ⇒ `''` or `{}`)
 * counts.
 */
export function operationOf(op: JobOperation): { name: OperationName; member: unknown } {
  if (typeof op !== 'object' || op === null || Array.isArray(op)) {
    throw new S3BatchError('InvalidRequest', `Operation must contain exactly one of ${ALL_OPERATION_NAMES.join(', ')}`);
  }
  const present = Object.entries(op).filter(([, v]) => v !== undefined && v !== null);
  const unknown = present.map(([k]) => k).filter((k) => !isOperationName(k));
  if (unknown.length > 0) {
    throw new S3BatchError(
      'InvalidRequest',
      `Operation has unknown member(s) ${unknown.join(', ')}; expected exactly one of ${ALL_OPERATION_NAMES.join(', ')}`,
    );
  }
  const [first, ...rest] = present;
  if (first === undefined || rest.length > 0) {
    const got = present.length === 0 ? 'none' : present.map(([k]) => k).join(', ');
    throw new S3BatchError(
      'InvalidRequest',
      `Operation must contain exactly one of ${ALL_OPERATION_NAMES.join(', ')}; got ${got}`,
    );
  }
  return { name: first[0] as OperationName, member: first[1] };
}

export interface ParsedOperation {
  readonly name: OperationName;
  readonly handler: OperationHandler;
  /** The handler's frozen config, to pass back to its prepare() and attempt(). */
  readonly config: unknown;
}

/** Validates the job's operation once, at CreateJob: its kind, handler and frozen config. */
export function parseOperation(op: JobOperation): ParsedOperation {
  const { name, member } = operationOf(op);
  // The built-in delete behind a reserved FunctionArn (docs/extensions.md#delete-object), before any real LambdaInvoke.
  if (name === 'LambdaInvoke' && builtinFunctionOf(functionArnOf(member)) === 'delete') {
    return { name, handler: s3DeleteObject as OperationHandler, config: s3DeleteObject.parseLambdaForm(member) };
  }
  const handler = getOperation(name);
  if (handler === undefined) {
    throw new S3BatchError(
      'InvalidRequest',
      `Operation ${name} is not supported yet by this s3batch version (supported: ${supportedOperations().join(', ')})`,
    );
  }
  return { name, handler, config: handler.parse(member) };
}

function functionArnOf(member: unknown): unknown {
  return typeof member === 'object' && member !== null ? (member as { FunctionArn?: unknown }).FunctionArn : undefined;
}
