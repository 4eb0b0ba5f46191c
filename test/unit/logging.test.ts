/**
 * The logger factory (src/logging.ts): which format, which level, what is redacted; and the
 * engine's job lines through it (jobId and accountId on each), on the in-memory engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { succeeded } from '../../src/domain/task.ts';
import { chooseLogFormat, createLogger, type LoggerOptions, REDACTED, redactUrl } from '../../src/logging.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import {
  csvManifest,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';

/** A logger writing into an array, one entry per line. */
function capture(opts: Omit<LoggerOptions, 'destination'>) {
  const lines: string[] = [];
  const logger = createLogger({ ...opts, destination: { write: (s: string) => void lines.push(s) } });
  const json = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, json };
}

describe('chooseLogFormat', () => {
  it('takes the configured format, else pretty on a TTY and JSON otherwise', () => {
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
    expect(chooseLogFormat(undefined, undefined)).toBe('json');
  });
});

describe('createLogger: json', () => {
  it('writes one JSON object per line: level name, ISO time, message, fields, child bindings', () => {
    const { logger, lines, json } = capture({ level: 'info', format: 'json' });
    logger.child({ jobId: 'J', accountId: '111122223333' }).warn({ code: 'X' }, 'job J: something');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trimEnd()).not.toContain('\n');
    const [line] = json();
    expect(line).toMatchObject({
      level: 'warn',
      jobId: 'J',
      accountId: '111122223333',
      code: 'X',
      msg: 'job J: something',
    });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
  });

  it.each([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
    ['silent', []],
  ] as const)('level %s writes %j', (level, written) => {
    const { logger, json } = capture({ level, format: 'json' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(json().map((l) => l.level)).toEqual(written);
  });

  it('serializes an error with its type, message and stack', () => {
    const { logger, json } = capture({ level: 'info', format: 'json' });
    logger.error({ err: new TypeError('boom') }, 'failed');
    expect(json()[0]).toMatchObject({ err: { type: 'TypeError', message: 'boom' } });
    expect((json()[0]!.err as { stack: string }).stack).toContain('TypeError: boom');
  });
});

describe('createLogger: redaction', () => {
  const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

  it('replaces credentials in headers and in key, password and token fields, at any usual depth', () => {
    const { logger, lines, json } = capture({ level: 'info', format: 'json' });
    logger.info(
      {
        headers: { authorization: `AWS4-HMAC-SHA256 Credential=AK/x, Signature=${SECRET}`, host: 'h' },
        res: { headers: { 'set-cookie': `s3batch_session=${SECRET}` } },
        request: { headers: { cookie: `s3batch_session=${SECRET}`, 'x-amz-security-token': SECRET } },
        secretAccessKey: SECRET,
        config: { storage: { secretAccessKey: SECRET }, lambdaSecret: { password: SECRET } },
        key: { SecretAccessKey: SECRET, SessionToken: SECRET },
        token: SECRET,
      },
      'with secrets',
    );
    expect(lines.join('')).not.toContain(SECRET);
    const [line] = json();
    expect(line).toMatchObject({
      headers: { authorization: REDACTED, host: 'h' },
      res: { headers: { 'set-cookie': REDACTED } },
      request: { headers: { cookie: REDACTED, 'x-amz-security-token': REDACTED } },
      secretAccessKey: REDACTED,
      config: { storage: { secretAccessKey: REDACTED }, lambdaSecret: { password: REDACTED } },
      key: { SecretAccessKey: REDACTED, SessionToken: REDACTED },
      token: REDACTED,
    });
  });

  it('logs a request as method, URL without credentials, host and client address (never its headers)', () => {
    const { logger, lines, json } = capture({ level: 'info', format: 'json' });
    const req = {
      method: 'GET',
      url: `/api/v1/jobs?maxResults=5&X-Amz-Credential=AK%2F20260101&X-Amz-Signature=${SECRET}`,
      headers: { host: 'example:8080', authorization: `Basic ${SECRET}`, cookie: SECRET },
      socket: { remoteAddress: '10.0.0.7' },
    };
    logger.info({ req }, 'request');
    expect(lines.join('')).not.toContain(SECRET);
    expect(json()[0]!.req).toEqual({
      method: 'GET',
      url: `/api/v1/jobs?maxResults=5&X-Amz-Credential=${REDACTED}&X-Amz-Signature=${REDACTED}`,
      host: 'example:8080',
      remoteAddress: '10.0.0.7',
    });
  });

  it('redactUrl: SigV4 and SigV2 query credentials, any case, percent-encoded names; other URLs as they are', () => {
    expect(redactUrl('/a/b')).toBe('/a/b');
    expect(redactUrl('/a?x=1&y')).toBe('/a?x=1&y');
    expect(redactUrl('/a?x-amz-signature=s&X-AMZ-SECURITY-TOKEN=t&x=1')).toBe(
      `/a?x-amz-signature=${REDACTED}&X-AMZ-SECURITY-TOKEN=${REDACTED}&x=1`,
    );
    expect(redactUrl('/o?AWSAccessKeyId=AK&Expires=1&Signature=abc')).toBe(
      `/o?AWSAccessKeyId=${REDACTED}&Expires=1&Signature=${REDACTED}`,
    );
    expect(redactUrl('/o?X%2DAmz%2DSignature=abc&%zz=1')).toBe(`/o?X%2DAmz%2DSignature=${REDACTED}&%zz=1`);
  });

  it('redacts in pretty lines too', () => {
    const { logger, lines } = capture({ level: 'info', format: 'pretty', colorize: false });
    logger.info({ headers: { authorization: SECRET }, req: { method: 'GET', url: `/x?Signature=${SECRET}` } }, 'r');
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).toContain(REDACTED);
  });
});

