import { createHash } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import type { TaskResult } from '../../src/domain/task.ts';
import {
  REPORT_SCHEMA,
  buildReportManifest,
  csvField,
  formatReportRow,
  reportKeys,
  resultFileKey,
  resultFileName,
} from '../../src/reports/report-format.ts';

function row(partial: Partial<TaskResult> & Pick<TaskResult, 'rawKey'>): TaskResult {
  return {
    bucket: 'src-logs',
    versionId: '',
    status: 'succeeded',
    httpStatus: 200,
    errorCode: '',
    message: 'Successful',
    ...partial,
  };
}

describe('formatReportRow', () => {
  it('formats the example rows of docs/reports.md#result-rows exactly, CRLF terminated', () => {
    const cases: [TaskResult, string][] = [
      [
        row({ rawKey: '2024/05/01/app.log', versionId: '3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY' }),
        'src-logs,2024/05/01/app.log,3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY,succeeded,200,,Successful',
      ],
      [
        row({
          rawKey: 'prefix/file_name',
          status: 'failed',
          httpStatus: 400,
          errorCode: 'InvalidRequest',
          message: 'Task failed due to missing VersionId',
        }),
        'src-logs,prefix/file_name,,failed,400,InvalidRequest,Task failed due to missing VersionId',
      ],
      [
        row({
          rawKey: 'big/archive.tar',
          status: 'failed',
          httpStatus: 400,
          errorCode: 'InvalidRequest',
          message:
            'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120 (Service: Amazon S3; Status Code: 400; Error Code: InvalidRequest; Request ID: FHNW4MF5ZMKBPDQY; S3 Extended Request ID: …; Proxy: null)',
        }),
        'src-logs,big/archive.tar,,failed,400,InvalidRequest,The specified copy source is larger than the maximum allowable size for a copy source: 5368709120 (Service: Amazon S3; Status Code: 400; Error Code: InvalidRequest; Request ID: FHNW4MF5ZMKBPDQY; S3 Extended Request ID: …; Proxy: null)',
      ],
      [
        row({
          rawKey: '2024/05/02/gone.log',
          status: 'failed',
          httpStatus: 404,
          errorCode: 'NoSuchKey',
          message:
            'The specified key does not exist. (Service: Amazon S3; Status Code: 404; Error Code: NoSuchKey; Request ID: …)',
        }),
        'src-logs,2024/05/02/gone.log,,failed,404,NoSuchKey,The specified key does not exist. (Service: Amazon S3; Status Code: 404; Error Code: NoSuchKey; Request ID: …)',
      ],
      [
        row({
          bucket: 'awsexamplebucket1',
          rawKey: 'image_17775',
          message: "{u'CopySourceVersionId': 'xVR78haVKlRnurYofbTfYr3ufYbktF8h', u'CopyObjectResult': {…}}",
        }),
        `awsexamplebucket1,image_17775,,succeeded,200,,"{u'CopySourceVersionId': 'xVR78haVKlRnurYofbTfYr3ufYbktF8h', u'CopyObjectResult': {…}}"`,
      ],
      [
        row({
          bucket: 'awsexamplebucket1',
          rawKey: 'image_14975',
          status: 'failed',
          httpStatus: 200,
          errorCode: 'PermanentFailure',
          message:
            'Lambda returned function error: {"errorMessage":"2019-04-05T17:35:21.155Z 2845ca0d-38d9-4c4b-abcf-379dc749c452 Task timed out after 3.00 seconds"}',
        }),
        'awsexamplebucket1,image_14975,,failed,200,PermanentFailure,"Lambda returned function error: {""errorMessage"":""2019-04-05T17:35:21.155Z 2845ca0d-38d9-4c4b-abcf-379dc749c452 Task timed out after 3.00 seconds""}"',
      ],
    ];
    for (const [result, expected] of cases) expect(formatReportRow(result)).toBe(`${expected}\r\n`);
  });

  it('echoes URL-encoded keys as the manifest wrote them', () => {
    for (const key of ['photos/a%20b.jpg', 'a+b', 'a%2Bb', '%E2%9C%93', 'x%2Cy']) {
      expect(formatReportRow(row({ rawKey: key }))).toBe(`src-logs,${key},,succeeded,200,,Successful\r\n`);
    }
  });

  it('quotes every field holding a comma, quote, CR or LF and leaves others bare', () => {
    expect(csvField('')).toBe('');
    expect(csvField('plain text; with: punctuation')).toBe('plain text; with: punctuation');
    expect(csvField(' padded ')).toBe(' padded ');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line1\nline2')).toBe('"line1\nline2"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField('"')).toBe('""""');
    expect(
      formatReportRow(
        row({ bucket: 'b,1', rawKey: 'k"', versionId: 'v\n', status: 'failed', errorCode: 'E,', message: 'm' }),
      ),
    ).toBe('"b,1","k""","v\n",failed,200,"E,",m\r\n');
  });

  // csv-stringify quotes a field only for the record delimiter itself (CRLF here), so a bare LF
  // or CR would go out unquoted: quoted_match makes it quote them, as RFC 4180 readers expect.
  it('agrees with csv-stringify (told to quote CR and LF) on awkward values', () => {
    const values = [
      '',
      'a',
      'a,b',
      '"',
      '""',
      'x"y',
      'a\nb',
      'a\r\nb',
      '\r',
      ' , ',
      'ünïcødé',
      'tab\there',
      "'single'",
      '{"k":[1,2]}',
    ];
    for (const v of values) {
      const r = row({ bucket: v, rawKey: v, versionId: v, errorCode: v, message: v, httpStatus: 503 });
      const expected = stringify(
        [[r.bucket, r.rawKey, r.versionId, r.status, String(r.httpStatus), r.errorCode, r.message]],
        {
          record_delimiter: '\r\n',
          quoted_match: /[\r\n]/,
        },
      );
      expect(formatReportRow(r)).toBe(expected);
    }
  });
});

