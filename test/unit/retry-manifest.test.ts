// The retry manifest builder (service/retry-manifest.ts): the failed rows of report result files,
// filtered by code, as CSV manifest lines — and it streams: with 200,000 failed rows produced
// lazily, the builder never holds more than one output batch of rows read and not yet written.
import { describe, expect, it } from 'vitest';
import { formatReportRow } from '../../src/reports/report-format.ts';
import { failed, succeeded } from '../../src/domain/task.ts';
import { failedRows, manifestBody, peek, withCodes, type OpenResultFile } from '../../src/service/retry-manifest.ts';

const entry = (key: string, versionId?: string) => ({
  line: 1,
  bucket: 'src',
  key,
  rawKey: encodeURIComponent(key),
  versionId,
});

function file(rows: string[]): OpenResultFile {
  return async () =>
    (async function* () {
      // Split across chunk boundaries on purpose: rows must not depend on how bytes arrive.
      const text = Buffer.from(rows.join(''), 'utf8');
      for (let i = 0; i < text.length; i += 7) yield text.subarray(i, i + 7);
    })();
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  let out = '';
  for await (const b of body) out += Buffer.from(b).toString('utf8');
  return out;
}

describe('retry manifest', () => {
  it('keeps the failed rows of every file, of the codes asked for, as Bucket,Key[,VersionId] lines', async () => {
    const files = [
      file([
        formatReportRow(failed(entry('a b/1'), 404, 'NoSuchKey', 'The specified key does not exist.')),
        formatReportRow(succeeded(entry('ok'))),
        formatReportRow(failed(entry('x,"y"'), 403, 'AccessDenied', 'Access Denied, really')),
      ]),
      file([formatReportRow(failed(entry('c'), 500, '', 'no code'))]),
    ];
    const counted = { rows: 0 };
    expect(await text(manifestBody(withCodes(failedRows(files), undefined), false, counted))).toBe(
      'src,a%20b%2F1\nsrc,x%2C%22y%22\nsrc,c\n',
    );
    expect(counted.rows).toBe(3);
    const some = withCodes(failedRows(files), new Set(['AccessDenied', 'Unknown']));
    expect(await text(manifestBody(some, true, { rows: 0 }))).toBe('src,x%2C%22y%22,\nsrc,c,\n');
  });

  it('peek tells an empty selection before anything is written', async () => {
    const files = [file([formatReportRow(failed(entry('a'), 404, 'NoSuchKey', 'm'))])];
    expect(await peek(withCodes(failedRows(files), new Set(['SlowDown'])))).toBeUndefined();
    const p = await peek(withCodes(failedRows(files), new Set(['NoSuchKey'])));
    expect(p?.first.rawKey).toBe('a');
    expect(await text(manifestBody(p!.all, false, { rows: 0 }))).toBe('src,a\n');
  });

  it('streams: 200,000 failed rows go out in batches, never more than one batch held', async () => {
    const N = 200_000;
    let read = 0;
    const huge: OpenResultFile = async () =>
      (async function* () {
        for (let i = 0; i < N; i += 1000) {
          let chunk = '';
          for (let j = i; j < i + 1000; j++) chunk += `src,k/${j},,failed,404,NoSuchKey,Not found\r\n`;
          read += 1000;
          yield Buffer.from(chunk);
        }
      })();
    const counted = { rows: 0 };
    let batches = 0;
    let maxHeld = 0;
    let bytes = 0;
    for await (const b of manifestBody(failedRows([huge]), false, counted)) {
      batches++;
      bytes += b.length;
      // Rows read from the report but not yet written out: bounded by a batch (and csv-parse's buffer).
      maxHeld = Math.max(maxHeld, read - counted.rows);
    }
    expect(counted.rows).toBe(N);
    expect(batches).toBeGreaterThan(20);
    expect(maxHeld).toBeLessThan(20_000);
    expect(bytes).toBeGreaterThan(N * 8);
  });
});
