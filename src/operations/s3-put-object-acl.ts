/**
 * S3PutObjectAcl (docs/operations.md#put-object-acl): replaces each object's whole ACL with PutObjectAcl, either a
 * canned ACL (x-amz-acl) or an explicit AccessControlList (Owner + Grants, sent as the XML body).
 * Exactly one of the two; both or neither is InvalidRequest at CreateJob.
 *
 * Grantee mapping: TypeIdentifier id → CanonicalUser/ID, emailAddress → AmazonCustomerByEmail/
 * EmailAddress, uri → Group/URI. A store that refuses the ACL (an owner ID that is not the
 * object's owner, an unknown e-mail, ACLs disabled) fails the task with its own answer.
 */
import type { Grant, ObjectCannedACL, Owner } from '@aws-sdk/client-s3';
import { succeeded } from '../domain/task.ts';
import {
  checkGrantCount,
  fieldsOf,
  invalid,
  isAbsent,
  isEmptyElement,
  onVersion,
  optEnum,
  optString,
} from './member-fields.ts';
import type { OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf } from './task-outcomes.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';

export type PutObjectAclConfig =
  | { readonly canned: ObjectCannedACL; readonly owner?: undefined; readonly grants?: undefined }
  | { readonly canned?: undefined; readonly owner: Owner; readonly grants: readonly Grant[] };

export const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'aws-exec-read',
  'authenticated-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;
const PERMISSIONS = ['FULL_CONTROL', 'READ', 'WRITE', 'READ_ACP', 'WRITE_ACP'] as const;
const GRANTEE_TYPES = ['id', 'emailAddress', 'uri'] as const;

const F = 'S3PutObjectAcl';

export const s3PutObjectAcl: OperationHandler<PutObjectAclConfig> = {
  name: 'S3PutObjectAcl',

  parse(member: unknown): PutObjectAclConfig {
    const m = fieldsOf(member, F, ['AccessControlPolicy']);
    if (isAbsent(m.AccessControlPolicy)) throw invalid(`${F}.AccessControlPolicy is required`);
    const P = `${F}.AccessControlPolicy`;
    const policy = fieldsOf(m.AccessControlPolicy, P, ['AccessControlList', 'CannedAccessControlList']);
    const hasList = !isAbsent(policy.AccessControlList);
    const hasCanned = !isAbsent(policy.CannedAccessControlList);
    if (hasList === hasCanned) {
      throw invalid(
        `${P} must contain exactly one of AccessControlList and CannedAccessControlList; got ${hasList ? 'both' : 'neither'}`,
      );
    }
    if (hasCanned) {
      return Object.freeze({
        canned: optEnum(policy.CannedAccessControlList, CANNED_ACLS, `${P}.CannedAccessControlList`)!,
      });
    }
    const L = `${P}.AccessControlList`;
    const list = fieldsOf(policy.AccessControlList, L, ['Owner', 'Grants']);
    if (isAbsent(list.Owner))
      throw invalid(`${L}.Owner is required (Owner.ID: the canonical user ID of the object owner)`);
    const ownerIn = fieldsOf(list.Owner, `${L}.Owner`, ['ID', 'DisplayName']);
    const ownerId = optString(ownerIn.ID, `${L}.Owner.ID`, 1, 1024);
    if (ownerId === undefined) throw invalid(`${L}.Owner.ID is required`);
    const ownerName = optString(ownerIn.DisplayName, `${L}.Owner.DisplayName`, 1, 1024);
    const owner: Owner = Object.freeze({ ID: ownerId, ...(ownerName === undefined ? {} : { DisplayName: ownerName }) });
    return Object.freeze({ owner, grants: parseAclGrants(list.Grants, `${L}.Grants`) });
  },

  describe(config, entry) {
    const what =
      config.canned !== undefined
        ? `set the canned ACL ${config.canned}`
        : `replace the ACL (owner ${config.owner.ID}, ${config.grants.length} grant${config.grants.length === 1 ? '' : 's'})`;
    return `S3PutObjectAcl: ${what}${onVersion(entry)}`;
  },

  async attempt(config, entry, ctx, signal) {
    try {
      await taskS3Of(ctx.s3).putObjectAcl(
        {
          Bucket: entry.bucket,
          Key: entry.key,
          VersionId: versionIdOf(entry),
          ...(config.canned !== undefined
            ? { ACL: config.canned }
            : { AccessControlPolicy: { Owner: config.owner, Grants: [...config.grants] } }),
        },
        signal,
      );
      return { result: succeeded(entry), retryable: false };
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return failureOutcome(entry, err);
    }
  },
};

/** Grants[] {Grantee{TypeIdentifier, Identifier, DisplayName}, Permission}; absent or empty ⇒ none. */
function parseAclGrants(value: unknown, field: string): readonly Grant[] {
  if (isAbsent(value) || isEmptyElement(value)) return Object.freeze([]);
  if (!Array.isArray(value)) throw invalid(`${field} must be a list of {Grantee, Permission} grants`);
  checkGrantCount(value, field);
  return Object.freeze(
    value.map((raw: unknown, i): Grant => {
      const where = `${field}[${i}]`;
      const g = fieldsOf(raw, where, ['Grantee', 'Permission']);
      const permission = optEnum(g.Permission, PERMISSIONS, `${where}.Permission`);
      if (permission === undefined) throw invalid(`${where}.Permission is required (one of ${PERMISSIONS.join(', ')})`);
      if (isAbsent(g.Grantee)) throw invalid(`${where}.Grantee is required`);
      const ge = fieldsOf(g.Grantee, `${where}.Grantee`, ['TypeIdentifier', 'Identifier', 'DisplayName']);
      const type = optEnum(ge.TypeIdentifier, GRANTEE_TYPES, `${where}.Grantee.TypeIdentifier`);
      if (type === undefined)
        throw invalid(`${where}.Grantee.TypeIdentifier is required (one of ${GRANTEE_TYPES.join(', ')})`);
      const id = optString(ge.Identifier, `${where}.Grantee.Identifier`, 1, 1024);
      if (id === undefined) throw invalid(`${where}.Grantee.Identifier is required`);
      const name = optString(ge.DisplayName, `${where}.Grantee.DisplayName`, 1, 1024);
      if (type === 'emailAddress' && !/^[^@\s]+@[^@\s]+$/.test(id))
        throw invalid(`${where}.Grantee.Identifier "${id}" is not an e-mail address`);
      if (type === 'uri' && !/^https?:\/\/\S+$/.test(id))
        throw invalid(
          `${where}.Grantee.Identifier "${id}" is not a group URI (e.g. http://acs.amazonaws.com/groups/global/AllUsers)`,
        );
      const grantee =
        type === 'id'
          ? { Type: 'CanonicalUser' as const, ID: id, ...(name === undefined ? {} : { DisplayName: name }) }
          : type === 'emailAddress'
            ? { Type: 'AmazonCustomerByEmail' as const, EmailAddress: id }
            : { Type: 'Group' as const, URI: id };
      return Object.freeze({ Grantee: Object.freeze(grantee), Permission: permission });
    }),
  );
}
