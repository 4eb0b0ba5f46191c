// Benchmark `json-validation` (issue 11, part 5): how fast a JSON CreateJob body is judged, by
//   - hand    today's hand-written checks (validateCreateJobRequest), the baseline;
//   - walker  the known-members check the JSON API runs first (src/api/rest/json-members.ts);
//   - ajv     JSON Schema through ajv 8, the validator fastify compiles route schemas with, of the
//             same members (additionalProperties: false everywhere) plus each scalar's JSON type;
//             the schema is generated from the same shape table (what a TypeBox schema would
//             compile to: TypeBox only builds the JSON Schema, ajv runs it).
// The semantic rules (ARNs, exactly one operation, tag characters, cross-member rules, regex
// safety, …) are not expressible or not worth expressing in JSON Schema, so both candidates run
// before `hand`; the table gives each alone and combined, in ops/s, with the ratio to `hand`.
//
//   node --import tsx bench/json-validation.ts [--rounds 3] [--ms 400]
//
// ajv is not a dependency of s3batch: it is fastify's (through @fastify/ajv-compiler), imported
// here from node_modules as fastify does. Pure CPU: no server, no S3.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Options as AjvOptions } from 'ajv';
import { checkKnownMembers } from '../src/api/rest/json-members.ts';
import { CreateJobRequestShape, elementName, type Shape } from '../src/api/s3control/xml-shapes.ts';
import { validateCreateJobRequest } from '../src/service/validate-request.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, ms: { type: 'string' } } });
const ROUNDS = Number(values.rounds ?? 3);
const MS = Number(values.ms ?? 400);

type Json = Record<string, unknown>;

/** The shape table as JSON Schema: every structure closed, scalars typed (timestamps: ISO string or epoch seconds). */
function toSchema(shape: Shape): Json {
  switch (shape.kind) {
    case 'structure': {
      const properties: Record<string, Json> = {};
      for (const m of shape.members) {
        properties[m.name] = toSchema(m.shape);
        if (elementName(m) !== m.name) properties[elementName(m)] = toSchema(m.shape);
      }
      return { type: 'object', properties, additionalProperties: false };
    }
    case 'list':
      return { type: 'array', items: toSchema(shape.item) };
    case 'map':
      return { type: 'object', additionalProperties: { type: 'string' } };
    case 'boolean':
      return { type: ['boolean', 'null'] };
    case 'integer':
    case 'long':
      return { type: ['integer', 'null'] };
    case 'timestamp':
      return { type: ['string', 'number', 'null'] };
    default:
      return { type: ['string', 'null'] };
  }
}

const ACCOUNT = '111122223333';
const LEGAL: Json = {
  ConfirmationRequired: false,
  Operation: {
    S3PutObjectCopy: {
      TargetResource: 'arn:aws:s3:::target',
      CannedAccessControlList: 'bucket-owner-full-control',
      MetadataDirective: 'REPLACE',
      NewObjectMetadata: {
        CacheControl: 'no-cache',
        ContentType: 'text/plain',
        UserMetadata: { a: '1', b: 'two' },
        SSEAlgorithm: 'AES256',
      },
      NewObjectTagging: [
        { Key: 'k', Value: 'v' },
        { Key: 'k2', Value: 'v2' },
      ],
      StorageClass: 'STANDARD_IA',
      TargetKeyPrefix: 'copies/',
      ChecksumAlgorithm: 'CRC32C',
    },
  },
  Report: {
    Bucket: 'arn:aws:s3:::reports',
    Format: 'Report_CSV_20180820',
    Enabled: true,
    Prefix: 'rep',
    ReportScope: 'AllTasks',
  },
  ClientRequestToken: 'token-1',
  Manifest: {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
    Location: { ObjectArn: 'arn:aws:s3:::src/manifest.csv', ETag: '0123456789abcdef' },
  },
  Description: 'copy with metadata',
  Priority: 10,
  RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
  Tags: Array.from({ length: 10 }, (_, i) => ({ Key: `tag-${i}`, Value: `value ${i}` })),
};
const clone = (): Json => structuredClone(LEGAL);
const BODIES: Record<string, Json> = {
  'legal CreateJob': LEGAL,
  'top-level unknown (confirmationRequired)': { ...clone(), confirmationRequired: false },
  'nested unknown (…NewObjectMetadata.Colour)': (() => {
    const b = clone();
    ((b.Operation as Json).S3PutObjectCopy as Json).NewObjectMetadata = { Colour: 'red' };
    return b;
  })(),
  'semantic error (bad RoleArn)': { ...clone(), RoleArn: 'not-an-arn' },
};

