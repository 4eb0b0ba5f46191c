import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { reportRowOf, reportRows, writeJsonArray, type ReportRow } from '../../src/cli/report-rows.ts';

async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

// Rows as the report writer emits them (CRLF, RFC 4180), including the documented examples
// (docs/reports.md#result-rows).
const CSV =
  'src-logs,big/archive.tar,,failed,400,InvalidRequest,The specified copy source is larger than the maximum allowable size for a copy source: 5368709120\r\n' +
  'awsexamplebucket1,image_14975,,failed,200,PermanentFailure,"Lambda returned function error: {""errorMessage"":""Task timed out, after 3.00 seconds""}"\r\n' +
  'b,photos/a%20b.jpg,3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY,failed,404,NoSuchKey,"multi\r\nline"\r\n';

describe('reportRows', () => {
  it('parses the positional layout (HTTP status before error code) with quoting, split anywhere', async () => {
    for (const size of [1, 7, 1 << 16]) {
      const rows = await collect(reportRows(chunks(CSV, size)));
      expect(rows).toEqual<ReportRow[]>([
        {
          Bucket: 'src-logs',
          Key: 'big/archive.tar',
          VersionId: '',
          TaskStatus: 'failed',
          ErrorCode: 'InvalidRequest',
          HTTPStatusCode: 400,
          ResultMessage:
            'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120',
        },
        {
          Bucket: 'awsexamplebucket1',
          Key: 'image_14975',
          VersionId: '',
          TaskStatus: 'failed',
          ErrorCode: 'PermanentFailure',
          HTTPStatusCode: 200,
          ResultMessage: 'Lambda returned function error: {"errorMessage":"Task timed out, after 3.00 seconds"}',
        },
        {
          Bucket: 'b',
          Key: 'photos/a%20b.jpg',
          VersionId: '3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY',
          TaskStatus: 'failed',
          ErrorCode: 'NoSuchKey',
          HTTPStatusCode: 404,
          ResultMessage: 'multi\r\nline',
        },
      ]);
    }
  });

  it('an empty body has no rows', async () => {
    expect(await collect(reportRows(chunks('', 10)))).toEqual([]);
  });

  it('a row without seven columns is an error naming its line', async () => {
    await expect(collect(reportRows(chunks('a,b,,failed,400,X,m\r\na,b,c\r\n', 5)))).rejects.toThrow(
      /row 2 has 3 columns, expected 7/,
    );
  });

  it('reportRowOf: an empty or non-numeric HTTP status is null', () => {
    expect(reportRowOf(['b', 'k', '', 'failed', '', 'E', 'm']).HTTPStatusCode).toBeNull();
    expect(reportRowOf(['b', 'k', '', 'failed', 'x', 'E', 'm']).HTTPStatusCode).toBeNull();
  });
});

describe('writeJsonArray', () => {
  async function written(items: unknown[]): Promise<string> {
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => (text += b.toString()));
    await writeJsonArray(
      (async function* () {
        yield* items;
      })(),
      out,
    );
    return text;
  }

  it('writes one valid JSON array, an element per line', async () => {
    const text = await written([{ a: 1 }, { b: 'x,"y"' }]);
    expect(text).toBe('[\n{"a":1},\n{"b":"x,\\"y\\""}\n]\n');
    expect(JSON.parse(text)).toEqual([{ a: 1 }, { b: 'x,"y"' }]);
    expect(JSON.parse(await written([]))).toEqual([]);
  });

  it('waits for a full destination to drain', async () => {
    const out = new PassThrough({ highWaterMark: 16 });
    let pulled = 0;
    const items = (async function* () {
      for (let i = 0; i < 200; i++) {
        pulled++;
        yield { i, pad: 'x'.repeat(50) };
      }
    })();
    const done = writeJsonArray(items, out);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    // Nobody reads yet: writing stopped at the high-water mark instead of taking every item.
    expect(pulled).toBeLessThan(5);
    expect(out.writableLength).toBeLessThan(200);
    let text = '';
    out.on('data', (b: Buffer) => (text += b.toString()));
    await done;
    expect(pulled).toBe(200);
    expect(JSON.parse(text)).toHaveLength(200);
  });
});
