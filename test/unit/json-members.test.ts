/**
 * The JSON API's known-members check (src/api/rest/json-members.ts): an unknown member at any depth is
 * InvalidRequest naming it by its path, with the member meant when only the case differs; known members,
 * map keys and values of any type pass (the semantic checks judge values).
 */
import { describe, expect, it } from 'vitest';
import { checkKnownMembers, JSON_BODIES, type JsonBodyName } from '../../src/api/rest/json-members.ts';
import { OPENAPI_DOCUMENT, type Schema } from '../../src/api/rest/openapi.ts';
import type { Shape } from '../../src/api/s3control/xml-shapes.ts';
import { isS3BatchError } from '../../src/domain/errors.ts';

/** The refusal's code and message, or 'ok'. */
function check(body: Record<string, unknown>, name: JsonBodyName = 'CreateJob'): string {
  try {
    checkKnownMembers(body, name);
    return 'ok';
  } catch (err) {
    if (!isS3BatchError(err)) throw err;
    return `${err.code}: ${err.message}`;
  }
}

const LEGAL = {
  ConfirmationRequired: false,
  Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
  Manifest: {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
    Location: { ObjectArn: 'arn:aws:s3:::b/m.csv', ETag: 'e', ObjectVersionId: 'v' },
  },
  Report: { Enabled: true, Bucket: 'arn:aws:s3:::b', Format: 'Report_CSV_20180820', Prefix: 'p' },
  Priority: 1,
  RoleArn: 'arn:aws:iam::111122223333:role/r',
  ClientRequestToken: 't',
  Description: 'd',
  Tags: [{ Key: 'a', Value: 'b' }],
};

describe('checkKnownMembers', () => {
  it('passes a body of known members, whatever their values', () => {
    expect(check(LEGAL)).toBe('ok');
    expect(check({ Priority: 'high', Manifest: 'nope', Tags: 'x', Operation: [] })).toBe('ok');
    expect(check({ Tags: [1, null, 'x'] })).toBe('ok');
    expect(check({ ManifestGenerator: null, Report: null })).toBe('ok');
  });

  it('names a top-level member that differs only in case, and the one meant', () => {
    expect(check({ ...LEGAL, confirmationRequired: false })).toBe(
      'InvalidRequest: "confirmationRequired" is not a member; did you mean "ConfirmationRequired"?',
    );
  });

  it('names a nested unknown member by its path, with the members of its parent', () => {
    const body = { ...LEGAL, Manifest: { ...LEGAL.Manifest, Spec: { ...LEGAL.Manifest.Spec, Formatt: 'x' } } };
    expect(check(body)).toBe(
      'InvalidRequest: "Manifest.Spec.Formatt" is not a member: Manifest.Spec has Format, Fields; ' +
        's3batch refuses it rather than ignore it',
    );
    expect(check({ ...LEGAL, Report: { ...LEGAL.Report, scope: 'AllTasks' } })).toMatch(
      /^InvalidRequest: "Report\.scope" is not a member: Report has Bucket, Format, Enabled, /,
    );
    expect(check({ ...LEGAL, Report: { enabled: true } })).toBe(
      'InvalidRequest: "Report.enabled" is not a member; did you mean "Report.Enabled"?',
    );
  });

  it('looks into list items, operations and the generator filter', () => {
    expect(
      check({
        Tags: [
          { Key: 'a', Value: 'b' },
          { Key: 'c', value: 'd' },
        ],
      }),
    ).toBe('InvalidRequest: "Tags[1].value" is not a member; did you mean "Tags[1].Value"?');
    expect(check({ Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Valeu: 'v' }] } } })).toMatch(
      /^InvalidRequest: "Operation\.S3PutObjectTagging\.TagSet\[0\]\.Valeu" is not a member: /,
    );
    expect(check({ Operation: { s3PutObjectTagging: {} } })).toBe(
      'InvalidRequest: "Operation.s3PutObjectTagging" is not a member; did you mean "Operation.S3PutObjectTagging"?',
    );
    expect(check({ Operation: { S3PutObjectCopy: { NewObjectMetadata: { ContentTyp: 'x' } } } })).toMatch(
      /^InvalidRequest: "Operation\.S3PutObjectCopy\.NewObjectMetadata\.ContentTyp" is not a member: /,
    );
    const filter = (f: Record<string, unknown>) => ({
      ManifestGenerator: { S3JobManifestGenerator: { SourceBucket: 'arn:aws:s3:::b', Filter: f } },
    });
    expect(check(filter({ KeyNameRegex: 'a', MaxObjects: 1, MatchAnyStorageClass: ['STANDARD'] }))).toBe('ok');
    expect(check(filter({ KeyNameConstraint: { MatchAnyPrefixes: ['a'] } }))).toMatch(
      /^InvalidRequest: "ManifestGenerator\.S3JobManifestGenerator\.Filter\.KeyNameConstraint\.MatchAnyPrefixes" is not a member: .* has MatchAnyPrefix, MatchAnySuffix, MatchAnySubstring;/,
    );
    expect(check(filter({ maxObjects: 3 }))).toBe(
      'InvalidRequest: "ManifestGenerator.S3JobManifestGenerator.Filter.maxObjects" is not a member; ' +
        'did you mean "ManifestGenerator.S3JobManifestGenerator.Filter.MaxObjects"?',
    );
  });

  it('leaves the keys of maps free, and takes a renamed element by either name', () => {
    expect(check({ Operation: { LambdaInvoke: { UserArguments: { anything: 'x', Other: 'y' } } } })).toBe('ok');
    expect(check({ Operation: { S3PutObjectCopy: { NewObjectMetadata: { UserMetadata: { any: 'x' } } } } })).toBe('ok');
    const kms = { KMSKeyArn: 'arn', BucketKeyEnabled: true };
    expect(check({ Operation: { S3UpdateObjectEncryption: { ObjectEncryption: { SSEKMS: kms } } } })).toBe('ok');
    expect(check({ Operation: { S3UpdateObjectEncryption: { ObjectEncryption: { 'SSE-KMS': kms } } } })).toBe('ok');
  });

  it('refuses a member an empty structure does not have, and AccountId (the account is the key’s)', () => {
    expect(check({ Operation: { S3DeleteObjectTagging: { Force: true } } })).toBe(
      'InvalidRequest: "Operation.S3DeleteObjectTagging.Force" is not a member: ' +
        'Operation.S3DeleteObjectTagging has no members; s3batch refuses it rather than ignore it',
    );
    expect(check({ ...LEGAL, AccountId: '111122223333' })).toMatch(/^InvalidRequest: "AccountId" is not a member: /);
  });

  it('checks the other bodies: status, priority, tagging, sign-in', () => {
    expect(check({ RequestedJobStatus: 'Ready', StatusUpdateReason: 'go' }, 'UpdateJobStatus')).toBe('ok');
    expect(check({ requestedJobStatus: 'Ready' }, 'UpdateJobStatus')).toBe(
      'InvalidRequest: "requestedJobStatus" is not a member; did you mean "RequestedJobStatus"?',
    );
    expect(check({ Priority: 3 }, 'UpdateJobPriority')).toBe('ok');
    expect(check({ Priority: 3, Reason: 'x' }, 'UpdateJobPriority')).toBe(
      'InvalidRequest: "Reason" is not a member: UpdateJobPriority has Priority; s3batch refuses it rather than ignore it',
    );
    expect(check({ Tags: [] }, 'PutJobTagging')).toBe('ok');
    expect(check({ TagSet: [] }, 'PutJobTagging')).toMatch(/^InvalidRequest: "TagSet" is not a member: /);
    // The retry's members are PascalCase like the rest of the JSON API (only the sign-in is camelCase).
    expect(check({ Codes: ['NoSuchKey'], Priority: 5 }, 'RetryFailedTasks')).toBe('ok');
    expect(check({ codes: ['NoSuchKey'] }, 'RetryFailedTasks')).toBe(
      'InvalidRequest: "codes" is not a member; did you mean "Codes"?',
    );
    expect(check({ accessKeyId: 'a', secretAccessKey: 'b' }, 'CreateSession')).toBe('ok');
    expect(check({ AccessKeyId: 'a', secretAccessKey: 'b' }, 'CreateSession')).toBe(
      'InvalidRequest: "AccessKeyId" is not a member; did you mean "accessKeyId"?',
    );
  });
});