describe('createLogger: pretty', () => {
  it('writes one readable line per record: time, level, message and the fields, no pid or hostname', () => {
    const { logger, lines } = capture({ level: 'info', format: 'pretty', colorize: false });
    logger.child({ jobId: 'J1', accountId: '111122223333' }).info({ from: 'New', to: 'Preparing' }, 'job J1: moved');
    logger.debug('not at info');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: job J1: moved /);
    expect(line).toContain('"jobId":"J1"');
    expect(line).toContain('"accountId":"111122223333"');
    expect(line).not.toContain('hostname');
    expect(line).not.toContain('\u001b['); // no colours when asked for none
    expect(() => JSON.parse(line)).toThrow();
  });
});

describe('the engine through the logger', () => {
  afterEach(stopTestEngines);

  it('every line of a job carries its jobId and accountId (a completed job and one that fails in Preparing)', async () => {
    const { logger, json } = capture({ level: 'info', format: 'json' });
    const objects = new MemoryObjectStore();
    objects.createBucket('src');
    objects.createBucket('reports');
    const store = new MemoryJobStore();
    const { engine, service } = newTestEngine({
      store,
      objects,
      handler: {
        name: 'S3PutObjectTagging',
        parse: () => ({}),
        attempt: async (_config, entry) => ({ result: succeeded(entry), retryable: false }),
      },
      deps: { log: logger },
    });
    await engine.start();
    const { etag } = await objects.put({ bucket: 'src', key: 'm.csv' }, 'src,a\nsrc,b\n');
    const done = service.createJob(TEST_ACCOUNT, taggingJobRequest({ Manifest: csvManifest('m.csv', etag) })).JobId;
    const failing = service.createJob(
      TEST_ACCOUNT,
      taggingJobRequest({ Manifest: csvManifest('absent.csv', '"0123456789abcdef0123456789abcdef"') }),
    ).JobId;
    await waitForStatus(engine, store, done, 'Complete');
    await waitForStatus(engine, store, failing, 'Failed');

    const lines = json();
    const of = (jobId: string) => lines.filter((l) => String(l.msg).includes(jobId));
    expect(of(done).map((l) => l.to)).toEqual(['Preparing', 'Ready', 'Active', 'Completing', 'Complete']);
    expect(of(failing).some((l) => l.level === 'warn' && String(l.msg).includes('failed in Preparing'))).toBe(true);
    for (const jobId of [done, failing]) {
      expect(of(jobId).length).toBeGreaterThan(1);
      for (const l of of(jobId)) expect(l).toMatchObject({ jobId, accountId: TEST_ACCOUNT });
    }
  });
});
