/**
 * S3 clients for one storage profile (endpoint + credentials).
 *
 * Two kinds, on purpose:
 *  - task clients (`createS3Client`) make exactly ONE HTTP attempt per call (`maxAttempts: 1`):
 *    the engine retries tasks itself (engine/retry.ts), and SDK retries underneath would multiply
 *    attempts and hide them from the task's attempt count;
 *  - control clients (`createControlS3Client`) keep the SDK's standard retries, for the few calls
 *    the engine makes per job (manifest reads, report writes, HeadBucket).
 *
 * Both send and validate checksums only WHEN_REQUIRED: with the SDK defaults a streamed PutObject
 * is sent aws-chunked, which Ceph RGW refuses (411) and s3rver stores framing and all
 * (shared/reference/s3rver.md, ceph-rgw/README.md).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LeanS3Client } from './lean-s3/lean-client.ts';
import { attachLeanClient, leanClientOf } from './lean-s3/task-s3.ts';

export interface S3ClientProfile {
  /** Custom endpoint (`http://127.0.0.1:7480`); absent for AWS. */
  readonly endpoint?: string | undefined;
  readonly region: string;
  /** Static credentials; both absent ⇒ the SDK's default credential chain. */
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly sessionToken?: string | undefined;
  readonly forcePathStyle: boolean;
  /** Keep-alive sockets per client (default 128). */
  readonly maxSockets?: number | undefined;
  /** Abandon a connection attempt after this long (default 10 s). */
  readonly connectionTimeoutMs?: number | undefined;
  /**
   * Abandon a request whose socket stays idle this long (default 5 min; 0 = never). Generous
   * because a server-side CopyObject of a multi-GiB object may send nothing until it is done.
   */
  readonly requestTimeoutMs?: number | undefined;
}

export const DEFAULT_MAX_SOCKETS = 128;

/**
 * A client for per-task calls: one HTTP attempt per call, the engine retries. Its per-task requests
 * (lean-s3/task-s3.ts: tagging, copy, ACL, …) go through a lean client made with it, which sends
 * the same requests at about a tenth of the SDK's CPU (bench/request-cost.ts); everything else,
 * and every request when S3BATCH_TASK_CLIENT=sdk, through the SDK. `destroy()` closes both.
 */
export function createS3Client(profile: S3ClientProfile): S3Client {
  const s3 = new S3Client({ ...baseConfig(profile), maxAttempts: 1 });
  if (process.env.S3BATCH_TASK_CLIENT !== 'sdk') {
    const lean = createLeanClient(profile, s3);
    attachLeanClient(s3, lean);
    const destroy = s3.destroy.bind(s3);
    s3.destroy = () => {
      leanClientOf(s3)?.close();
      destroy();
    };
  }
  return s3;
}

/** The lean client of a task client: the SDK's endpoint rules and credentials, the same socket limits. */
function createLeanClient(profile: S3ClientProfile, s3: S3Client): LeanS3Client {
  const endpoint = profile.endpoint === '' ? undefined : profile.endpoint;
  const { endpointProvider } = s3.config;
  const staticCreds =
    profile.accessKeyId && profile.secretAccessKey
      ? {
          accessKeyId: profile.accessKeyId,
          secretAccessKey: profile.secretAccessKey,
          sessionToken: profile.sessionToken,
        }
      : undefined;
  return new LeanS3Client({
    region: profile.region,
    endpointFor: (bucket) =>
      new URL(
        endpointProvider({
          Bucket: bucket,
          Region: profile.region,
          UseFIPS: false,
          UseDualStack: false,
          ForcePathStyle: profile.forcePathStyle,
          Accelerate: false,
          UseGlobalEndpoint: false,
          ...(endpoint === undefined ? {} : { Endpoint: endpoint }),
        }).url.href,
      ),
    credentials: staticCreds !== undefined ? () => staticCreds : () => s3.config.credentials(),
    maxSockets: profile.maxSockets ?? DEFAULT_MAX_SOCKETS,
    connectionTimeoutMs: profile.connectionTimeoutMs ?? 10_000,
    requestTimeoutMs: profile.requestTimeoutMs ?? 300_000,
  });
}

/** A client for job-level calls (manifest, report, HeadBucket): the SDK's standard retries. */
export function createControlS3Client(profile: S3ClientProfile): S3Client {
  return new S3Client(baseConfig(profile));
}

/**
 * The SDK request handler every s3batch client uses (S3 here, Lambda in operations/lambda/):
 * keep-alive sockets, `maxSockets` per client (default 128), a 10 s connect timeout (default) and
 * a socket idle limit (default 5 min).
 */
export function keepAliveRequestHandler(
  options: Pick<S3ClientProfile, 'maxSockets' | 'connectionTimeoutMs' | 'requestTimeoutMs'>,
): NodeHttpHandler {
  const maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
  if (!Number.isInteger(maxSockets) || maxSockets < 1) {
    throw new RangeError(`maxSockets must be a positive integer, got ${maxSockets}`);
  }
  const agentOptions = { keepAlive: true, maxSockets };
  return new NodeHttpHandler({
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    requestTimeout: options.requestTimeoutMs ?? 300_000,
  });
}

function baseConfig(profile: S3ClientProfile): S3ClientConfig {
  const config: S3ClientConfig = {
    region: profile.region,
    forcePathStyle: profile.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: keepAliveRequestHandler(profile),
  };
  if (profile.endpoint !== undefined && profile.endpoint !== '') config.endpoint = profile.endpoint;
  if (profile.accessKeyId !== undefined || profile.secretAccessKey !== undefined) {
    if (!profile.accessKeyId || !profile.secretAccessKey) {
      throw new RangeError('accessKeyId and secretAccessKey must be given together');
    }
    config.credentials = {
      accessKeyId: profile.accessKeyId,
      secretAccessKey: profile.secretAccessKey,
      ...(profile.sessionToken ? { sessionToken: profile.sessionToken } : {}),
    };
  }
  return config;
}
