/**
 * Writes the S3 Control job API's responses (docs/s3control-api.md#xml-encoding, docs/s3control-api.md#create-job,
 * docs/s3control-api.md#examples) from the service's views, driven by the shape table in xml-shapes.ts: the UTF-8
 * prolog, the namespace on the root, members in the model's order, list items named as the model says (`member`,
 * `ObjectEncryption`), maps as entry/key/value, timestamps as ISO-8601 UTC with milliseconds. No whitespace between
 * elements, so the same value always gives the same bytes.
 *
 * Text is entity-escaped: `& < > " '` by name, TAB, LF and CR as numeric references so they
 * survive XML end-of-line normalisation. Characters XML 1.0 cannot carry at all (the other C0
 * controls, U+FFFE/U+FFFF, unpaired surrogates) are written as U+FFFD: not even a reference such
 * as `&#1;` is well-formed (XML 1.0 §4.1, WFC Legal Character), and botocore (expat), hence the
 * aws CLI, rejects the whole document, so one such character in a failure reason or description
 * would make DescribeJob/ListJobs unreadable. The S3 Control request reader refuses them on
 * input, so a value sent through this API is never altered on the way back; they can only reach
 * here from elsewhere (an object key quoted in a failure reason, the JSON API).
 */
import { isObject } from '../../domain/field-checks.ts';
import type { S3Tag } from '../../domain/job-spec.ts';
import type { JobStatus } from '../../domain/job-status.ts';
import type { JobDescriptor, JobListDescriptor } from '../../service/batch-service.ts';
import {
  DOCUMENT_SHAPES,
  elementName,
  S3CONTROL_XMLNS,
  type DocumentName,
  type Shape,
  type StructureShape,
} from './xml-shapes.ts';

const PROLOG = '<?xml version="1.0" encoding="UTF-8"?>';

const NAMED: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Characters XML 1.0 cannot represent, not even as a character reference. */
export const NOT_XML_CHAR =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what XML 1.0 forbids
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Escapes text for element content (characters XML cannot carry become U+FFFD, see above). */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHAR, '\ufffd').replace(/[&<>"'\t\n\r]/g, (c) => NAMED[c] ?? `&#${c.charCodeAt(0)};`);
}

/** ISO-8601 UTC with milliseconds; a value that is not a date is written as it is (never invented). */
function formatTimestamp(value: unknown): string {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'string' || typeof value === 'number'
        ? new Date(value).getTime()
        : NaN;
  return Number.isNaN(ms) ? String(value) : new Date(ms).toISOString();
}

function mismatch(name: string, expected: string): never {
  throw new Error(`xml-responses: <${name}> expects ${expected}`);
}

function writeStructureContent(out: string[], shape: StructureShape, value: Record<string, unknown>): void {
  for (const member of shape.members) writeValue(out, elementName(member), member.shape, value[member.name]);
}

function writeValue(out: string[], name: string, shape: Shape, value: unknown): void {
  if (value === undefined || value === null) return;
  const start = out.length;
  out.push(`<${name}>`);
  // '' is how a JSON request may spell an empty element (`"S3DeleteObjectTagging": ""`, operations/index.ts).
  if (value === '' && shape.kind !== 'string') {
    out[start] = `<${name}/>`;
    return;
  }
  switch (shape.kind) {
    case 'structure':
      if (!isObject(value)) mismatch(name, 'an object');
      writeStructureContent(out, shape, value);
      break;
    case 'list':
      if (!Array.isArray(value)) mismatch(name, 'a list');
      for (const item of value) writeValue(out, shape.itemName, shape.item, item);
      break;
    case 'map':
      if (!isObject(value)) mismatch(name, 'a map');
      for (const [k, v] of Object.entries(value)) {
        out.push(`<entry><key>${escapeXml(k)}</key><value>${escapeXml(String(v ?? ''))}</value></entry>`);
      }
      break;
    case 'timestamp':
      out.push(escapeXml(formatTimestamp(value)));
      break;
    default:
      out.push(escapeXml(String(value)));
  }
  if (out.length === start + 1) out[start] = `<${name}/>`;
  else out.push(`</${name}>`);
}

/** Any job-API document from its JSON value (members the model does not know are not written). */
export function writeXmlDocument(document: DocumentName, value: Record<string, unknown>): string {
  const out: string[] = [PROLOG, `<${document} xmlns="${S3CONTROL_XMLNS}">`];
  writeStructureContent(out, DOCUMENT_SHAPES[document], value);
  out.push(`</${document}>`);
  return out.join('');
}

/** DescribeJob's JobDescriptor, with the manifest-generator members the model has. */
export type DescribedJob = JobDescriptor & {
  ManifestGenerator?: Record<string, unknown>;
  GeneratedManifestDescriptor?: {
    Format?: string;
    Location?: { ObjectArn: string; ObjectVersionId?: string; ETag: string };
  };
};

export function createJobResult(result: { JobId: string }): string {
  return writeXmlDocument('CreateJobResult', result);
}

export function describeJobResult(result: { Job: DescribedJob }): string {
  return writeXmlDocument('DescribeJobResult', result);
}

export function listJobsResult(result: { Jobs: readonly JobListDescriptor[]; NextToken?: string }): string {
  return writeXmlDocument('ListJobsResult', result);
}

export function updateJobPriorityResult(result: { JobId: string; Priority: number }): string {
  return writeXmlDocument('UpdateJobPriorityResult', result);
}

export function updateJobStatusResult(result: {
  JobId: string;
  Status: JobStatus | string;
  StatusUpdateReason?: string;
}): string {
  return writeXmlDocument('UpdateJobStatusResult', result);
}

export function getJobTaggingResult(result: { Tags: readonly S3Tag[] }): string {
  return writeXmlDocument('GetJobTaggingResult', result);
}

/**
 * The S3 Control error envelope (docs/s3control-api.md#error-envelope), which the SDKs map to typed exceptions by
 * `<Code>`.
 */
export function errorResponse(error: { code: string; message: string; requestId: string; hostId?: string }): string {
  return writeXmlDocument('ErrorResponse', {
    Error: { Code: error.code, Message: error.message },
    RequestId: error.requestId,
    HostId: error.hostId,
  });
}
