/**
 * A lean S3 client for the per-task requests: signed HTTP on undici pools, one attempt per call (the engine retries), nothing else. The AWS SDK's middleware stack
 * costs most of a small request's CPU; this sends the same request line, headers and body as the
 * SDK's S3Client (test/unit/s3-lean-client.test.ts compares them) and throws errors of the SDK's
 * shape (errors.ts), so operations and the error classification see no difference.
 *
 * Endpoints (path or virtual-host style, AWS or a custom endpoint) come from the SDK's own
 * endpoint rules, resolved once per bucket; credentials from the profile or the SDK's chain.
 */
import { crc32 } from 'node:zlib';
import { Pool, type Dispatcher } from 'undici';
import { encodeKey, encodeRfc3986 } from './encoding.ts';
import { abortedRequestError, bodyError, isErrorBody, networkError, responseError } from './errors.ts';
import { type Credentials, EMPTY_SHA256, SigV4Signer, sha256Hex } from './sigv4.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

export interface LeanRequest {
  readonly method: HttpMethod;
  readonly bucket: string;
  /** Absent ⇒ a bucket request (`/bucket/?delete=`). */
  readonly key?: string | undefined;
  /** Query pairs in the SDK's order, values not yet encoded (`''` ⇒ `tagging=`). */
  readonly query?: readonly (readonly [string, string | undefined])[];
  /** Headers to send; undefined values are left out. */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  /** An XML body (sent as application/xml). */
  readonly body?: string | undefined;
  /** The request needs a checksum (the SDK's WHEN_REQUIRED: x-amz-checksum-crc32 of the body). */
  readonly checksumRequired?: boolean;
  /** CopyObject: a 2xx answer without a body is an error (as the SDK treats it). */
  readonly bodyRequired?: boolean;
  readonly signal?: AbortSignal | undefined;
}

export interface LeanResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface LeanStreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body as it arrives; iterate it (see LeanS3Client.stream). */
  readonly body: AsyncIterable<Uint8Array>;
}

export interface LeanClientOptions {
  readonly region: string;
  /** Base URL of a bucket (the SDK's endpoint rules): `http://h:7480/bkt` or `http://bkt.h:7480/`. */
  readonly endpointFor: (bucket: string) => URL;
  readonly credentials: () => Credentials | Promise<Credentials>;
  readonly maxSockets: number;
  readonly connectionTimeoutMs: number;
  /** Idle limit while waiting for headers or body; 0 = never. */
  readonly requestTimeoutMs: number;
}

const XML_TYPE = 'application/xml';

export class LeanS3Client {
  private readonly signer: SigV4Signer;
  private readonly pools = new Map<string, Pool>();
  private readonly bases = new Map<string, { origin: string; host: string; path: string }>();
  private closed = false;
  private lastBody = '';
  private lastDigests: { sha256: string; crc32: string } | undefined;

  private readonly timeouts: { connectMs: number; requestMs: number };

  constructor(private readonly options: LeanClientOptions) {
    this.signer = new SigV4Signer(options.region);
    this.timeouts = { connectMs: options.connectionTimeoutMs, requestMs: options.requestTimeoutMs };
  }

