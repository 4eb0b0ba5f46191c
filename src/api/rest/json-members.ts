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

/** Every JSON body the API takes, by operation name. */
export const JSON_BODIES = {
  CreateJob: CreateJobRequestShape,
  PutJobTagging: PutJobTaggingRequestShape,
  UpdateJobPriority: fields(['Priority']),
  UpdateJobStatus: fields(['RequestedJobStatus', 'StatusUpdateReason']),
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

function unknownMember(shape: StructureShape, key: string, parent: string, where: string): never {
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
    `${JSON.stringify(path)} is not a member: ${where} has ${known.length > 0 ? known.join(', ') : 'no members'}` +
      '; s3batch refuses it rather than ignore it',
  );
}

function checkValue(value: unknown, shape: Shape, path: string, where: string): void {
  if (shape.kind === 'structure') {
    if (isPlainObject(value)) checkStructure(value, shape, path, where);
  } else if (shape.kind === 'list' && Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkValue(value[i], shape.item, `${path}[${i}]`, `${path}[${i}]`);
  }
  // Scalars and maps (UserMetadata, UserArguments: any key) have no members.
}

function checkStructure(obj: Record<string, unknown>, shape: StructureShape, parent: string, where: string): void {
  const names = namesOf(shape);
  for (const key of Object.keys(obj)) {
    const member = names.get(key);
    if (member === undefined) unknownMember(shape, key, parent, where);
    const path = parent === '' ? key : `${parent}.${key}`;
    checkValue(obj[key], member.shape, path, path);
  }
}

/**
 * Throws InvalidRequest for the first member of `body` (a JSON object) that its body shape does not have, at any
 * depth; values are not checked.
 */
export function checkKnownMembers(body: Record<string, unknown>, name: JsonBodyName): void {
  checkStructure(body, JSON_BODIES[name], '', name);
}
