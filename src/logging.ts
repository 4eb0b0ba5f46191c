/**
 * The server's logger: pino (fastify's own logger), one instance for the HTTP app and the engine.
 *
 * - `json`: one JSON object per line on stdout, for a log shipper: `level` as a name, `time` in
 *   ISO 8601, `reqId` on every line of an API request, `jobId` and `accountId` on every line of a job.
 * - `pretty`: the same records as coloured single lines for a person at a terminal (pino-pretty).
 *   The default when stdout is a TTY; `json` otherwise (`chooseLogFormat`).
 *
 * No secrets: the `redact` paths below replace credentials wherever a record carries them (headers,
 * keys, passwords, tokens), the `req` serializer keeps only method, URL, host and client address of a
 * request, and the credentials in a presigned URL's query string (SigV4/SigV2 query auth) are
 * replaced in the URL it logs.
 */
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What a credential is replaced with. */
export const REDACTED = '[Redacted]';

/** The given format, else pretty for a person at a terminal and JSON for anything else. */
export function chooseLogFormat(configured: LogFormat | undefined, isTTY: boolean | undefined): LogFormat {
  return configured ?? (isTTY ? 'pretty' : 'json');
}

const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-amz-security-token', 'proxy-authorization'];
const SECRET_FIELDS = [
  'secretAccessKey',
  'SecretAccessKey',
  'sessionToken',
  'SessionToken',
  'password',
  'token',
  'authorization',
  'cookie',
];

/** Where a record may carry a credential: headers of a request or response, and key, password, token fields. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`, `*.*.headers["${h}"]`]),
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

/** Query parameters whose values are credentials in a presigned URL (SigV4 and SigV2 query auth). */
const SECRET_QUERY_PARAM = /^(x-amz-signature|x-amz-credential|x-amz-security-token|signature|awsaccesskeyid)$/i;

/** The URL with the values of its credential query parameters replaced (`X-Amz-Signature=[Redacted]`). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name);
      } catch {
        // not percent-encoded text: compare it as it is
      }
      return SECRET_QUERY_PARAM.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/** A fastify request or a Node IncomingMessage, as much as the `req` serializer reads of it. */
interface RequestLike {
  readonly method?: string;
  readonly url?: string;
  readonly host?: string;
  readonly ip?: string;
  readonly headers?: Record<string, unknown>;
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
}

const serializers = {
  req: (req: RequestLike) => ({
    method: req.method,
    url: req.url === undefined ? undefined : redactUrl(req.url),
    host: req.host ?? req.headers?.host,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
  }),
  err: pino.stdSerializers.err,
};

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where the lines go (default: stdout). */
  readonly destination?: DestinationStream;
  /** Colours in pretty lines (default: when stdout is a TTY and the lines go there). */
  readonly colorize?: boolean;
}

export function createLogger(opts: LoggerOptions): Logger {
  const out = opts.destination ?? pino.destination({ dest: 1, sync: true });
  const options: pino.LoggerOptions = {
    level: opts.level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (opts.format === 'json') return pino(options, out);
  // pino-pretty's formatter as a plain function: lines stay synchronous and in order with the rest of
  // stdout, and its modules load only when someone asks for pretty lines.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const pretty = prettyFactory({
    colorize: opts.colorize ?? (opts.destination === undefined && process.stdout.isTTY === true),
    singleLine: true,
    ignore: 'pid,hostname',
    translateTime: 'SYS:HH:MM:ss.l',
  });
  return pino(options, { write: (line: string) => out.write(pretty(line)) });
}

/** The logger the settings ask for (`--log-level`, `--log-format`), on stdout. */
export function loggerFor(config: { readonly logLevel: LogLevel; readonly logFormat?: LogFormat | undefined }): Logger {
  return createLogger({ level: config.logLevel, format: chooseLogFormat(config.logFormat, process.stdout.isTTY) });
}
