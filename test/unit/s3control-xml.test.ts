/**
 * The S3 Control XML codec (src/api/s3control/xml-*.ts, docs/s3control-api.md#xml-encoding,
 * docs/s3control-api.md#error-envelope, docs/s3control-api.md#examples), judged by the real @aws-sdk/client-s3-control:
 * every fixture in the spec's examples round-trips through our reader and writer and the SDK parses fixture and our
 * output to the same object; the error envelope makes the SDK throw its typed exceptions; malformed and hostile bodies
 * are refused with MalformedXML.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateJobCommand,
  DescribeJobCommand,
  GetJobTaggingCommand,
  ListJobsCommand,
  UpdateJobPriorityCommand,
  UpdateJobStatusCommand,
} from '@aws-sdk/client-s3-control';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE, isS3BatchError, type ErrorCode } from '../../src/domain/errors.ts';
import {
  parseCreateJobRequest,
  parsePutJobTaggingRequest,
  readXmlDocument,
  MAX_XML_BODY_BYTES,
} from '../../src/api/s3control/xml-requests.ts';
import {
  createJobResult,
  describeJobResult,
  errorResponse,
  getJobTaggingResult,
  listJobsResult,
  updateJobPriorityResult,
  updateJobStatusResult,
  writeXmlDocument,
  type DescribedJob,
} from '../../src/api/s3control/xml-responses.ts';
import type { DocumentName } from '../../src/api/s3control/xml-shapes.ts';
import type { JobListDescriptor } from '../../src/service/batch-service.ts';
import { ACCOUNT_ID, clientAnswering, isoDates, withoutMetadata } from '../helpers/canned-s3control.ts';

const EXAMPLES = '/work/shared/spec/examples';
const JOB_ID = '9f2b6c1e-4d7a-4c8e-9b1a-2f6e0c3d5a71';

function fixture(name: string): string {
  return readFileSync(join(EXAMPLES, name), 'utf8');
}

/** The root element name of a document. */
function rootOf(xml: string): string {
  const m = /<([A-Za-z][\w.-]*)[\s>/]/.exec(xml.replace(/<\?xml[^>]*\?>/, ''));
  if (!m?.[1]) throw new Error('no root element');
  return m[1];
}

/** What the real SDK makes of `xml` as the answer to the operation whose result it is. */
async function sdkParse(document: DocumentName, xml: string): Promise<unknown> {
  const client = clientAnswering(xml);
  switch (document) {
    case 'DescribeJobResult':
      return withoutMetadata(await client.send(new DescribeJobCommand({ AccountId: ACCOUNT_ID, JobId: JOB_ID })));
    case 'ListJobsResult':
      return withoutMetadata(await client.send(new ListJobsCommand({ AccountId: ACCOUNT_ID })));
    case 'GetJobTaggingResult':
      return withoutMetadata(await client.send(new GetJobTaggingCommand({ AccountId: ACCOUNT_ID, JobId: JOB_ID })));
    case 'UpdateJobStatusResult':
      return withoutMetadata(
        await client.send(
          new UpdateJobStatusCommand({ AccountId: ACCOUNT_ID, JobId: JOB_ID, RequestedJobStatus: 'Cancelled' }),
        ),
      );
    case 'UpdateJobPriorityResult':
      return withoutMetadata(
        await client.send(new UpdateJobPriorityCommand({ AccountId: ACCOUNT_ID, JobId: JOB_ID, Priority: 5 })),
      );
    case 'CreateJobResult':
      return withoutMetadata(
        await client.send(
          new CreateJobCommand({
            AccountId: ACCOUNT_ID,
            Operation: { S3DeleteObjectTagging: {} },
            Report: { Enabled: false },
            Priority: 1,
            RoleArn: 'r',
            ClientRequestToken: 't',
          }),
        ),
      );
    default:
      throw new Error(`no SDK command for ${document}`);
  }
}

/** Our writer for each response document. */
function writeResponse(document: DocumentName, json: Record<string, unknown>): string {
  switch (document) {
    case 'DescribeJobResult':
      return describeJobResult(json as { Job: DescribedJob });
    case 'ListJobsResult':
      return listJobsResult(json as { Jobs: JobListDescriptor[]; NextToken?: string });
    case 'GetJobTaggingResult':
      return getJobTaggingResult(json as { Tags: { Key: string; Value: string }[] });
    case 'UpdateJobStatusResult':
      return updateJobStatusResult(json as { JobId: string; Status: string; StatusUpdateReason?: string });
    case 'UpdateJobPriorityResult':
      return updateJobPriorityResult(json as { JobId: string; Priority: number });
    case 'CreateJobResult':
      return createJobResult(json as { JobId: string });
    default:
      throw new Error(`no writer for ${document}`);
  }
}

