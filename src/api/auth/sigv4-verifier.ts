/**
 * Verifies AWS Signature Version 4 on S3 Control API requests (docs/s3control-api.md#sigv4): signing name
 * `s3`, any region, `x-amz-content-sha256` carrying the real payload hash, and the Host header
 * exactly as received (clients sign the `<accountId>.`-prefixed host).
 *
 * The expected signature is computed by @smithy/signature-v4 — the signer the AWS SDK itself
 * uses — over the request rebuilt from what was received: method, raw path (S3 signing does not
 * re-encode the path), decoded query parameters (repeated keys become arrays), exactly the
 * headers named in SignedHeaders, the payload hash from `x-amz-content-sha256`, and the date,
 * region and service of the credential scope. The signatures are compared in constant time.
 *
 * Decisions:
 * - `x-amz-content-sha256` is required and signed; a hex value must equal sha256(body)
 *   (else SignatureDoesNotMatch). `UNSIGNED-PAYLOAD` leaves the body out of the signature, so a
 *   body could be swapped in transit: it is refused (403 UnsignedPayloadNotAllowed) unless the
 *   server allows it (`allowUnsignedPayload`, `--allow-unsigned-payload`). The AWS SDKs and CLI
 *   sign the payload over http; botocore sends UNSIGNED-PAYLOAD only when told to (over https).
 *   Streaming (`STREAMING-…`, aws-chunked) payloads are refused.
 * - Failed verifications count towards the shared limit on failed authentication (auth-limiter.ts)
 *   when the request says which client sent it (`SignedRequest.client`).
 * - Every `x-amz-*` header received must be signed (as S3 requires), so `x-amz-account-id`
 *   cannot be changed in transit.
 * - Presigned URLs (query-string authentication) and Signature Version 2 are refused with
 *   AccessDenied and a message saying so.
 * - Messages never contain the secret, the expected signature or the signing key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3BatchError, isS3BatchError } from '../../domain/errors.ts';
import type { AccessKeyStore } from './access-keys.ts';
import type { AuthLimiter } from './auth-limiter.ts';

export interface SignedRequest {
  method: string;
  /** Raw path and query as received, e.g. `/v20180820/jobs?jobStatuses=Active&maxResults=10`. */
  url: string;
  /** Header names in lower case, as node gives them; the Host header exactly as received. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The client's address (`req.ip`): failures then count towards the limiter's limits. */
  client?: string | undefined;
}

/** Who signed the request: the key and the account it acts for. */
export interface VerifiedCaller {
  accessKeyId: string;
  accountId: string;
}

export interface SigV4VerifierOptions {
  keys: AccessKeyStore;
  now?: () => Date;
  /** Largest accepted difference between x-amz-date and the server clock; default 15 minutes. */
  maxSkewMs?: number;
  /** Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (the body is then not signed); default false. */
  allowUnsignedPayload?: boolean;
  /** The limit on failed authentication; none when absent. */
  limiter?: AuthLimiter | undefined;
}

export interface SigV4Verifier {
  verify(req: SignedRequest): Promise<VerifiedCaller>;
  /** True when `accessKeyId` is one of the keys it accepts. */
  knows(accessKeyId: string): boolean;
}

export const SIGNING_SERVICE = 's3';
export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const ALGORITHM = 'AWS4-HMAC-SHA256';
const AUTH_FORMAT = `'${ALGORITHM} Credential=<access key id>/<yyyymmdd>/<region>/s3/aws4_request, SignedHeaders=<name;name;…>, Signature=<64 hex digits>'`;
const PRESIGN_PARAMS = ['x-amz-signature', 'x-amz-credential', 'x-amz-algorithm'];

