/**
 * Reads S3 Control XML bodies into the JSON shape of the model (src/domain/job-spec.ts), driven
 * by the shape table in xml-shapes.ts (docs/s3control-api.md#xml-encoding). Lenient where the SDKs differ: element
 * order is free, list items may have any element name, the prolog and namespace are optional. Values take
 * their JSON types (numbers, booleans, arrays, objects; timestamps as ISO-8601 strings); a value
 * that does not fit its type is passed on as the raw string so that the service's validation
 * names the field (InvalidRequest). An element a structure of the model does not have is refused
 * (InvalidRequest), never dropped; in `open` structures (Operation, the generator's Filter) it is
 * kept, so an unknown operation kind or extension member reaches the service and is judged there.
 *
 * Safety: the body is size-limited, must be UTF-8, DOCTYPE declarations are refused (no entity
 * expansion, no external entities), only XML's predefined and numeric character references are
 * decoded, nesting is bounded, characters XML 1.0 cannot carry (`&#1;`) are refused. Every
 * failure is S3BatchError('MalformedXML').
 */
import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';
import { S3BatchError } from '../../domain/errors.ts';
import type { S3Tag } from '../../domain/job-spec.ts';
import {
  DOCUMENT_SHAPES,
  elementName,
  type DocumentName,
  type Member,
  type ScalarKind,
  type Shape,
  type StructureShape,
} from './xml-shapes.ts';

/**
 * Largest accepted body. A CreateJob body is a few KiB (S3 caps user metadata at 2 KB, a job has
 * at most 50 tags and 10 UserArguments); 256 KiB leaves ample room and bounds the CPU one request
 * can cost (measured: ~0.45 s to validate and parse a 1 MiB body of tiny elements, ~0.1 s here).
 */
export const MAX_XML_BODY_BYTES = 256 * 1024;

/** Deepest element nesting accepted (the model's tree is 8 deep; unknown elements get some slack). */
const MAX_DEPTH = 32;

export interface XmlReadOptions {
  readonly maxBytes?: number;
}

/** An element after parsing: its local name, child elements, and its decoded text. */
interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

function malformed(message: string): never {
  throw new S3BatchError(
    'MalformedXML',
    `The XML you provided was not well-formed or did not validate against our published schema: ${message}`,
  );
}

/** An element name as echoed in a message: at most 64 characters, so a huge tag is never repeated back. */
const echoName = (name: string): string => `<${name.length > 64 ? `${name.slice(0, 64)}…` : name}>`;

