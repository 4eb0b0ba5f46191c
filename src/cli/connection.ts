/**
 * The CLI's connection to an s3batch server: the AWS SDK's S3ControlClient for the job verbs (so the
 * CLI exercises the S3 Control compatibility every day) and a SigV4-signed fetch, with the same key,
 * for the JSON API routes S3 Control has no operation for (report downloads).
 *
 * Used by every job verb:
 *
 *   addConnectionOptions(cmd)                     // --endpoint-url … --profile --data-dir
 *   const conn = await connect(connectionFlags(opts), env);
 *   const out = await conn.send(new conn.sdk.DescribeJobCommand({ AccountId: conn.accountId, JobId }));
 *   const res = await conn.signedFetch(`/api/v1/jobs/${JobId}/report`);
 *
 * Network failures of both become CliError EndpointUnreachable (exit 1) naming the endpoint.
 * The SDK module is loaded when a verb connects, not when the CLI starts (`--help`, `serve`).
 */
import { createHash } from 'node:crypto';
import type {
  S3ControlClient,
  S3ControlClientResolvedConfig,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-s3-control';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Command as SmithyCommand } from '@smithy/types';
import { Option, type Command } from 'commander';
import { CliError, EXIT_USER_ERROR, networkErrorCode, unreachableError } from './cli-errors.ts';
import { resolveClientSettings, type ClientSettings, type ConnectionFlags } from './client-config.ts';

export type { ClientSettings, ConnectionFlags };

/** The AWS SDK's S3 Control module (its commands: `new conn.sdk.DescribeJobCommand(…)`). */
export type S3ControlSdk = typeof import('@aws-sdk/client-s3-control');

/** Any S3 Control command (CreateJobCommand, DescribeJobCommand, …) with its output type. */
export type S3ControlCommand<In extends ServiceInputTypes, Out extends ServiceOutputTypes> = SmithyCommand<
  ServiceInputTypes,
  In,
  ServiceOutputTypes,
  Out,
  S3ControlClientResolvedConfig
>;

/** What a verb needs to talk to the server. */
export interface Connection {
  readonly settings: ClientSettings;
  readonly accountId: string;
  readonly endpointUrl: string;
  /** The SDK module, loaded by connect(): a verb takes its command classes from it. */
  readonly sdk: S3ControlSdk;
  /** The SDK client (endpointProvider keeps the configured host; at most 2 attempts). */
  readonly client: S3ControlClient;
  /** client.send, with network errors turned into EndpointUnreachable naming the endpoint. */
  send<In extends ServiceInputTypes, Out extends ServiceOutputTypes>(command: S3ControlCommand<In, Out>): Promise<Out>;
  /**
   * fetch of `path` (e.g. `/api/v1/jobs/ID/report`, query allowed) on the endpoint, SigV4-signed
   * (service s3, x-amz-content-sha256, x-amz-account-id). `init.body` must be a string when set.
   */
  signedFetch(path: string, init?: SignedFetchInit): Promise<Response>;
  /** Frees the SDK's sockets. */
  close(): void;
}

export interface SignedFetchInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

const CONNECTION_OPTIONS: readonly [string, string][] = [
  ['--endpoint-url <url>', 's3batch server [S3BATCH_ENDPOINT_URL] (default http://127.0.0.1:8080)'],
  ['--account-id <id>', "12-digit account [S3BATCH_ACCOUNT_ID] (default: the key's account, else 000000000000)"],
  ['--access-key-id <id>', 'API access key id [S3BATCH_API_ACCESS_KEY_ID]'],
  ['--secret-access-key <secret>', 'API secret access key [S3BATCH_API_SECRET_ACCESS_KEY]'],
  ['--region <region>', 'SigV4 signing region [S3BATCH_REGION] (default us-east-1)'],
  [
    '--profile <name>',
    'profile in ~/.config/s3batch/profiles.json [S3BATCH_PROFILE; file: S3BATCH_PROFILES_FILE] (default: "default" when present)',
  ],
  [
    '--data-dir <dir>',
    'data folder of a local `s3batch serve`, whose api-keys.json is the last resort [S3BATCH_DATA_DIR] (default ./.s3batch)',
  ],
];

/** Adds the connection flags to a verb, under their own "Connection options:" heading in --help. */
export function addConnectionOptions(cmd: Command): Command {
  for (const [flags, description] of CONNECTION_OPTIONS)
    cmd.addOption(new Option(flags, description).helpGroup('Connection options:'));
  return cmd;
}

/** The connection flags out of a verb's parsed options. */
export function connectionFlags(opts: Readonly<Record<string, unknown>>): ConnectionFlags {
  const s = (k: string): string | undefined => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  return {
    endpointUrl: s('endpointUrl'),
    accountId: s('accountId'),
    accessKeyId: s('accessKeyId'),
    secretAccessKey: s('secretAccessKey'),
    region: s('region'),
    profile: s('profile'),
    dataDir: s('dataDir'),
  };
}

/** The S3ControlClient for these settings: talks to the endpoint's host as it is. */
function s3ControlClient(sdk: S3ControlSdk, settings: ClientSettings): S3ControlClient {
  return new sdk.S3ControlClient({
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    // Without this the SDK's endpoint rules put the account id in front of the host
    // (`000000000000.127.0.0.1:8080`), which needs DNS or /etc/hosts entries.
    endpointProvider: () => ({ url: new URL(settings.endpointUrl) }),
    maxAttempts: 2,
  });
}

/** A network failure as EndpointUnreachable naming the endpoint; any other error as it is. */
function unreachableOr(err: unknown, endpointUrl: string): unknown {
  const code = networkErrorCode(err);
  return code === undefined ? err : unreachableError(endpointUrl, code, err);
}

/** fetch's "bad port" refusal (6000, 5060, 10080, … — the WHATWG fetch block list), made before any connection. */
function isBadPort(err: unknown): boolean {
  return err instanceof TypeError && err.cause instanceof Error && err.cause.message === 'bad port';
}

/** Builds a signer-backed fetch for the JSON API. */
function createSignedFetch(
  settings: ClientSettings,
  fetchImpl: typeof fetch = fetch,
  sendAccountId = true,
): Connection['signedFetch'] {
  const signer = new SignatureV4({
    service: 's3',
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
  return async (path, init = {}) => {
    const url = new URL(path, `${settings.endpointUrl}/`);
    const body = init.body ?? '';
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const signed = await signer.sign(
      new HttpRequest({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port !== '' ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query,
        headers: {
          // fetch sends Host as url.host (with the port when not the default): sign exactly that.
          host: url.host,
          'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
          ...(sendAccountId ? { 'x-amz-account-id': settings.accountId } : {}),
          ...init.headers,
        },
        body,
      }),
    );
    const headers = { ...(signed.headers as Record<string, string>) };
    delete headers.host;
    try {
      return await fetchImpl(url, {
        method,
        headers,
        ...(init.body !== undefined ? { body: init.body } : {}),
        ...(init.signal !== undefined ? { signal: init.signal } : {}),
      });
    } catch (err) {
      if (isBadPort(err)) {
        throw new CliError(
          'EndpointPortBlocked',
          `fetch refuses port ${url.port} of ${settings.endpointUrl} (one of the ports the fetch standard blocks), and the CLI reads the JSON API with fetch: run the server on another port, e.g. --port 8080`,
          EXIT_USER_ERROR,
          { cause: err },
        );
      }
      throw unreachableOr(err, settings.endpointUrl);
    }
  };
}

/** A connection for already resolved settings. */
function connectWith(sdk: S3ControlSdk, settings: ClientSettings): Connection {
  const client = s3ControlClient(sdk, settings);
  return {
    sdk,
    settings,
    accountId: settings.accountId,
    endpointUrl: settings.endpointUrl,
    client,
    send: async <In extends ServiceInputTypes, Out extends ServiceOutputTypes>(
      command: S3ControlCommand<In, Out>,
    ): Promise<Out> => {
      try {
        return await client.send(command);
      } catch (err) {
        throw unreachableOr(err, settings.endpointUrl);
      }
    },
    signedFetch: createSignedFetch(settings),
    close: () => client.destroy(),
  };
}

/**
 * The account the key acts for, as the server says (`GET /api/v1/session`, SigV4 without an
 * x-amz-account-id); undefined when it cannot tell (an older server, an unknown key: the verb's
 * own request then gives the real error).
 */
async function discoverAccountId(
  settings: ClientSettings,
  fetchImpl: typeof fetch = fetch,
): Promise<string | undefined> {
  const res = await createSignedFetch(settings, fetchImpl, false)('/api/v1/session');
  if (!res.ok) {
    await res.body?.cancel();
    return undefined;
  }
  const body = (await res.json().catch(() => undefined)) as { AccountId?: unknown } | undefined;
  return typeof body?.AccountId === 'string' && /^\d{12}$/.test(body.AccountId) ? body.AccountId : undefined;
}

/**
 * Resolves flags → env → profile → the local server's key (see client-config.ts) and connects.
 * When nothing named the account, the server is asked which one the key belongs to.
 */
export async function connect(flags: ConnectionFlags, env: NodeJS.ProcessEnv, cwd?: string): Promise<Connection> {
  let settings = await resolveClientSettings(flags, env, cwd);
  if (!settings.accountIdGiven) {
    const accountId = await discoverAccountId(settings);
    if (accountId !== undefined) settings = Object.freeze({ ...settings, accountId, accountIdGiven: true });
  }
  return connectWith(await import('@aws-sdk/client-s3-control'), settings);
}