describe('report names and keys', () => {
  it('declares the schema AWS documents', () => {
    expect(REPORT_SCHEMA).toBe('Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage');
  });

  it('names result files with the sha1 of job/status/part', () => {
    const name = resultFileName('f8fb9d89-a3aa-461d-bddc-ea6a1b131955', 'failed', 2);
    expect(name).toMatch(/^[0-9a-f]{40}$/);
    expect(name).toBe(createHash('sha1').update('f8fb9d89-a3aa-461d-bddc-ea6a1b131955/failed/2').digest('hex'));
    expect(resultFileName('j', 'failed', 0)).not.toBe(resultFileName('j', 'succeeded', 0));
    expect(resultFileName('j', 'failed', 0)).not.toBe(resultFileName('j', 'failed', 1));
  });

  it('builds keys with and without a prefix, never with //', () => {
    expect(reportKeys(undefined, 'abc')).toEqual({
      base: 'job-abc',
      manifestKey: 'job-abc/manifest.json',
      resultsPrefix: 'job-abc/results/',
    });
    expect(reportKeys('', 'abc').base).toBe('job-abc');
    expect(reportKeys('reports', 'abc')).toEqual({
      base: 'reports/job-abc',
      manifestKey: 'reports/job-abc/manifest.json',
      resultsPrefix: 'reports/job-abc/results/',
    });
    expect(reportKeys('reports/', 'abc').base).toBe('reports/job-abc');
    expect(reportKeys('a/b//', 'abc').manifestKey).toBe('a/b/job-abc/manifest.json');
    const keys = reportKeys('r/', 'abc');
    expect(resultFileKey(keys, 'abc', 'succeeded', 0)).toBe(
      `r/job-abc/results/${resultFileName('abc', 'succeeded', 0)}.csv`,
    );
  });
});

describe('buildReportManifest', () => {
  it('produces the manifest.json of docs/reports.md#report-manifest, fields in order', () => {
    const text = buildReportManifest({
      bucket: 'my-job-reports',
      createdAt: new Date('2019-04-05T17:48:39.725Z'),
      files: [
        {
          key: 'job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/results/6217b0fab0de85c408b4be96aeaca9b195a7daa5.csv',
          taskStatus: 'succeeded',
          md5: '83b1c4cbe93fc893f54053697e10fd6e',
        },
        {
          key: 'job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/results/b2ddad417e94331e9f37b44f1faf8c7ed5873f2e.csv',
          taskStatus: 'failed',
          md5: '22ee037f3515975f7719699e5c416eaa',
        },
      ],
    });
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(parsed).toEqual({
      Format: 'Report_CSV_20180820',
      ReportCreationDate: '2019-04-05T17:48:39.725Z',
      Results: [
        {
          TaskExecutionStatus: 'succeeded',
          Bucket: 'my-job-reports',
          MD5Checksum: '83b1c4cbe93fc893f54053697e10fd6e',
          Key: 'job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/results/6217b0fab0de85c408b4be96aeaca9b195a7daa5.csv',
        },
        {
          TaskExecutionStatus: 'failed',
          Bucket: 'my-job-reports',
          MD5Checksum: '22ee037f3515975f7719699e5c416eaa',
          Key: 'job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/results/b2ddad417e94331e9f37b44f1faf8c7ed5873f2e.csv',
        },
      ],
      ReportSchema: 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
    });
    expect(Object.keys(parsed)).toEqual(['Format', 'ReportCreationDate', 'Results', 'ReportSchema']);
    const first = (parsed.Results as Record<string, unknown>[])[0];
    expect(Object.keys(first ?? {})).toEqual(['TaskExecutionStatus', 'Bucket', 'MD5Checksum', 'Key']);
  });

  it('writes an empty Results list and keeps milliseconds of a whole second', () => {
    const parsed = JSON.parse(
      buildReportManifest({ bucket: 'b', createdAt: new Date('2024-01-02T03:04:05Z'), files: [] }),
    ) as {
      ReportCreationDate: string;
      Results: unknown[];
    };
    expect(parsed.Results).toEqual([]);
    expect(parsed.ReportCreationDate).toBe('2024-01-02T03:04:05.000Z');
  });
});