const denied = (message: string): S3BatchError => new S3BatchError('AccessDenied', message);
const malformed = (what: string): S3BatchError =>
  denied(`Malformed Authorization header (${what}); expected ${AUTH_FORMAT}`);

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`; AccessDenied when it is not that. */
export function parseAuthorization(value: string): ParsedAuthorization {
  const trimmed = value.trim();
  if (/^AWS\s/.test(trimmed))
    throw denied('AWS Signature Version 2 is not supported: sign requests with Signature Version 4 (AWS4-HMAC-SHA256)');
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  // The value is not echoed: a client may have put some other credential (a bearer token) there.
  if (algorithm !== ALGORITHM) throw malformed(`the scheme is not ${ALGORITHM}`);
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space).split(',')) {
    const m = /^\s*([A-Za-z]+)=(\S*)\s*$/.exec(part);
    if (m === null) throw malformed('a component is not name=value');
    const [, name, v] = m as unknown as [string, string, string];
    if (fields.has(name)) throw malformed(`${name} is given twice`);
    fields.set(name, v);
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined || fields.size !== 3) {
    throw malformed('it needs exactly Credential, SignedHeaders and Signature');
  }
  const scope = credential.split('/');
  if (scope.length !== 5) throw malformed('Credential must have five parts separated by /');
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  if (accessKeyId === '') throw malformed('empty access key id');
  if (!/^\d{8}$/.test(date)) throw malformed('the Credential date must be yyyymmdd');
  if (!/^[a-z0-9-]{1,64}$/.test(region))
    throw malformed('the Credential region must be a region name such as us-east-1');
  if (terminator !== 'aws4_request') throw malformed('the Credential must end in aws4_request');
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw malformed('Signature must be 64 hex digits');
  const names = signedHeaders.split(';');
  if (names.some((n) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n)))
    throw malformed('SignedHeaders must be lower-case header names separated by ;');
  if (new Set(names).size !== names.length) throw malformed('SignedHeaders names a header twice');
  return { accessKeyId, date, region, service, signedHeaders: names, signature: signature.toLowerCase() };
}

function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  // Repeated headers are one comma-separated value in SigV4 (node already joins most of them).
  return Array.isArray(v) ? v.join(',') : v;
}

/** Splits the raw query into decoded parameters; repeated keys become arrays (the signer sorts them). */
function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    } catch {
      throw denied('The query string has malformed percent-encoding');
    }
    if (key === '__proto__') throw denied('Query parameter "__proto__" is not accepted');
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

/** Reads `yyyymmddThhmmssZ`; undefined when it is not that. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Rejects 20240230 and the like, which Date.UTC would roll over.
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60 ? date : undefined;
}

/** The access key id of a SigV4 Authorization header, read without checking the rest; undefined when none. */
export function credentialKeyId(authorization: string | undefined): string | undefined {
  return /\bCredential=(\w{1,128})\//.exec(authorization ?? '')?.[1];
}

/** Refusals that are not a failed attempt at credentials: they do not count towards the limit. */
const NOT_A_FAILURE = new Set(['UnsignedPayloadNotAllowed', 'InternalServiceException']);

export function createSigV4Verifier(opts: SigV4VerifierOptions): SigV4Verifier {
  const now = opts.now ?? (() => new Date());
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const limiter = opts.limiter;

  async function verify(req: SignedRequest): Promise<VerifiedCaller> {
    const client = req.client;
    const authorization = headerValue(req.headers, 'authorization');
    // No Authorization header: no credentials were tried (the refusal says how to sign).
    if (limiter === undefined || client === undefined || authorization === undefined) return verifyOnce(req);
    const keyId = credentialKeyId(authorization);
    limiter.check(client, keyId);
    try {
      return await verifyOnce(req);
    } catch (err) {
      if (isS3BatchError(err) && !NOT_A_FAILURE.has(err.code)) limiter.fail(client, keyId);
      throw err;
    }
  }

  async function verifyOnce(req: SignedRequest): Promise<VerifiedCaller> {
    const headers: SignedRequest['headers'] = Object.create(null) as SignedRequest['headers'];
    for (const [name, v] of Object.entries(req.headers)) if (v !== undefined) headers[name.toLowerCase()] = v;
    // An absolute-form request target (`GET http://host/path`, as sent to a proxy) signs only its path.
    const url = req.url.replace(/^https?:\/\/[^/?]*/i, '');
    const q = url.indexOf('?');
    const path = (q < 0 ? url : url.slice(0, q)) || '/';
    const query = parseQuery(q < 0 ? '' : url.slice(q + 1));

    const authorization = headerValue(headers, 'authorization');
    const presigned = Object.keys(query).some((k) => PRESIGN_PARAMS.includes(k.toLowerCase()));
    if (presigned) {
      throw denied(
        authorization === undefined
          ? 'Presigned URLs (query-string authentication) are not supported by the S3 Control API of s3batch; sign requests with an Authorization header'
          : 'Only one authentication mechanism is allowed: the request has both an Authorization header and X-Amz-* signature query parameters',
      );
    }
    if (authorization === undefined || authorization.trim() === '') {
      throw denied(
        'Missing Authorization header: S3 Control API requests must be signed with AWS Signature Version 4 (service s3) using an s3batch API access key',
      );
    }
    const auth = parseAuthorization(authorization);
    if (auth.service !== SIGNING_SERVICE) {
      throw denied(
        `The credential scope names service ${JSON.stringify(auth.service)}; S3 Control API requests are signed for service "s3"`,
      );
    }
    for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
      if (headerValue(headers, required) === undefined)
        throw denied(`Missing required header for this request: ${required}`);
      if (!auth.signedHeaders.includes(required))
        throw denied(`The ${required} header must be signed (listed in SignedHeaders)`);
    }
    const unsigned = Object.keys(headers).filter((n) => n.startsWith('x-amz-') && !auth.signedHeaders.includes(n));
    if (unsigned.length > 0)
      throw denied(`There were headers present in the request which were not signed: ${unsigned.join(', ')}`);
    if (auth.signedHeaders.includes('date')) {
      // The signer always takes the date from x-amz-date and drops a Date header.
      throw denied('SignedHeaders may not include "date": sign x-amz-date instead (as the AWS SDKs and CLI do)');
    }
    if (auth.signedHeaders.includes('__proto__')) throw malformed('SignedHeaders names "__proto__"');

    const amzDateText = headerValue(headers, 'x-amz-date') as string;
    const amzDate = parseAmzDate(amzDateText);
    if (amzDate === undefined)
      throw denied(`x-amz-date ${JSON.stringify(amzDateText.slice(0, 40))} is not a date of the form yyyymmddThhmmssZ`);
    if (amzDateText.slice(0, 8) !== auth.date) {
      throw denied(
        `The credential scope date ${auth.date} does not match the date of x-amz-date (${amzDateText.slice(0, 8)})`,
      );
    }

    const key = opts.keys.get(auth.accessKeyId);
    if (key === undefined) {
      throw new S3BatchError(
        'InvalidAccessKeyId',
        `The access key id ${JSON.stringify(auth.accessKeyId)} does not exist in s3batch's API keys`,
      );
    }
    const serverTime = now();
    if (Math.abs(serverTime.getTime() - amzDate.getTime()) > maxSkewMs) {
      throw new S3BatchError(
        'RequestTimeTooSkewed',
        `The difference between the request time (${amzDate.toISOString()}) and the server time (${serverTime.toISOString()}) is larger than ${Math.round(maxSkewMs / 60000)} minutes`,
      );
    }

    const payloadHash = headerValue(headers, 'x-amz-content-sha256') as string;
    if (payloadHash.startsWith('STREAMING-')) {
      throw denied(
        `x-amz-content-sha256 ${JSON.stringify(payloadHash.slice(0, 64))}: streaming (aws-chunked) payloads are not supported; send the payload's SHA-256`,
      );
    }
    if (payloadHash === UNSIGNED_PAYLOAD && opts.allowUnsignedPayload !== true) {
      throw new S3BatchError(
        'UnsignedPayloadNotAllowed',
        'x-amz-content-sha256 UNSIGNED-PAYLOAD is not accepted by this server (the body would not be signed): send the SHA-256 of the body, as the AWS SDKs and CLI do, or start the server with --allow-unsigned-payload',
      );
    }
    if (payloadHash !== UNSIGNED_PAYLOAD) {
      const actual = createHash('sha256').update(req.body).digest('hex');
      if (payloadHash.toLowerCase() !== actual) {
        throw new S3BatchError(
          'SignatureDoesNotMatch',
          `The x-amz-content-sha256 header (${JSON.stringify(payloadHash.slice(0, 64))}) does not match the SHA-256 of the request body received (${actual})`,
        );
      }
    }

    const signedHeaderValues: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const name of auth.signedHeaders) {
      const v = headerValue(headers, name);
      if (v === undefined)
        throw new S3BatchError(
          'SignatureDoesNotMatch',
          `The signed header ${name} is missing from the request (changed in transit?)`,
        );
      signedHeaderValues[name] = v;
    }
    const signer = new SignatureV4({
      service: SIGNING_SERVICE,
      region: auth.region,
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
      applyChecksum: true,
    });
    const rebuilt = new HttpRequest({
      method: req.method.toUpperCase(),
      protocol: 'http:',
      hostname: signedHeaderValues.host ?? '',
      path,
      query,
      headers: signedHeaderValues,
      // The payload hash comes from x-amz-content-sha256 (checked above), not from the body.
      body: undefined,
    });
    const signed = await signer.sign(rebuilt, {
      signingDate: amzDate,
      signingRegion: auth.region,
      signingService: SIGNING_SERVICE,
      // Sign exactly what the client listed, even headers the SDK would leave out (user-agent, …).
      signableHeaders: new Set(auth.signedHeaders),
    });
    const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? ''))?.[1];
    const expectedHeaders = /SignedHeaders=([^,]*),/.exec(String(signed.headers.authorization ?? ''))?.[1];
    if (expected === undefined)
      throw new S3BatchError('InternalServiceException', 'The SigV4 signer returned no signature');
    const match = timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(auth.signature, 'hex'));
    if (!match || expectedHeaders !== auth.signedHeaders.join(';')) {
      throw new S3BatchError(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method (service s3, the Host header as sent, path not re-encoded).',
      );
    }
    return { accessKeyId: key.accessKeyId, accountId: key.accountId };
  }

  return { verify, knows: (accessKeyId) => opts.keys.get(accessKeyId) !== undefined };
}

/**
 * The cross-account rule: a key acts only for its own account. `accountIdHeader` is the request's
 * x-amz-account-id; a different (or missing) value is AccessDenied.
 */
export function assertCallerAccount(caller: VerifiedCaller, accountIdHeader: string | undefined): void {
  if (accountIdHeader !== caller.accountId) {
    throw new S3BatchError(
      'AccessDenied',
      `Access key ${caller.accessKeyId} belongs to account ${caller.accountId} and cannot act for account ${JSON.stringify(accountIdHeader ?? '')}`,
    );
  }
}