const require = createRequire(import.meta.url);
const t0 = performance.now();
const Ajv = require('ajv') as new (o: AjvOptions) => import('ajv').default;
const tLoad = performance.now() - t0;
const schema = toSchema(CreateJobRequestShape);
const t1 = performance.now();
// fastify's defaults (@fastify/ajv-compiler) but removeAdditional and coerceTypes off: with its default
// removeAdditional: true, additionalProperties: false silently strips an unknown member instead of refusing it.
const ajv = new Ajv({
  allowUnionTypes: true,
  removeAdditional: false,
  coerceTypes: false,
  useDefaults: false,
  allErrors: false,
});
const ajvValidate = ajv.compile(schema);
const tCompile = performance.now() - t1;
const fastifyDefaults = new Ajv({
  allowUnionTypes: true,
  coerceTypes: 'array',
  useDefaults: true,
  removeAdditional: true,
  allErrors: false,
});
const stripped = structuredClone(BODIES['top-level unknown (confirmationRequired)']!);
const strippedOk = fastifyDefaults.compile(schema)(stripped);

const hand = (b: Json): void => {
  validateCreateJobRequest(b, { confirmationRequiredByDefault: true, now: new Date(0) });
};
const walker = (b: Json): void => checkKnownMembers(b, 'CreateJob');
const ajvCheck = (b: Json): void => {
  if (!ajvValidate(b)) throw new Error(ajv.errorsText(ajvValidate.errors));
};
const CANDIDATES: Record<string, (b: Json) => void> = {
  hand,
  walker,
  ajv: ajvCheck,
  'walker + hand': (b) => {
    walker(b);
    hand(b);
  },
  'ajv + hand': (b) => {
    ajvCheck(b);
    hand(b);
  },
};

/** Calls per second of `fn` on `body` over about MS milliseconds (a refusal counts as a call). */
function opsPerSecond(fn: (b: Json) => void, body: Json): number {
  let n = 0;
  const end = performance.now() + MS;
  let now = performance.now();
  const start = now;
  while (now < end) {
    for (let i = 0; i < 200; i++) {
      try {
        fn(body);
      } catch {}
    }
    n += 200;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

const outcome = (fn: (b: Json) => void, body: Json): string => {
  try {
    fn(body);
    return 'pass';
  } catch {
    return 'refuse';
  }
};

console.log(`json-validation: ${ROUNDS} round(s) of ${MS} ms per cell; node ${process.version}`);
console.log(`ajv: require ${tLoad.toFixed(1)} ms, compile ${tCompile.toFixed(1)} ms (once per process)`);
console.log(
  `fastify's default ajv options on "confirmationRequired": valid=${strippedOk}, member stripped=${!('confirmationRequired' in stripped)}`,
);
for (const fn of Object.values(CANDIDATES)) opsPerSecond(fn, LEGAL); // warm-up
for (let r = 1; r <= ROUNDS; r++) {
  console.log(`\nround ${r}`);
  console.log(
    `${'body'.padEnd(44)}${Object.keys(CANDIDATES)
      .map((c) => c.padStart(22))
      .join('')}`,
  );
  for (const [label, body] of Object.entries(BODIES)) {
    const base = opsPerSecond(hand, body);
    const cells = Object.entries(CANDIDATES).map(([name, fn]) => {
      const ops = name === 'hand' ? base : opsPerSecond(fn, body);
      return `${(ops / 1000).toFixed(0)}k/s ${(ops / base).toFixed(2)}× ${outcome(fn, body)}`.padStart(22);
    });
    console.log(`${label.padEnd(44)}${cells.join('')}`);
  }
}
