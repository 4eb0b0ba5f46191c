/**
 * The real @aws-sdk/client-s3-control client wired to a canned HTTP exchange instead of the
 * network, so unit tests can use the SDK's own serializer and parser as the judge of our XML.
 * This is the one mock in these tests: the SDK is real, only the HTTP transport is replaced
 * (the integration tests drive the real server).
 */
import { Readable } from 'node:stream';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';

export const ACCOUNT_ID = '111122223333';

export interface CannedResponse {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface CannedClient {
  readonly client: S3ControlClient;
  /** Requests the client sent, in order (body as the string the SDK serialised). */
  readonly requests: { method: string; path: string; body: string }[];
}

/** A client whose every request is answered by `respond` (default: 200 with an empty body). */
export function cannedClient(respond: (request: HttpRequest) => CannedResponse = () => ({})): CannedClient {
  const requests: CannedClient['requests'] = [];
  const client = new S3ControlClient({
    region: 'us-east-1',
    endpoint: 'http://s3-control.example.internal',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: HttpRequest) => {
        const body =
          request.body === undefined
            ? ''
            : Buffer.isBuffer(request.body)
              ? request.body.toString('utf8')
              : String(request.body);
        requests.push({ method: request.method, path: request.path, body });
        const r = respond(request);
        return {
          response: new HttpResponse({
            statusCode: r.status ?? 200,
            headers: { 'content-type': 'application/xml', ...r.headers },
            body: Readable.from([Buffer.from(r.body ?? '', 'utf8')]),
          }),
        };
      },
    },
  });
  return { client, requests };
}

/** A client that answers every request with `xml` (status 200 unless given). */
export function clientAnswering(xml: string, status = 200, headers: Record<string, string> = {}): S3ControlClient {
  return cannedClient(() => ({ status, headers, body: xml })).client;
}

/** The SDK's output without `$metadata` (which holds request ids and attempt counts, not the body). */
export function withoutMetadata<T extends { $metadata?: unknown }>(output: T): Omit<T, '$metadata'> {
  const { $metadata: _ignored, ...rest } = output;
  return rest;
}

/** Dates → ISO strings, recursively: the JSON shape of the model (job-spec.ts) keeps timestamps as strings. */
export function isoDates(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(isoDates);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isoDates(v)]));
  }
  return value;
}
