/**
 * What the CLI says and which exit code it uses when a command fails: 0 ok, 2 the user's error
 * (bad arguments or configuration, a 4xx answer such as NotFoundException or AccessDenied), 1 the
 * server's or the network's (5xx, connection refused, timeouts, anything unexpected). One line on
 * stderr: `s3batch: <Code>: <message>`.
 */
import { isS3BatchError } from '../domain/errors.ts';

export const EXIT_SERVER_ERROR = 1;
export const EXIT_USER_ERROR = 2;

/** An error the CLI itself raises, with its code and exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: 1 | 2 = EXIT_USER_ERROR,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A user error in the arguments: exit 2. */
export function usageError(message: string): CliError {
  return new CliError('InvalidArgument', message, EXIT_USER_ERROR);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The network error code of `err` (also inside fetch's `cause`), or undefined when it is not one. */
export function networkErrorCode(err: unknown): string | undefined {
  for (
    let e: unknown = err, depth = 0;
    e instanceof Error && depth < 4;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (e.name === 'TimeoutError') return 'ETIMEDOUT';
  }
  return undefined;
}

/** The message for a server that cannot be reached, naming it and how to start one. */
export function unreachableError(endpointUrl: string, code: string, cause?: unknown): CliError {
  return new CliError(
    'EndpointUnreachable',
    `cannot reach the s3batch server at ${endpointUrl} (${code}). Start it with \`s3batch serve\` (or \`npm start\` in the repository), ` +
      'or point --endpoint-url / S3BATCH_ENDPOINT_URL / a profile at the running server',
    EXIT_SERVER_ERROR,
    { cause },
  );
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file of that name is in the way',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'the name is too long',
};

/** What a local file-system error means, for a message: `no such file or folder (ENOENT)`. */
export function fileErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return (err as Error | undefined)?.message ?? String(err);
  return FILE_ERRORS[code] === undefined ? code : `${FILE_ERRORS[code]} (${code})`;
}

/** A failed file-system call of this machine (it names a path): the caller's to fix, not the server's. */
function localFileError(err: unknown): { syscall: string; path: string } | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (
    !(e instanceof Error) ||
    typeof e.syscall !== 'string' ||
    typeof e.path !== 'string' ||
    typeof e.code !== 'string'
  )
    return undefined;
  return { syscall: e.syscall, path: e.path };
}

interface SdkErrorShape {
  name: string;
  message: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

function isSdkServiceError(err: unknown): err is SdkErrorShape {
  return (
    err instanceof Error &&
    typeof (err as { $metadata?: unknown }).$metadata === 'object' &&
    (err as { $fault?: unknown }).$fault !== undefined
  );
}

export interface CliFailure {
  readonly exitCode: 1 | 2;
  /** The line for stderr, without the trailing newline. */
  readonly line: string;
}

/** Maps any error thrown by a command to its exit code and one line for stderr. */
export function describeFailure(err: unknown): CliFailure {
  if (err instanceof CliError) return { exitCode: err.exitCode, line: `s3batch: ${err.code}: ${err.message}` };
  if (isS3BatchError(err)) {
    const user = err.code === 'InvalidConfiguration' || err.status < 500;
    return { exitCode: user ? EXIT_USER_ERROR : EXIT_SERVER_ERROR, line: `s3batch: ${err.code}: ${err.message}` };
  }
  if (isSdkServiceError(err)) {
    const status = err.$metadata?.httpStatusCode;
    const user = status !== undefined ? status >= 400 && status < 500 : err.$fault === 'client';
    const message =
      err.message === '' || err.message === 'UnknownError' ? `HTTP ${status ?? '?'} from the server` : err.message;
    return { exitCode: user ? EXIT_USER_ERROR : EXIT_SERVER_ERROR, line: `s3batch: ${err.name}: ${message}` };
  }
  const net = networkErrorCode(err);
  if (net !== undefined)
    return { exitCode: EXIT_SERVER_ERROR, line: `s3batch: EndpointUnreachable: ${(err as Error).message}` };
  const file = localFileError(err);
  if (file !== undefined)
    return {
      exitCode: EXIT_USER_ERROR,
      line: `s3batch: LocalFileError: cannot ${file.syscall} ${file.path}: ${fileErrorText(err)}`,
    };
  const e = err as Error;
  return { exitCode: EXIT_SERVER_ERROR, line: `s3batch: ${e?.name ?? 'Error'}: ${e?.stack ?? String(err)}` };
}
