/**
 * The members of every JSON API request body, nested, in one place (docs/s3control-api.md#json-unknown-members), and
 * the check that refuses a member a body does not have. CreateJob and PutJobTagging take the S3 Control model's
 * shapes, the same table the XML API reads its elements with (../s3control/xml-shapes.ts), so the two APIs know the
 * same members; the other bodies are the JSON API's own.
 *
 * The check runs before the service's semantic checks and looks only at member names: a value of the wrong type
 * is left to them, which name it. An unknown member is refused with InvalidRequest naming it by its path
 * (`Manifest.Spec.Formatt`), and, when it differs from a member only in case, the member meant. Every structure
 * is closed here, Operation and the generator's Filter included: the table lists every operation kind and every
 * filter member s3batch knows (the XML reader keeps those two open and lets the service judge them).
 * Pure: no I/O.
 */
import { S3BatchError } from '../../domain/errors.ts';
import {
  CreateJobRequestShape,
  elementName,
  PutJobTaggingRequestShape,
  type Member,
  type Shape,
  type StructureShape,
} from '../s3control/xml-shapes.ts';

function fields(names: readonly string[]): StructureShape {
  return { kind: 'structure', members: names.map((name) => ({ name, shape: { kind: 'string' } })) };
}

/**
 * CreateJob in JSON: the model's request plus the members that steer the checks at submit
 * (docs/job-lifecycle.md#checks-at-submit; the route takes them off before the service sees the request)
 * and `NotifyUrl` (the job's webhook, made the tag s3batch:notify).
 */
const JsonCreateJobShape: StructureShape = {
  ...CreateJobRequestShape,
  members: [
    ...CreateJobRequestShape.members,
    { name: 'SkipAccessCheck', shape: { kind: 'boolean' } },
    { name: 'RejectDuplicates', shape: { kind: 'boolean' } },
    { name: 'NotifyUrl', shape: { kind: 'string' } },
  ],
};

/** Every JSON body the API takes, by operation name. */
export const JSON_BODIES = {
  CreateJob: JsonCreateJobShape,
  PutJobTagging: PutJobTaggingRequestShape,
  UpdateJobPriority: fields(['Priority']),
  UpdateJobStatus: fields(['RequestedJobStatus', 'StatusUpdateReason']),
  /** POST /jobs/:id/pause and /resume (s3batch extension, docs/job-lifecycle.md#user-pause). */
  PauseJob: fields(['Reason']),
  ResumeJob: fields(['Reason']),
  /** POST /jobs/:id/retry (s3batch extension): the codes to retry and the new job's own settings. */
  RetryFailedTasks: fields(['Codes', 'ConfirmationRequired', 'Priority', 'Description']),
  /** POST /session (sign-in): the web page's camelCase members. */
  CreateSession: fields(['accessKeyId', 'secretAccessKey']),
} as const satisfies Record<string, StructureShape>;

export type JsonBodyName = keyof typeof JSON_BODIES;

/** A structure's accepted names (member name and, where the model renames it, the XML element name) → member. */
const namesCache = new WeakMap<StructureShape, Map<string, Member>>();

function namesOf(shape: StructureShape): Map<string, Member> {
  let names = namesCache.get(shape);
  if (names === undefined) {
    names = new Map();
    for (const m of shape.members) {
      names.set(m.name, m);
      names.set(elementName(m), m);
    }
    namesCache.set(shape, names);
  }
  return names;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where the walk is: member names and list indexes, from the body down. */
type Trail = (string | number)[];

/** `Manifest.Spec.Fields[0]` for ['Manifest', 'Spec', 'Fields', 0]. */
function pathOf(trail: Trail): string {
  let path = '';
  for (const step of trail) path += typeof step === 'number' ? `[${step}]` : path === '' ? step : `.${step}`;
  return path;
}

function unknownMember(shape: StructureShape, key: string, trail: Trail, body: JsonBodyName): never {
  const parent = pathOf(trail);
  const path = parent === '' ? key : `${parent}.${key}`;
  const lower = key.toLowerCase();
  const meant = shape.members.find((m) => m.name.toLowerCase() === lower || elementName(m).toLowerCase() === lower);
  if (meant !== undefined) {
    const meantPath = parent === '' ? meant.name : `${parent}.${meant.name}`;
    throw new S3BatchError(
      'InvalidRequest',
      `${JSON.stringify(path)} is not a member; did you mean ${JSON.stringify(meantPath)}?`,
    );
  }
  const known = shape.members.map((m) => m.name);
  throw new S3BatchError(
    'InvalidRequest',
    `${JSON.stringify(path)} is not a member: ${parent === '' ? body : parent} has ` +
      `${known.length > 0 ? known.join(', ') : 'no members'}; s3batch refuses it rather than ignore it`,
  );
}

// The walk builds no strings unless it refuses: it runs on every JSON body.
function checkValue(value: unknown, shape: Shape, trail: Trail, body: JsonBodyName): void {
  if (shape.kind === 'structure') {
    if (isPlainObject(value)) checkStructure(value, shape, trail, body);
  } else if (shape.kind === 'list' && Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      trail.push(i);
      checkValue(value[i], shape.item, trail, body);
      trail.pop();
    }
  }
  // Scalars and maps (UserMetadata, UserArguments: any key) have no members.
}

function checkStructure(obj: Record<string, unknown>, shape: StructureShape, trail: Trail, body: JsonBodyName): void {
  const names = namesOf(shape);
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    const member = names.get(key);
    if (member === undefined) unknownMember(shape, key, trail, body);
    const kind = member.shape.kind;
    if (kind !== 'structure' && kind !== 'list') continue;
    trail.push(key);
    checkValue(obj[key], member.shape, trail, body);
    trail.pop();
  }
}

/**
 * Throws InvalidRequest for the first member of `body` (a JSON object) that its body shape does not have, at any
 * depth; values are not checked.
 */
export function checkKnownMembers(body: Record<string, unknown>, name: JsonBodyName): void {
  checkStructure(body, JSON_BODIES[name], [], name);
}