  /** One attempt; resolves with a 2xx answer, throws an SDK-shaped error otherwise. */
  async send(req: LeanRequest): Promise<LeanResponse> {
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await this.dispatch(req);
      if (req.method === 'HEAD') {
        await res.body.dump();
        text = '';
      } else {
        text = await res.body.text();
      }
    } catch (err) {
      throw networkError(err, this.timeouts);
    }
    const status = res.statusCode;
    const resHeaders = latin1Headers(res.headers as Record<string, string | string[] | undefined>);
    if (status < 200 || status >= 300) throw responseError(status, resHeaders, req.method === 'HEAD' ? '' : text);
    if (text.length > 0 && isErrorBody(text)) throw responseError(503, resHeaders, text);
    if (req.bodyRequired && text.length === 0) throw abortedRequestError();
    return { status, headers: resHeaders, body: text };
  }

  /**
   * One attempt whose 2xx body is streamed, never held (GetObject): an error answer throws as
   * `send` does (its body is small and read whole); a 2xx answer resolves at its headers. Like the
   * SDK's GetObject, no "200 error" check (the SDK does not look into a streamed body).
   *
   * The caller must iterate `body`: to its end (the connection goes back to the pool), or until it
   * stops early (break, a throw in the loop: the body is destroyed, and so is the connection). The
   * request's signal destroys it too. A body cut short fails the iteration with the error node:http
   * gives the SDK for it (`aborted`, ECONNRESET); an idle body with the SDK's TimeoutError.
   */
  async stream(req: LeanRequest): Promise<LeanStreamResponse> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatch(req);
    } catch (err) {
      throw networkError(err, this.timeouts);
    }
    const status = res.statusCode;
    const resHeaders = latin1Headers(res.headers as Record<string, string | string[] | undefined>);
    if (status < 200 || status >= 300) {
      let text: string;
      try {
        text = req.method === 'HEAD' ? '' : await res.body.text();
      } catch (err) {
        throw networkError(err, this.timeouts);
      } finally {
        if (!res.body.destroyed) res.body.destroy();
      }
      throw responseError(status, resHeaders, text);
    }
    return { status, headers: resHeaders, body: chunksOf(res.body, this.timeouts) };
  }

  /** Signs and sends the request; resolves at the answer's headers. */
  private async dispatch(req: LeanRequest): Promise<Dispatcher.ResponseData> {
    const base = this.baseOf(req.bucket);
    const path = `${base.path}/${req.key === undefined ? '' : encodeKey(req.key)}`;
    const query: [string, string][] = [];
    let search = '';
    if (req.query !== undefined) {
      for (const [k, v] of req.query) {
        if (v === undefined) continue;
        const pair: [string, string] = [encodeRfc3986(k), encodeRfc3986(v)];
        query.push(pair);
        search += `${search === '' ? '?' : '&'}${pair[0]}=${pair[1]}`;
      }
    }
    const headers: Record<string, string> = {};
    if (req.headers !== undefined) {
      for (const name in req.headers) {
        const v = req.headers[name];
        if (v !== undefined) headers[name] = v;
      }
    }
    const body = req.body;
    if (body !== undefined) {
      headers['content-type'] = XML_TYPE;
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    if (req.checksumRequired) {
      if (headers['content-type'] === undefined) headers['content-type'] = XML_TYPE;
      headers['x-amz-sdk-checksum-algorithm'] = 'CRC32';
      headers['x-amz-checksum-crc32'] = this.digestsOf(body ?? '').crc32;
    }
    headers.host = base.host;
    const creds = await this.options.credentials();
    this.signer.sign(
      {
        method: req.method,
        path,
        query,
        headers,
        payloadHash: body === undefined ? EMPTY_SHA256 : this.digestsOf(body).sha256,
      },
      creds,
    );
    const timeout = this.options.requestTimeoutMs;
    return this.poolOf(base.origin).request({
      method: req.method,
      path: path + search,
      headers,
      body: body ?? null,
      signal: req.signal ?? null,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
  }

  /** Where a request for that object goes: `http://bkt.host:7480/a%20b` or `http://host:7480/bkt/a%20b`. */
  urlOf(bucket: string, key: string | undefined): string {
    const base = this.baseOf(bucket);
    return `${base.origin}${base.path}/${key === undefined ? '' : encodeKey(key)}`;
  }

  /** Closes every connection. */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) void pool.destroy().catch(() => {});
    this.pools.clear();
  }

  /**
   * The body's SHA-256 (hex) and CRC32 (base64), kept for the last body: a job's tasks mostly send
   * the same one (the same tag set, ACL or retention for every object).
   */
  private digestsOf(body: string): { sha256: string; crc32: string } {
    if (body !== this.lastBody || this.lastDigests === undefined) {
      this.lastDigests = { sha256: sha256Hex(body), crc32: crc32Base64(body) };
      this.lastBody = body;
    }
    return this.lastDigests;
  }

  private baseOf(bucket: string): { origin: string; host: string; path: string } {
    let base = this.bases.get(bucket);
    if (base === undefined) {
      const url = this.options.endpointFor(bucket);
      base = { origin: url.origin, host: url.host, path: url.pathname.replace(/\/$/, '') };
      this.bases.set(bucket, base);
    }
    return base;
  }

  private poolOf(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      if (this.closed) throw new Error('The lean S3 client is closed');
      pool = new Pool(origin, {
        connections: this.options.maxSockets,
        connectTimeout: this.options.connectionTimeoutMs,
        keepAliveTimeout: 4_000,
        headersTimeout: this.options.requestTimeoutMs,
        bodyTimeout: this.options.requestTimeoutMs,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }
}

/**
 * The chunks of a streamed body, its failures renamed as networkError does (a cut body reads as
 * node:http's `aborted`). The body is destroyed however the iteration ends: at its end it already
 * is; when the consumer stops early or the body fails, here.
 */
async function* chunksOf(
  body: Dispatcher.ResponseData['body'],
  timeouts: { connectMs: number; requestMs: number },
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    for await (const chunk of body) yield chunk as Uint8Array;
  } catch (err) {
    throw bodyError(err, timeouts);
  } finally {
    if (!body.destroyed) body.destroy();
  }
}

function crc32Base64(body: string): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(body) >>> 0);
  return b.toString('base64');
}

/**
 * The header values as node:http (and so the SDK) reads them: one character per byte (latin1).
 * undici decodes them as UTF-8, so `x-amz-meta-a: ü` (bytes C3 BC) would read `ü` here and `Ã¼`
 * in the SDK, and a HeadObject's Metadata sent on through the SDK would change. undici already
 * gives content-disposition as latin1 when content-length is present (nodejs/node#46528).
 */
function latin1Headers(
  h: Record<string, string | string[] | undefined>,
): Record<string, string | string[] | undefined> {
  const keep = h['content-length'] !== undefined ? 'content-disposition' : '';
  for (const name in h) {
    const v = h[name];
    if (name === keep || v === undefined) continue;
    h[name] = Array.isArray(v) ? v.map(toLatin1) : toLatin1(v);
  }
  return h;
}

function toLatin1(v: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII test
  return /^[\x00-\x7f]*$/.test(v) ? v : Buffer.from(v, 'utf8').toString('latin1');
}