describe('the OpenAPI document', () => {
  const OPERATION_IDS: Record<JsonBodyName, string> = {
    CreateJob: 'CreateJob',
    PutJobTagging: 'PutJobTagging',
    UpdateJobPriority: 'UpdateJobPriority',
    UpdateJobStatus: 'UpdateJobStatus',
    PauseJob: 'PauseJob',
    ResumeJob: 'ResumeJob',
    CreateSession: 'SignIn',
    RetryFailedTasks: 'RetryFailedTasks',
  };
  const components = (OPENAPI_DOCUMENT.components as { schemas: Record<string, Schema> }).schemas;
  const resolve = (schema: Schema): Schema => {
    const ref = schema.$ref;
    return typeof ref === 'string' ? resolve(components[ref.replace('#/components/schemas/', '')]!) : schema;
  };
  const requestSchema = (operationId: string): Schema => {
    for (const item of Object.values(OPENAPI_DOCUMENT.paths)) {
      for (const op of Object.values(item as Record<string, { operationId?: string; requestBody?: unknown }>)) {
        if (op.operationId !== operationId) continue;
        const body = op.requestBody as { content: Record<string, { schema: Schema }> };
        return resolve(body.content['application/json']!.schema);
      }
    }
    throw new Error(`no operation ${operationId}`);
  };

  it('describes every closed request object with exactly the members the server takes', () => {
    const mismatches: string[] = [];
    let closed = 0;
    const walk = (schema: Schema, shape: Shape, path: string): void => {
      const s = resolve(schema);
      if (shape.kind === 'list' && s.type === 'array' && s.items) walk(s.items as Schema, shape.item, `${path}[]`);
      if (shape.kind !== 'structure' || s.additionalProperties !== false) return;
      closed++;
      const props = s.properties as Record<string, Schema>;
      const described = Object.keys(props).sort();
      const members = shape.members.map((m) => m.name).sort();
      if (described.join() !== members.join()) mismatches.push(`${path}: ${described} ≠ ${members}`);
      for (const m of shape.members) if (props[m.name]) walk(props[m.name]!, m.shape, `${path}.${m.name}`);
    };
    for (const [name, operationId] of Object.entries(OPERATION_IDS)) {
      walk(requestSchema(operationId), JSON_BODIES[name as JsonBodyName], name);
    }
    expect(mismatches).toEqual([]);
    // CreateJob with Manifest, Spec, Location, Report and Tags[]; PutJobTagging with Tags[]; the seven others
    expect(closed).toBe(14);
  });
});