/** fast-xml-parser's validator messages with internal wording, as [pattern, plain words from the captures]. */
const VALIDATOR_MESSAGES: readonly (readonly [RegExp, (m: RegExpExecArray) => string])[] = [
  [/^Unclosed tag '(.*)'\.$/s, (m) => `element ${echoName(m[1] ?? '')} is not closed`],
  [/^Closing tag '(.*)' doesn't have proper closing\.$/s, (m) => `the end tag of ${echoName(m[1] ?? '')} is cut off`],
  [
    /^Expected closing tag '(.*)' \(opened in line (\d+), col (\d+)\) instead of closing tag '(.*)'\.$/s,
    (m) =>
      `element ${echoName(m[1] ?? '')} (opened at line ${m[2]}, column ${m[3]}) is closed by the end tag of ${echoName(m[4] ?? '')}`,
  ],
  [/^Closing tag '(.*)' has not been opened\.$/s, (m) => `the end tag of ${echoName(m[1] ?? '')} has no start tag`],
  [
    /^Closing tag '(.*)' can't have attributes or invalid starting\.$/s,
    (m) => `the end tag of ${echoName(m[1] ?? '')} has attributes`,
  ],
  [/^Tag '(.*)' is an invalid name\.$/s, (m) => `${echoName(m[1] ?? '')} is not a valid element name`],
  [/^char '(.)' is not expected\.$/s, (m) => `unexpected character '${m[1]}'`],
  [/^Start tag expected\.$/, () => 'no element found'],
  [/^Multiple possible root nodes found\.$/, () => 'there is more than one root element'],
  [/^Extra text at the end$/, () => 'there is text after the root element'],
];

/**
 * fast-xml-parser's validator messages in plain words. Several unclosed elements come from it as
 * `Invalid '[ "A", "B"]' found` (a JSON dump of its tag stack, at line 1, column 1): the innermost
 * one is named instead. Others are reworded (VALIDATOR_MESSAGES); any other keeps its own words,
 * cut to 200 characters. Element names are echoed cut to 64 characters.
 */
export function plainValidatorMessage(err: { msg: string; line: number; col?: number }): string {
  const at = err.col === undefined ? `line ${err.line}` : `line ${err.line}, column ${err.col}`;
  const stack = /^Invalid '(\[.*\])' found\.$/s.exec(err.msg);
  if (stack) {
    let names: unknown;
    try {
      names = JSON.parse(stack[1] ?? '');
    } catch {
      names = undefined;
    }
    const inner = Array.isArray(names) ? names[names.length - 1] : undefined;
    return typeof inner === 'string'
      ? `The XML is not well-formed: element ${echoName(inner)} is not closed.`
      : 'The XML is not well-formed: some elements are not closed.';
  }
  for (const [pattern, plain] of VALIDATOR_MESSAGES) {
    const m = pattern.exec(err.msg);
    if (m) return `The XML is not well-formed: ${plain(m)} (${at}).`;
  }
  const msg = err.msg.length > 200 ? `${err.msg.slice(0, 200)}…` : err.msg;
  return `The XML is not well-formed: ${msg.replace(/\.$/, '')} (${at}).`;
}

// fast-xml-parser's CommonJS build, loaded at the first XML body: one bundled file, where its ES
// module build is a tree of files that adds ~50 ms to the server's start (bench/README.md).
type Fxp = typeof import('fast-xml-parser');
let fxp: { readonly parser: XMLParser; readonly validator: Fxp['XMLValidator'] } | undefined;
const xmlParser = (): NonNullable<typeof fxp> => {
  if (fxp) return fxp;
  const { XMLParser, XMLValidator } = createRequire(import.meta.url)('fast-xml-parser') as Fxp;
  fxp = { parser: new XMLParser(PARSER_OPTIONS), validator: XMLValidator };
  return fxp;
};

const PARSER_OPTIONS: ConstructorParameters<Fxp['XMLParser']>[0] = {
  preserveOrder: true,
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded here (decodeText), not by the parser: only the five predefined ones and
  // numeric references, so a declared entity can never expand.
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: false,
  maxNestedTags: MAX_DEPTH,
  // No path strings for callbacks we do not use: 4x faster on bodies of many small elements.
  jPath: false,
};

function decodeBody(body: Buffer | string, maxBytes: number): string {
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  if (size > maxBytes) malformed(`the body is ${size} bytes; at most ${maxBytes} bytes are accepted`);
  if (typeof body === 'string') return body.replace(/^\uFEFF/, '');
  try {
    // fatal: invalid UTF-8 is an error, not U+FFFD; the BOM, if any, is dropped.
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return malformed('the body is not valid UTF-8');
  }
}

const REFERENCE = /&(amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/y;
const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes character references in text; any other `&` (undeclared entity, bare ampersand) is malformed. */
function decodeText(raw: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let from = 0;
  for (let i = raw.indexOf('&'); i !== -1; i = raw.indexOf('&', from)) {
    out += raw.slice(from, i);
    REFERENCE.lastIndex = i;
    const m = REFERENCE.exec(raw);
    const ref = m?.[1];
    if (m === null || ref === undefined)
      malformed(`"${raw.slice(i, i + 12)}…" is not a character reference (entities are not supported)`);
    const predefined = PREDEFINED[ref];
    if (predefined !== undefined) {
      out += predefined;
    } else {
      const cp = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) malformed(`&${ref}; is not a valid character`);
      out += String.fromCodePoint(cp);
    }
    from = i + m[0].length;
  }
  return out + raw.slice(from);
}

/** C0 controls other than TAB, LF, CR, and U+FFFE/U+FFFF (surrogates cannot come out of UTF-8 or decodeText). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what XML 1.0 forbids
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

/** True when `text` holds a character XML 1.0 cannot carry (see NOT_XML_CHAR). */
export function hasNonXmlChar(text: string): boolean {
  return NOT_XML_CHAR.test(text);
}

/**
 * Refuses text with a character XML 1.0 cannot carry, raw or as a reference like `&#1;` (XML 1.0
 * §4.1, WFC Legal Character). Accepting it would store a value that xml-responses.ts can only
 * write back as U+FFFD (botocore and the aws CLI reject the whole document otherwise).
 */
function refuseNonXmlChars(el: XmlElement): void {
  const m = NOT_XML_CHAR.exec(el.text);
  if (m !== null) {
    const cp = `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    malformed(
      `<${el.name}> contains the character ${cp}, which XML 1.0 cannot carry (not even as a character reference)`,
    );
  }
}

type ParsedNode = Record<string, unknown>;

function nodeName(node: ParsedNode): string | undefined {
  return Object.keys(node).find((k) => k !== ':@');
}

/** fast-xml-parser's ordered nodes → XmlElement children and text of `parent`. */
function collect(parent: XmlElement, nodes: unknown): void {
  if (!Array.isArray(nodes)) return;
  for (const node of nodes as ParsedNode[]) {
    const name = nodeName(node);
    if (name === undefined) continue;
    const content = node[name];
    if (name === '#text') {
      parent.text += decodeText(String(content));
      refuseNonXmlChars(parent);
    } else if (name === '#cdata') {
      // CDATA content is literal: no references are decoded inside it.
      for (const part of Array.isArray(content) ? (content as ParsedNode[]) : []) {
        if (part['#text'] !== undefined) parent.text += String(part['#text']);
      }
      refuseNonXmlChars(parent);
    } else {
      const child: XmlElement = { name, children: [], text: '' };
      collect(child, content);
      parent.children.push(child);
    }
  }
}

/** Parses a document and returns its root element, checked to be `rootName`. */
function parseDocument(body: Buffer | string, rootName: string, options: XmlReadOptions): XmlElement {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) malformed('the body is missing');
  const maxBytes = options.maxBytes ?? MAX_XML_BODY_BYTES;
  // XML end-of-line handling (XML 1.0 §2.11); CR sent as &#13; or &#x0D; (as the SDKs do) survives.
  const xml = decodeBody(body, maxBytes).replace(/\r\n?/g, '\n');
  if (xml.trim() === '') malformed(`the body is empty; expected a <${rootName}> document`);
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) malformed('DOCTYPE and ENTITY declarations are not allowed');
  const { parser, validator } = xmlParser();
  const valid = validator.validate(xml);
  if (valid !== true) throw new S3BatchError('MalformedXML', plainValidatorMessage(valid.err));
  const top: XmlElement = { name: '#document', children: [], text: '' };
  try {
    collect(top, parser.parse(xml));
  } catch (err) {
    if (err instanceof S3BatchError) throw err;
    malformed(err instanceof Error ? err.message : String(err));
  }
  if (top.text.trim() !== '') malformed('text outside the root element');
  const [root, ...others] = top.children;
  if (root === undefined) malformed(`expected a <${rootName}> document`);
  if (others.length > 0) malformed('a document has exactly one root element');
  if (root.name !== rootName) malformed(`the root element is <${root.name}>; expected <${rootName}>`);
  if (!endsWithRoot(xml)) malformed('text after the root element');
  return root;
}

/**
 * Whether the document ends with its root element's end (only comments, processing instructions
 * and white space may follow). The validator misses text after a self-closed root (`<R/>junk`).
 */
function endsWithRoot(xml: string): boolean {
  let tail = xml.trimEnd();
  for (;;) {
    const start = tail.endsWith('-->') ? tail.lastIndexOf('<!--') : tail.endsWith('?>') ? tail.lastIndexOf('<?') : -1;
    if (start < 0) break;
    tail = tail.slice(0, start).trimEnd();
  }
  if (!tail.endsWith('/>')) return /<\/[^\s<>/]+\s*>$/.test(tail);
  // A self-closed element at the end must be the root itself: one tag, nothing after it.
  return /^<[^\s<>/]+(\s[^<>]*)?\/>$/.test(tail.slice(tail.lastIndexOf('<')));
}

/** Sets an own property, also for names like `__proto__` (map keys are user data). */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** An element the model does not describe, kept as generic JSON: text, `{}` when empty, or an object of its children. */
function generic(el: XmlElement): unknown {
  if (el.children.length === 0) return el.text.trim() === '' ? {} : el.text;
  const out: Record<string, unknown> = {};
  const repeated = new Set<string>();
  for (const child of el.children) {
    const value = generic(child);
    if (!Object.hasOwn(out, child.name)) {
      define(out, child.name, value);
    } else if (repeated.has(child.name)) {
      (out[child.name] as unknown[]).push(value);
    } else {
      repeated.add(child.name);
      define(out, child.name, [out[child.name], value]);
    }
  }
  return out;
}

const INTEGER = /^[+-]?\d+$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/i;

function readScalar(kind: ScalarKind, text: string): unknown {
  if (kind === 'string') return text;
  const t = text.trim();
  if (kind === 'boolean') return t === 'true' ? true : t === 'false' ? false : text;
  if (kind === 'integer' || kind === 'long') {
    const n = INTEGER.test(t) ? Number(t) : NaN;
    return Number.isSafeInteger(n) ? n : text;
  }
  if (ISO_TIMESTAMP.test(t)) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  return text;
}

function readMap(el: XmlElement, path: string): Record<string, string> | string {
  if (el.children.length === 0 && el.text.trim() !== '') return el.text;
  const out: Record<string, string> = {};
  for (const entry of el.children) {
    const key = entry.children.filter((c) => c.name === 'key' || c.name === 'Key');
    const value = entry.children.filter((c) => c.name === 'value' || c.name === 'Value');
    const k = key[0];
    if (k === undefined || key.length > 1 || value.length > 1)
      malformed(`${path}: each <entry> needs one <key> and at most one <value>`);
    if (Object.hasOwn(out, k.text)) malformed(`${path}: duplicate key ${JSON.stringify(k.text)}`);
    define(out, k.text, value[0]?.text ?? '');
  }
  return out;
}

function findMember(shape: StructureShape, name: string): Member | undefined {
  return shape.members.find((m) => elementName(m) === name) ?? shape.members.find((m) => m.name === name);
}

function readStructure(el: XmlElement, shape: StructureShape, path: string, depth: number): unknown {
  if (el.children.length === 0 && el.text.trim() !== '') return el.text;
  const out: Record<string, unknown> = {};
  for (const child of el.children) {
    const member = findMember(shape, child.name);
    if (member === undefined && shape.open !== true) {
      throw new S3BatchError(
        'InvalidRequest',
        `${path} has no member <${child.name}>: s3batch does not support it (it is not in the S3 Control model it implements), so it is refused rather than ignored`,
      );
    }
    const key = member?.name ?? child.name;
    if (Object.hasOwn(out, key)) malformed(`<${child.name}> appears more than once in ${path}`);
    const value = member ? readValue(child, member.shape, `${path}.${key}`, depth + 1) : generic(child);
    define(out, key, value);
  }
  return out;
}

function readValue(el: XmlElement, shape: Shape, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) malformed(`elements nested deeper than ${MAX_DEPTH}`);
  switch (shape.kind) {
    case 'structure':
      return readStructure(el, shape, path, depth);
    case 'list':
      if (el.children.length === 0 && el.text.trim() !== '') return el.text;
      // Any item element name is accepted (`member`, `S3Tag`, `ObjectEncryption`, …).
      return el.children.map((item, i) => readValue(item, shape.item, `${path}[${i}]`, depth + 1));
    case 'map':
      return readMap(el, path);
    default:
      // A scalar written with child elements is not a value of its type: pass it on for validation.
      return el.children.length > 0 ? generic(el) : readScalar(shape.kind, el.text);
  }
}

/** Reads any job-API document (requests, responses, the error envelope) into the model's JSON shape. */
export function readXmlDocument(
  body: Buffer | string,
  document: DocumentName,
  options: XmlReadOptions = {},
): Record<string, unknown> {
  const root = parseDocument(body, document, options);
  const value = readStructure(root, DOCUMENT_SHAPES[document], document, 0);
  if (typeof value !== 'object' || value === null) malformed(`<${document}> must contain elements, not text`);
  return value as Record<string, unknown>;
}

/** CreateJob's body → the CreateJob input (validated afterwards by the service). */
export function parseCreateJobRequest(body: Buffer | string, options: XmlReadOptions = {}): Record<string, unknown> {
  return readXmlDocument(body, 'CreateJobRequest', options);
}

/**
 * PutJobTagging's body → its tag set. `<Tags/>` is an empty set (deletes all tags); a missing
 * `<Tags>` is malformed. The items are as sent; the service validates them.
 */
export function parsePutJobTaggingRequest(body: Buffer | string, options: XmlReadOptions = {}): { Tags: S3Tag[] } {
  const request = readXmlDocument(body, 'PutJobTaggingRequest', options);
  const tags = request.Tags;
  if (tags === undefined) malformed('<PutJobTaggingRequest> must contain <Tags>');
  if (!Array.isArray(tags)) malformed('<Tags> must contain <member><Key/><Value/></member> items');
  return { Tags: tags as S3Tag[] };
}