/** The error the SDK throws for an answer. */
async function sdkError(
  xml: string,
  status: number,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const client = clientAnswering(xml, status, headers);
  try {
    await client.send(
      new UpdateJobStatusCommand({ AccountId: ACCOUNT_ID, JobId: JOB_ID, RequestedJobStatus: 'Ready' }),
    );
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('the SDK did not throw');
}

function expectMalformed(run: () => unknown, messagePart?: RegExp): void {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(isS3BatchError(thrown), `expected MalformedXML, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: ErrorCode }).code).toBe('MalformedXML');
  if (messagePart) expect((thrown as Error).message).toMatch(messagePart);
}

describe('spec fixtures round-trip', () => {
  const files = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.xml'))
    .sort();

  it('there are fixtures, each a known document', () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      expect([
        'CreateJobRequest',
        'PutJobTaggingRequest',
        'CreateJobResult',
        'DescribeJobResult',
        'ListJobsResult',
        'UpdateJobPriorityResult',
        'UpdateJobStatusResult',
        'GetJobTaggingResult',
        'ErrorResponse',
      ]).toContain(rootOf(fixture(f)));
    }
  });

  it('create-job-request.xml parses to the CreateJob input and re-serialises to the same input', () => {
    const parsed = parseCreateJobRequest(fixture('create-job-request.xml'));
    expect(parsed).toEqual({
      ConfirmationRequired: false,
      Operation: {
        S3PutObjectCopy: {
          TargetResource: 'arn:aws:s3:::archive-bucket',
          CannedAccessControlList: 'bucket-owner-full-control',
          MetadataDirective: 'REPLACE',
          NewObjectMetadata: {
            CacheControl: 'max-age=86400',
            ContentType: 'text/plain',
            UserMetadata: { 'source-system': 'ingest-v2' },
            SSEAlgorithm: 'AES256',
          },
          NewObjectTagging: [{ Key: 'copied-by', Value: 'batch' }],
          StorageClass: 'STANDARD_IA',
          UnModifiedSinceConstraint: '2024-05-01T00:00:00.000Z',
          TargetKeyPrefix: 'logs',
          ChecksumAlgorithm: 'CRC32C',
        },
      },
      Report: {
        Bucket: 'arn:aws:s3:::ops-reports',
        Format: 'Report_CSV_20180820',
        Enabled: true,
        Prefix: 'batch',
        ReportScope: 'AllTasks',
      },
      ClientRequestToken: '5b0f3a52-57c4-4a43-9a4e-5f1e2d8c2b10',
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key', 'VersionId'] },
        Location: { ObjectArn: 'arn:aws:s3:::ops-manifests/2024/copy.csv', ETag: '60e460c9d1046e73f7dde5043ac3ae85' },
      },
      Description: 'copy logs to archive',
      Priority: 10,
      RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
      Tags: [{ Key: 'team', Value: 'storage' }],
    });
    const again = writeXmlDocument('CreateJobRequest', parsed);
    expect(parseCreateJobRequest(again)).toEqual(parsed);
  });

  for (const file of files) {
    const document = rootOf(fixture(file)) as DocumentName;
    if (document === 'CreateJobRequest' || document === 'PutJobTaggingRequest' || document === 'ErrorResponse')
      continue;
    it(`${file}: our reader agrees with the SDK, and the SDK parses our re-serialisation to the same object`, async () => {
      const xml = fixture(file);
      const json = readXmlDocument(xml, document);
      const fromFixture = await sdkParse(document, xml);
      // The reader gives the SDK's own reading of the fixture (timestamps as ISO strings).
      expect(json).toEqual(isoDates(fromFixture));
      const ours = writeResponse(document, json);
      expect(await sdkParse(document, ours)).toEqual(fromFixture);
      // Writing is a fixed point: reading our output and writing again gives the same bytes.
      expect(writeResponse(document, readXmlDocument(ours, document))).toBe(ours);
    });
  }

  it('error-response.xml: the SDK throws the same typed error for the fixture and for our envelope', async () => {
    const xml = fixture('error-response.xml');
    const json = readXmlDocument(xml, 'ErrorResponse') as {
      Error: { Code: string; Message: string };
      RequestId: string;
      HostId: string;
    };
    expect(json.Error.Code).toBe('JobStatusException');
    const ours = errorResponse({
      code: json.Error.Code,
      message: json.Error.Message,
      requestId: json.RequestId,
      hostId: json.HostId,
    });
    expect(readXmlDocument(ours, 'ErrorResponse')).toEqual(json);
    const headers = { 'x-amz-request-id': json.RequestId };
    const a = await sdkError(xml, 409, headers);
    const b = await sdkError(ours, 409, headers);
    expect(b.name).toBe('JobStatusException');
    expect([b.name, b.message, b.$fault, (b.$metadata as { requestId?: string }).requestId]).toEqual([
      a.name,
      a.message,
      a.$fault,
      (a.$metadata as { requestId?: string }).requestId,
    ]);
  });
});

describe('responses the real SDK reads', () => {
  it('createJobResult and updateJobPriorityResult', async () => {
    expect(createJobResult({ JobId: JOB_ID })).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><CreateJobResult xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><JobId>${JOB_ID}</JobId></CreateJobResult>`,
    );
    expect(await sdkParse('CreateJobResult', createJobResult({ JobId: JOB_ID }))).toEqual({ JobId: JOB_ID });
    expect(
      await sdkParse('UpdateJobPriorityResult', updateJobPriorityResult({ JobId: JOB_ID, Priority: 2147483647 })),
    ).toEqual({ JobId: JOB_ID, Priority: 2147483647 });
  });

  it('updateJobStatusResult without a reason has no StatusUpdateReason element', async () => {
    const xml = updateJobStatusResult({ JobId: JOB_ID, Status: 'Ready' });
    expect(xml).not.toContain('StatusUpdateReason');
    expect(await sdkParse('UpdateJobStatusResult', xml)).toEqual({ JobId: JOB_ID, Status: 'Ready' });
  });

  it('listJobsResult: NextToken only when given; an empty page is <Jobs/> and reads as []', async () => {
    const xml = listJobsResult({ Jobs: [] });
    expect(xml).toContain('<Jobs/>');
    expect(xml).not.toContain('NextToken');
    expect(await sdkParse('ListJobsResult', xml)).toEqual({ Jobs: [] });
  });

  it('getJobTaggingResult: an empty tag set reads as []', async () => {
    expect(await sdkParse('GetJobTaggingResult', getJobTaggingResult({ Tags: [] }))).toEqual({ Tags: [] });
  });

  it('text with XML-special and control characters survives, in values and map keys', async () => {
    const nasty = `a&b<c>d"e'f\r\ng\th\u0001i\u001fj\u007fk\u0085l\u2028m😀n]]>o`;
    const job: DescribedJob = {
      JobId: JOB_ID,
      ConfirmationRequired: false,
      Description: nasty,
      JobArn: `arn:aws:s3:us-east-1:${ACCOUNT_ID}:job/${JOB_ID}`,
      Status: 'Active',
      // (A value of only white space with a line feed, e.g. '\n', reads as '' in the SDK whatever the encoding: its parser blanks such text.)
      Operation: {
        S3PutObjectCopy: {
          TargetResource: 'arn:aws:s3:::dest',
          NewObjectMetadata: { UserMetadata: { [nasty]: nasty, '\r': '\r', ' ': '\t' } },
        },
      },
      Priority: 3,
      ProgressSummary: {
        TotalNumberOfTasks: 0,
        NumberOfTasksSucceeded: 0,
        NumberOfTasksFailed: 0,
        Timers: { ElapsedTimeInActiveSeconds: 0 },
      },
      FailureReasons: [{ FailureCode: 'X', FailureReason: `key "${nasty}" failed` }],
      Report: { Enabled: false },
      CreationTime: '2024-05-01T10:00:00Z',
      RoleArn: 'arn:aws:iam::111122223333:role/r',
    };
    const xml = describeJobResult({ Job: job });
    // U+0001 and U+001F cannot be carried by XML 1.0 at all: written as U+FFFD (xml-responses.ts header).
    expect(xml).toContain('a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;&#10;g&#9;h\ufffdi\ufffdj');
    const carried = <T>(v: T): T => JSON.parse(JSON.stringify(v).replace(/\\u0001|\\u001f/g, '\ufffd')) as T;
    const sdk = (await sdkParse('DescribeJobResult', xml)) as { Job: Record<string, unknown> };
    expect(sdk.Job.Description).toBe(carried(nasty));
    expect(sdk.Job.Operation).toEqual(carried(job.Operation));
    expect(sdk.Job.FailureReasons).toEqual(carried(job.FailureReasons));
    // and our own reader gets the same strings back
    const ours = readXmlDocument(xml, 'DescribeJobResult') as { Job: Record<string, unknown> };
    expect(ours.Job.Description).toBe(carried(nasty));
    expect(ours.Job.Operation).toEqual(carried(job.Operation));
  });

  it('an operation stored as "" (a JSON spelling of an empty element) is written as an empty element', async () => {
    const job = {
      JobId: JOB_ID,
      ConfirmationRequired: true,
      JobArn: `arn:aws:s3:us-east-1:${ACCOUNT_ID}:job/${JOB_ID}`,
      Status: 'Suspended',
      Operation: { S3DeleteObjectTagging: '' },
      Priority: 1,
      ProgressSummary: {
        TotalNumberOfTasks: 0,
        NumberOfTasksSucceeded: 0,
        NumberOfTasksFailed: 0,
        Timers: { ElapsedTimeInActiveSeconds: 0 },
      },
      FailureReasons: [],
      Report: { Enabled: false },
      CreationTime: '2024-05-01T10:00:00Z',
      RoleArn: 'arn:aws:iam::111122223333:role/r',
    } as unknown as DescribedJob;
    const xml = describeJobResult({ Job: job });
    expect(xml).toContain('<Operation><S3DeleteObjectTagging/></Operation>');
    const sdk = (await sdkParse('DescribeJobResult', xml)) as { Job: { Operation: unknown; FailureReasons: unknown } };
    expect(sdk.Job.Operation).toEqual({ S3DeleteObjectTagging: {} });
    expect(sdk.Job.FailureReasons).toEqual([]);
  });

  it('timestamps are ISO-8601 UTC with milliseconds, from strings or Dates', async () => {
    const xml = listJobsResult({
      Jobs: [
        {
          JobId: JOB_ID,
          Operation: 'S3PutObjectCopy',
          Priority: 1,
          Status: 'Complete',
          CreationTime: '2024-05-01T10:00:00Z',
          TerminationDate: new Date('2024-05-01T12:00:00+02:00') as unknown as string,
          ProgressSummary: {
            TotalNumberOfTasks: 1,
            NumberOfTasksSucceeded: 1,
            NumberOfTasksFailed: 0,
            Timers: { ElapsedTimeInActiveSeconds: 9 },
          },
        },
      ],
      NextToken: 'abc.def',
    });
    expect(xml).toContain(
      '<CreationTime>2024-05-01T10:00:00.000Z</CreationTime><TerminationDate>2024-05-01T10:00:00.000Z</TerminationDate>',
    );
    const sdk = (await sdkParse('ListJobsResult', xml)) as { Jobs: { CreationTime: Date }[]; NextToken: string };
    expect(sdk.NextToken).toBe('abc.def');
    expect(sdk.Jobs[0]?.CreationTime).toEqual(new Date('2024-05-01T10:00:00Z'));
  });

  it('output is byte-stable: member order is the model order, whatever the order of the object keys', () => {
    const a = updateJobStatusResult({ JobId: JOB_ID, Status: 'Cancelling', StatusUpdateReason: 'r' });
    const b = updateJobStatusResult({ StatusUpdateReason: 'r', Status: 'Cancelling', JobId: JOB_ID });
    expect(b).toBe(a);
    expect(a).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><UpdateJobStatusResult xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><JobId>${JOB_ID}</JobId><Status>Cancelling</Status><StatusUpdateReason>r</StatusUpdateReason></UpdateJobStatusResult>`,
    );
  });
});

describe('the error envelope makes the SDK throw its typed exceptions', () => {
  const codes = [
    'NotFoundException',
    'JobStatusException',
    'IdempotencyException',
    'BadRequestException',
    'TooManyRequestsException',
    'InvalidNextTokenException',
    'InvalidRequestException',
  ] as const satisfies readonly ErrorCode[];

  it('wraps Code and Message in <Error>, then RequestId and HostId', () => {
    expect(
      errorResponse({ code: 'NotFoundException', message: 'No such job <x>', requestId: 'R1', hostId: 'H1' }),
    ).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><ErrorResponse xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Error><Code>NotFoundException</Code><Message>No such job &lt;x&gt;</Message></Error><RequestId>R1</RequestId><HostId>H1</HostId></ErrorResponse>',
    );
  });

  for (const code of codes) {
    it(code, async () => {
      const message = `${code}: job ${JOB_ID} & "friends"`;
      const xml = errorResponse({ code, message, requestId: 'REQ0123456789ABC', hostId: 'aG9zdA==' });
      // No x-amz-request-id header: the SDK must find the request id in the envelope's <RequestId>.
      const err = await sdkError(xml, ERROR_TABLE[code].status);
      expect(err.name).toBe(code);
      expect(err.constructor.name).toBe(code);
      expect(err.message).toBe(message);
      expect(err.$fault).toBe('client');
      expect((err.$metadata as { requestId?: string; httpStatusCode?: number }).requestId).toBe('REQ0123456789ABC');
      expect((err.$metadata as { httpStatusCode?: number }).httpStatusCode).toBe(ERROR_TABLE[code].status);
    });
  }
});

describe('lenient reading', () => {
  const minimal = (inner: string, open = '<CreateJobRequest>', close = '</CreateJobRequest>'): string =>
    `${open}${inner}${close}`;

  it('without prolog or namespace, with a namespace prefix, compact or pretty, in any order: the same JSON', () => {
    const pretty = parseCreateJobRequest(fixture('create-job-request.xml'));
    const compact = fixture('create-job-request.xml')
      .replace(/>\s+</g, '><')
      .replace(/<\?xml[^>]*\?>/, '');
    expect(parseCreateJobRequest(compact)).toEqual(pretty);
    const noNs = compact.replace(/ xmlns="[^"]*"/, '');
    expect(parseCreateJobRequest(noNs)).toEqual(pretty);
    const prefixed = noNs
      .replace(/<(\/?)([A-Za-z])/g, '<$1s3:$2')
      .replace(
        '<s3:CreateJobRequest>',
        '<s3:CreateJobRequest xmlns:s3="http://awss3control.amazonaws.com/doc/2018-08-20/">',
      );
    expect(parseCreateJobRequest(prefixed)).toEqual(pretty);
    const reordered = minimal(
      '<Tags><S3Tag><Value>storage</Value><Key>team</Key></S3Tag></Tags><RoleArn>arn:aws:iam::111122223333:role/batch-ops</RoleArn><Priority>10</Priority>',
    );
    expect(parseCreateJobRequest(reordered)).toEqual({
      Tags: [{ Key: 'team', Value: 'storage' }],
      RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
      Priority: 10,
    });
  });

  it('empty marker elements are {}, empty lists [], and botocore-style <SSE-S3 /> works', () => {
    const parsed = parseCreateJobRequest(
      minimal(
        '<Operation><S3DeleteObjectTagging/></Operation><Tags/><ManifestGenerator><S3JobManifestGenerator><ManifestOutputLocation><ManifestEncryption><SSE-S3 /></ManifestEncryption></ManifestOutputLocation>' +
          '<Filter><MatchAnyObjectEncryption><ObjectEncryption><NOT-SSE></NOT-SSE></ObjectEncryption></MatchAnyObjectEncryption></Filter></S3JobManifestGenerator></ManifestGenerator>',
      ),
    );
    expect(parsed).toEqual({
      Operation: { S3DeleteObjectTagging: {} },
      Tags: [],
      ManifestGenerator: {
        S3JobManifestGenerator: {
          ManifestOutputLocation: { ManifestEncryption: { SSES3: {} } },
          Filter: { MatchAnyObjectEncryption: [{ NOTSSE: {} }] },
        },
      },
    });
  });

  it('character references decode (CR as &#13; or &#x0D; survives), CDATA is literal, raw CRLF is a line feed', () => {
    const parsed = parseCreateJobRequest(
      minimal('<Description>a&#13;&#x0D;&#10;b&amp;c<![CDATA[<&amp;>]]>\r\nd&#x1F600;</Description>'),
    );
    expect(parsed.Description).toBe('a\r\r\nb&c<&amp;>\nd😀');
  });

  it('values keep their JSON types; a value of the wrong type reaches the service as the raw string', () => {
    const parsed = parseCreateJobRequest(
      minimal(
        '<Priority> 7 </Priority><ConfirmationRequired>true</ConfirmationRequired><Report><Enabled>yes</Enabled></Report><Description>  spaced  </Description>',
      ),
    );
    expect(parsed).toEqual({
      Priority: 7,
      ConfirmationRequired: true,
      Report: { Enabled: 'yes' },
      Description: '  spaced  ',
    });
    expect(parseCreateJobRequest(minimal('<Priority>ten</Priority>')).Priority).toBe('ten');
    expect(parseCreateJobRequest(minimal('<Priority>99999999999999999999</Priority>')).Priority).toBe(
      '99999999999999999999',
    );
    const ts = parseCreateJobRequest(
      minimal(
        '<Operation><S3PutObjectRetention><Retention><RetainUntilDate>2030-01-01T01:00:00+01:00</RetainUntilDate></Retention></S3PutObjectRetention></Operation>',
      ),
    );
    expect(ts.Operation).toEqual({
      S3PutObjectRetention: { Retention: { RetainUntilDate: '2030-01-01T00:00:00.000Z' } },
    });
    const badTs = parseCreateJobRequest(
      minimal(
        '<Operation><S3PutObjectRetention><Retention><RetainUntilDate>tomorrow</RetainUntilDate></Retention></S3PutObjectRetention></Operation>',
      ),
    );
    expect(badTs.Operation).toEqual({ S3PutObjectRetention: { Retention: { RetainUntilDate: 'tomorrow' } } });
  });

  it('unknown elements are never dropped: kept in Operation (an unknown kind, refused by the service), refused elsewhere', () => {
    const parsed = parseCreateJobRequest(
      minimal(
        '<Operation><S3FutureKind><Mode>all</Mode></S3FutureKind></Operation><Report><Enabled>false</Enabled></Report>',
      ),
    );
    expect(parsed).toEqual({ Operation: { S3FutureKind: { Mode: 'all' } }, Report: { Enabled: false } });
    expect(() =>
      parseCreateJobRequest(minimal('<Report><Enabled>false</Enabled><Colour>blue</Colour></Report>')),
    ).toThrow(/CreateJobRequest.Report has no member <Colour>/);
    expect(() =>
      parseCreateJobRequest(minimal('<Operation><S3DeleteObject><Mode>all</Mode></S3DeleteObject></Operation>')),
    ).toThrow(/has no member <Mode>/);
  });

  it('map keys that are JavaScript property names stay plain data', () => {
    const parsed = parseCreateJobRequest(
      minimal(
        '<Operation><LambdaInvoke><UserArguments><entry><key>__proto__</key><value>x</value></entry><entry><key>constructor</key><value>y</value></entry></UserArguments></LambdaInvoke></Operation>',
      ),
    );
    const args = (parsed.Operation as { LambdaInvoke: { UserArguments: Record<string, string> } }).LambdaInvoke
      .UserArguments;
    expect(Object.keys(args)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(args)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('PutJobTagging: tags with any item name; <Tags/> is an empty set', () => {
    expect(
      parsePutJobTaggingRequest(
        '<PutJobTaggingRequest><Tags><S3Tag><Key>a</Key><Value>1</Value></S3Tag><member><Key>b</Key><Value/></member></Tags></PutJobTaggingRequest>',
      ),
    ).toEqual({
      Tags: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '' },
      ],
    });
    expect(
      parsePutJobTaggingRequest(
        Buffer.from(
          '<PutJobTaggingRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Tags/></PutJobTaggingRequest>',
        ),
      ),
    ).toEqual({ Tags: [] });
  });
});

describe('malformed and hostile bodies → MalformedXML', () => {
  const cases: [string, string | Buffer, RegExp?][] = [
    ['empty body', '', /empty/],
    ['not XML', 'hello world'],
    ['JSON', '{"Priority": 1}'],
    [
      'wrong root',
      '<PutJobTaggingRequest><Tags/></PutJobTaggingRequest>',
      /root element is <PutJobTaggingRequest>; expected <CreateJobRequest>/,
    ],
    ['truncated', '<CreateJobRequest><Priority>1</Priority>'],
    ['truncated mid-tag', '<CreateJobRequest><Priority>1</Pri'],
    ['mismatched tags', '<CreateJobRequest><Priority>1</RoleArn></CreateJobRequest>'],
    ['two root elements', '<CreateJobRequest/><CreateJobRequest/>'],
    ['text after the root', '<CreateJobRequest/>trailing'],
    [
      'undeclared entity',
      '<CreateJobRequest><Description>&xxe;</Description></CreateJobRequest>',
      /entities are not supported/,
    ],
    ['bare ampersand', '<CreateJobRequest><Description>a & b</Description></CreateJobRequest>'],
    ['reference to NUL', '<CreateJobRequest><Description>&#0;</Description></CreateJobRequest>'],
    [
      'XXE (external entity)',
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><CreateJobRequest><Description>&xxe;</Description></CreateJobRequest>',
      /DOCTYPE/,
    ],
    [
      'billion laughs',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
        Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join(
          '',
        ) +
        ']><CreateJobRequest><Description>&lol9;</Description></CreateJobRequest>',
      /DOCTYPE/,
    ],
    ['DOCTYPE without entities', '<!DOCTYPE CreateJobRequest><CreateJobRequest/>', /DOCTYPE/],
    [
      'invalid UTF-8',
      Buffer.concat([
        Buffer.from('<CreateJobRequest><Description>'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('</Description></CreateJobRequest>'),
      ]),
      /UTF-8/,
    ],
    [
      'element repeated where one is expected',
      '<CreateJobRequest><Priority>1</Priority><Priority>2</Priority></CreateJobRequest>',
      /more than once/,
    ],
    [
      'duplicate map key',
      '<CreateJobRequest><Operation><LambdaInvoke><UserArguments><entry><key>k</key><value>1</value></entry><entry><key>k</key><value>2</value></entry></UserArguments></LambdaInvoke></Operation></CreateJobRequest>',
      /duplicate key/,
    ],
    [
      'map entry without key',
      '<CreateJobRequest><Operation><LambdaInvoke><UserArguments><entry><value>1</value></entry></UserArguments></LambdaInvoke></Operation></CreateJobRequest>',
    ],
    ['__proto__ element', '<CreateJobRequest><__proto__><polluted>yes</polluted></__proto__></CreateJobRequest>'],
    ['nesting too deep', `<CreateJobRequest>${'<Deep>'.repeat(5000)}${'</Deep>'.repeat(5000)}</CreateJobRequest>`],
    [
      'over the size limit',
      `<CreateJobRequest><Description>${'x'.repeat(MAX_XML_BODY_BYTES)}</Description></CreateJobRequest>`,
      /at most 262144 bytes/,
    ],
  ];

  for (const [name, body, message] of cases) {
    it(name, () => {
      expectMalformed(() => parseCreateJobRequest(body), message);
    });
  }

  it('the message says what is wrong and where', () => {
    expectMalformed(
      () =>
        parseCreateJobRequest('<CreateJobRequest>\n<Priority>1</Priority>\n<RoleArn>x</Rolearn>\n</CreateJobRequest>'),
      /line 3/,
    );
  });

  it('nothing leaks onto Object.prototype', () => {
    expectMalformed(() =>
      parseCreateJobRequest('<CreateJobRequest><__proto__><polluted>yes</polluted></__proto__></CreateJobRequest>'),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('PutJobTagging: wrong root, missing <Tags>, text instead of items', () => {
    expectMalformed(() => parsePutJobTaggingRequest('<CreateJobRequest/>'), /expected <PutJobTaggingRequest>/);
    expectMalformed(
      () => parsePutJobTaggingRequest('<PutJobTaggingRequest></PutJobTaggingRequest>'),
      /must contain <Tags>/,
    );
    expectMalformed(() =>
      parsePutJobTaggingRequest('<PutJobTaggingRequest><Tags>team=storage</Tags></PutJobTaggingRequest>'),
    );
  });

  it('a body at the limit is still read', () => {
    const open = '<CreateJobRequest><Description>';
    const close = '</Description></CreateJobRequest>';
    const body = open + 'x'.repeat(MAX_XML_BODY_BYTES - open.length - close.length) + close;
    expect(Buffer.byteLength(body)).toBe(MAX_XML_BODY_BYTES);
    expect((parseCreateJobRequest(body).Description as string).length).toBe(
      MAX_XML_BODY_BYTES - open.length - close.length,
    );
  });
});
