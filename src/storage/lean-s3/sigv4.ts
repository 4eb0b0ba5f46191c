/**
 * AWS Signature Version 4 for S3 requests, on node:crypto, with the signing key cached per day and
 * region (one HMAC per request instead of five). S3's rules: the canonical URI is the request path
 * as sent (already percent-encoded once, never normalized), the payload hash goes in
 * x-amz-content-sha256, and every header given is signed. test/unit/s3-sigv4.test.ts checks the
 * output against @smithy/signature-v4, which the AWS SDK signs with.
 */
import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SignInput {
  readonly method: string;
  /** The path as sent: `/bucket/a%20b`. */
  readonly path: string;
  /** Query pairs as sent, already encoded (`['versionId', 'v%2B1']`); order does not matter. */
  readonly query: readonly (readonly [string, string])[];
  /** Lower-case names; must include host. Signing adds x-amz-date, x-amz-content-sha256 (and the token). */
  readonly headers: Record<string, string>;
  readonly payloadHash: string;
  readonly date?: Date;
}

export class SigV4Signer {
  private keyDay = '';
  private key: Buffer = Buffer.alloc(0);
  private keySecret = '';

  constructor(
    private readonly region: string,
    private readonly service = 's3',
  ) {}

  /** Adds x-amz-date, x-amz-content-sha256, x-amz-security-token and authorization to `input.headers`. */
  sign(input: SignInput, creds: Credentials): void {
    const headers = input.headers;
    const amzDate = amzDateOf(input.date ?? new Date());
    const day = amzDate.slice(0, 8);
    headers['x-amz-date'] = amzDate;
    headers['x-amz-content-sha256'] = input.payloadHash;
    if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
    const names = Object.keys(headers).sort();
    let canonicalHeaders = '';
    for (const name of names) canonicalHeaders += `${name}:${String(headers[name]).trim().replace(/\s+/g, ' ')}\n`;
    const signedHeaders = names.join(';');
    const canonicalQuery = input.query
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join('&');
    const canonical = `${input.method}\n${input.path}\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeaders}\n${input.payloadHash}`;
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
    const signature = createHmac('sha256', this.signingKey(day, creds.secretAccessKey)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }

  private signingKey(day: string, secret: string): Buffer {
    if (day !== this.keyDay || secret !== this.keySecret) {
      const kDate = createHmac('sha256', `AWS4${secret}`).update(day).digest();
      const kRegion = createHmac('sha256', kDate).update(this.region).digest();
      const kService = createHmac('sha256', kRegion).update(this.service).digest();
      this.key = createHmac('sha256', kService).update('aws4_request').digest();
      this.keyDay = day;
      this.keySecret = secret;
    }
    return this.key;
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

let cachedSecond = -1;
let cachedDate = '';

/** `20261206T233530Z` (made once per second: the requests of that second share it). */
export function amzDateOf(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== cachedSecond) {
    cachedDate = d
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    cachedSecond = second;
  }
  return cachedDate;
}
