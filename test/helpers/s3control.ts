// Clients of the S3 Control XML API (/v20180820) for end-to-end tests: the real AWS SDK
// S3ControlClient (with the account-id host prefix the SDK adds, or with the README's
// endpointProvider override), SigV4-signed raw requests, API keys files, and job waits.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { LookupAddress, LookupOneOptions } from 'node:dns';
import path from 'node:path';
import { DescribeJobCommand, S3ControlClient, type JobDescriptor } from '@aws-sdk/client-s3-control';
import { Hash } from '@smithy/hash-node';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface ApiKey {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
}

/** Writes an API keys file (`--api-keys-file` / S3BATCH_API_KEYS_FILE) into `dir`; returns its path. */
export function writeApiKeysFile(dir: string, keys: readonly ApiKey[]): string {
  const file = path.join(dir, 'test-api-keys.json');
  writeFileSync(file, JSON.stringify({ keys }), { mode: 0o600 });
  return file;
}

/**
 * An http.Agent whose DNS lookup answers 127.0.0.1 for every name. The SDK's endpoint rules put
 * the account id in front of the configured host (`http://111122223333.localhost:PORT`), and a
 * stock Linux resolver does not resolve `*.localhost` (docs/s3control-api.md#account-id). Resolving it here keeps the
 * SDK's endpoint logic, the Host header and the signature exactly as they are against AWS,
 * without touching /etc/hosts.
 */
export function loopbackAgent(): http.Agent {
  const lookup = (
    _hostname: string,
    options: LookupOneOptions | { all?: boolean } | undefined,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    if (options && (options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };
  return new http.Agent({ keepAlive: true, lookup: lookup as never });
}

/** The base URL with `localhost` as its host (the SDK then talks to `<account>.localhost:PORT`). */
export function localhostUrl(serverUrl: string): string {
  const u = new URL(serverUrl);
  return `http://localhost:${u.port}`;
}

/** The real S3ControlClient with its endpoint logic unchanged: requests go to `<account>.localhost:PORT`. */
export function hostPrefixClient(serverUrl: string, key: ApiKey): S3ControlClient {
  return new S3ControlClient({
    region: 'us-east-1',
    endpoint: localhostUrl(serverUrl),
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpAgent: loopbackAgent() }),
    maxAttempts: 1,
  });
}

/** The README's client: an endpointProvider that keeps the host as configured (no /etc/hosts needed). */
export function endpointProviderClient(serverUrl: string, key: ApiKey): S3ControlClient {
  return new S3ControlClient({
    region: 'us-east-1',
    endpointProvider: () => ({ url: new URL(localhostUrl(serverUrl)) }),
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    maxAttempts: 1,
  });
}

/** Polls DescribeJob until the job is in one of `statuses`; fails with its last view on timeout. */
export async function waitForJob(
  client: S3ControlClient,
  accountId: string,
  jobId: string,
  statuses: string | string[],
  timeoutMs = 60_000,
): Promise<JobDescriptor> {
  const wanted = Array.isArray(statuses) ? statuses : [statuses];
  const deadline = Date.now() + timeoutMs;
  let last: JobDescriptor | undefined;
  while (Date.now() < deadline) {
    last = (await client.send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }))).Job;
    if (last?.Status !== undefined && wanted.includes(last.Status)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${jobId} did not reach ${wanted.join('|')} in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

export interface RawRequest {
  method: string;
  /** Path and query, e.g. `/v20180820/jobs?maxResults=1`. */
  path: string;
  /** Value of x-amz-account-id; null sends none. */
  account: string | null;
  /** Host header to sign and send (default `<account>.localhost:PORT`). */
  host?: string;
  body?: string | Buffer;
  contentType?: string;
  /** Sign with this key; undefined sends the request unsigned. */
  key?: { accessKeyId: string; secretAccessKey: string };
  /** Clock of the signer (default now). */
  signingDate?: Date;
  /** Change the request after signing (to tamper with it). */
  afterSigning?: (headers: Record<string, string>) => void;
  /** Override the body sent (after signing over `body`). */
  sendBody?: string;
  /** Override the path and query sent (after signing over `path`). */
  sendPath?: string;
  /** The x-amz-content-sha256 to sign and send (default the body's SHA-256), e.g. `UNSIGNED-PAYLOAD`. */
  payloadHash?: string;
}

/**
 * SigV4 headers for one request as the SDK signs S3 and S3 Control requests (service `s3`,
 * us-east-1, `x-amz-content-sha256` with the payload hash, the path not re-escaped). `headers` must
 * hold `host` (with the port); `path` may carry a query. Returns `headers` plus the signature's.
 */
export async function signS3(r: {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  key: { accessKeyId: string; secretAccessKey: string };
  signingDate?: Date;
  /** Default: the body's SHA-256; e.g. `UNSIGNED-PAYLOAD`. */
  payloadHash?: string;
}): Promise<Record<string, string>> {
  const host = r.headers.host;
  if (host === undefined) throw new Error('signS3: headers.host is required');
  const [hostname = '', port] = host.split(':');
  const [pathname = '/', search = ''] = r.path.split('?');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const body = r.body ?? '';
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials: r.key,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: r.method,
      protocol: 'http:',
      hostname,
      ...(port ? { port: Number(port) } : {}),
      path: pathname,
      query,
      headers: {
        ...r.headers,
        'x-amz-content-sha256': r.payloadHash ?? createHash('sha256').update(body).digest('hex'),
      },
      body,
    }),
    { signingDate: r.signingDate ?? new Date() },
  );
  return { ...(signed.headers as Record<string, string>) };
}

/**
 * One request over plain HTTP to 127.0.0.1, signed like the SDK signs it (SigV4, service `s3`,
 * `x-amz-content-sha256` with the payload hash) when a key is given.
 */
export async function rawRequest(serverUrl: string, r: RawRequest): Promise<RawAnswer> {
  const port = new URL(serverUrl).port;
  const host = r.host ?? (r.account !== null ? `${r.account}.localhost:${port}` : `localhost:${port}`);
  const body = r.body ?? '';
  let headers: Record<string, string> = {
    host,
    ...(r.account !== null ? { 'x-amz-account-id': r.account } : {}),
    ...(r.contentType !== undefined ? { 'content-type': r.contentType } : {}),
  };
  if (r.key) {
    headers = await signS3({
      method: r.method,
      path: r.path,
      headers,
      body,
      key: r.key,
      ...(r.signingDate ? { signingDate: r.signingDate } : {}),
      ...(r.payloadHash ? { payloadHash: r.payloadHash } : {}),
    });
  } else {
    headers['x-amz-content-sha256'] = r.payloadHash ?? createHash('sha256').update(body).digest('hex');
  }
  r.afterSigning?.(headers);
  const sendBody = Buffer.from(r.sendBody ?? body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: Number(port),
        method: r.method,
        path: r.sendPath ?? r.path,
        headers: { ...headers, ...(sendBody.length > 0 ? { 'content-length': String(sendBody.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(sendBody.length === 0 ? undefined : sendBody);
  });
}

/** `<Code>` of an ErrorResponse body (undefined when the body is not one). */
export function errorCode(body: string): string | undefined {
  if (!/<ErrorResponse[\s>]/.test(body)) return undefined;
  return /<Error>\s*<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}
