import { describe, expect, it } from 'vitest';
import { ManifestError, S3BatchError } from '../../src/domain/errors.ts';
import type { ManifestField } from '../../src/domain/job-spec.ts';
import { parseBucketArn, parseObjectArn } from '../../src/manifest/arn.ts';
import { readCsvManifest } from '../../src/manifest/csv-manifest.ts';
import type { ManifestRow } from '../../src/manifest/csv-manifest.ts';
import { concatBytes } from '../helpers/bytes.ts';

const BK: readonly ManifestField[] = ['Bucket', 'Key'];
const BKV: readonly ManifestField[] = ['Bucket', 'Key', 'VersionId'];
const enc = new TextEncoder();

/** The bytes served in slices of `slice` bytes (whole by default). */
async function* bytesOf(input: string | Uint8Array, slice = Number.MAX_SAFE_INTEGER): AsyncGenerator<Uint8Array> {
  const bytes = typeof input === 'string' ? enc.encode(input) : input;
  for (let i = 0; i < bytes.length; i += slice) yield bytes.slice(i, i + slice);
}

async function read(
  input: string | Uint8Array,
  fields: readonly ManifestField[] = BK,
  slice?: number,
  options: { firstLine?: number; startOffset?: number } = {},
): Promise<ManifestRow[]> {
  const rows: ManifestRow[] = [];
  for await (const row of readCsvManifest(bytesOf(input, slice), { fields, ...options })) rows.push(row);
  return rows;
}

async function entries(input: string | Uint8Array, fields: readonly ManifestField[] = BK) {
  return (await read(input, fields)).map((r) => r.entry);
}

async function manifestError(
  input: string | Uint8Array,
  fields: readonly ManifestField[] = BK,
): Promise<ManifestError> {
  try {
    await read(input, fields);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return err as ManifestError;
  }
  throw new Error('expected a ManifestError');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('readCsvManifest: layout', () => {
  it('reads Bucket,Key rows with line numbers and byte offsets', async () => {
    const rows = await read('b1,k1\nb2,k2\n');
    expect(rows).toEqual([
      { entry: { line: 1, bucket: 'b1', key: 'k1', rawKey: 'k1' }, startOffset: 0, endOffset: 6 },
      { entry: { line: 2, bucket: 'b2', key: 'k2', rawKey: 'k2' }, startOffset: 6, endOffset: 12 },
    ]);
    expect(rows[0]!.entry.versionId).toBeUndefined();
  });

  it('treats CRLF like LF, and the row ends past the LF', async () => {
    const lf = await read('b,k1\nb,k2\n');
    const crlf = await read('b,k1\r\nb,k2\r\n');
    expect(crlf.map((r) => r.entry)).toEqual(lf.map((r) => r.entry));
    expect(crlf.map((r) => [r.startOffset, r.endOffset])).toEqual([
      [0, 6],
      [6, 12],
    ]);
  });

  it('accepts a lone CR as a line end', async () => {
    const rows = await read('b,k1\rb,k2\r');
    expect(rows.map((r) => [r.entry.key, r.entry.line, r.startOffset, r.endOffset])).toEqual([
      ['k1', 1, 0, 5],
      ['k2', 2, 5, 10],
    ]);
  });

  it('reads the last row with or without a trailing newline', async () => {
    const withNl = await read('b,k1\nb,k2\n');
    const without = await read('b,k1\nb,k2');
    expect(without.map((r) => r.entry)).toEqual(withNl.map((r) => r.entry));
    expect(without[1]!.endOffset).toBe(9);
    const crlfWithout = await read('b,k1\r\nb,k2');
    expect(crlfWithout.map((r) => r.entry.key)).toEqual(['k1', 'k2']);
  });

  it('skips empty lines, counting them as lines', async () => {
    const rows = await read('\n\r\nb,k1\n\n\nb,k2\r\n\r\n\n');
    expect(rows.map((r) => [r.entry.key, r.entry.line, r.startOffset, r.endOffset])).toEqual([
      ['k1', 3, 3, 8],
      ['k2', 6, 10, 16],
    ]);
  });

  it('skips a UTF-8 BOM at offset 0, keeping offsets absolute', async () => {
    const input = concatBytes([0xef, 0xbb, 0xbf], 'b,k1\nb,k2\n');
    for (const slice of [1, 2, 3, 4, 100]) {
      const rows = await read(input, BK, slice);
      expect(rows.map((r) => [r.entry.bucket, r.entry.key, r.entry.line, r.startOffset, r.endOffset])).toEqual([
        ['b', 'k1', 1, 3, 8],
        ['b', 'k2', 2, 8, 13],
      ]);
    }
  });

  it('does not skip BOM bytes found elsewhere than offset 0', async () => {
    const input = concatBytes([0xef, 0xbb, 0xbf], 'b,k1\n');
    const rows = await read(input, BK, undefined, { startOffset: 10 });
    expect(rows[0]!.entry.bucket).toBe('\ufeffb');
  });

  it('reads quoted fields: commas, doubled quotes, newlines inside quotes', async () => {
    const rows = await read('"b","a,b"\r\n"b","say ""hi"""\n"b","two\nlines"\nb,after\n');
    expect(rows.map((r) => [r.entry.key, r.entry.line])).toEqual([
      ['a,b', 1],
      ['say "hi"', 2],
      ['two\nlines', 3],
      ['after', 5],
    ]);
    expect(rows[0]!.entry.rawKey).toBe('a,b');
  });

  it('keeps empty fields, including a trailing empty one', async () => {
    const rows = await read('b,k,\n', ['Bucket', 'Key', 'Ignore']);
    expect(rows[0]!.entry).toEqual({ line: 1, bucket: 'b', key: 'k', rawKey: 'k' });
  });

  it('honours Ignore columns and any column order', async () => {
    const rows = await read('x,k,v1,b\n', ['Ignore', 'Key', 'VersionId', 'Bucket']);
    expect(rows[0]!.entry).toEqual({ line: 1, bucket: 'b', key: 'k', rawKey: 'k', versionId: 'v1' });
  });

  it('yields nothing for an empty manifest, blank lines only, or a BOM only', async () => {
    expect(await read('')).toEqual([]);
    expect(await read('\n\r\n\n')).toEqual([]);
    expect(await read(concatBytes([0xef, 0xbb, 0xbf]))).toEqual([]);
    // a truncated BOM is not UTF-8
    expect(await manifestError(concatBytes([0xef, 0xbb]))).toMatchObject({ code: 'InvalidManifestContent', line: 1 });
  });

  it('gives the same rows for every slicing of the input', async () => {
    const text = '\ufeffb,"x,y"\r\n\r\n"b","日本%20語"\nb,"q""q"\rb,%E6%97%A5\nb,last';
    const whole = await read(text);
    expect(whole).toHaveLength(5);
    for (let slice = 1; slice <= 12; slice++) expect(await read(text, BK, slice)).toEqual(whole);
  });

  it('continues numbering from firstLine and offsets from startOffset', async () => {
    const rows = await read('b,k1\n\nb,k2\n', BK, undefined, { firstLine: 41, startOffset: 1000 });
    expect(rows.map((r) => [r.entry.line, r.startOffset, r.endOffset])).toEqual([
      [41, 1000, 1005],
      [43, 1006, 1011],
    ]);
  });
});

describe('readCsvManifest: decoding', () => {
  it('decodes + as space, %2B as +, %20 as space; rawKey stays encoded', async () => {
    const [plus, pct2b, pct20] = await entries('b,a+b\nb,a%2Bb\nb,object%20key%20with%20spaces\n');
    expect(plus).toMatchObject({ key: 'a b', rawKey: 'a+b' });
    expect(pct2b).toMatchObject({ key: 'a+b', rawKey: 'a%2Bb' });
    expect(pct20).toMatchObject({ key: 'object key with spaces', rawKey: 'object%20key%20with%20spaces' });
  });

  it('decodes percent-encoded UTF-8 (unicode keys), and lower-case hex', async () => {
    const [a, b, c] = await entries('b,%E6%97%A5%E6%9C%AC\nb,caf%c3%a9/%F0%9F%98%80\nb,%7B%22origKey%22%7D\n');
    expect(a!.key).toBe('日本');
    expect(b!.key).toBe('café/😀');
    expect(c!.key).toBe('{"origKey"}');
  });

  it('passes unencoded UTF-8 through', async () => {
    const [a] = await entries('b,日本/ключ\n');
    expect(a).toMatchObject({ key: '日本/ключ', rawKey: '日本/ключ' });
  });

  it('decodes the bucket too', async () => {
    const [a] = await entries('my%2Dbucket,k\n');
    expect(a!.bucket).toBe('my-bucket');
  });

  it('keeps the literal null version, an empty version, and + in version ids', async () => {
    const rows = await entries('b,k1,null\nb,k2,\nb,k3,"3HL4kqtJ+lcpX%2F"\n', BKV);
    expect(rows.map((e) => e.versionId)).toEqual(['null', '', '3HL4kqtJ+lcpX/']);
  });

  it.each([
    ['b,a%zz\n', 1],
    ['b,ok\nb,a%2\n', 2],
    ['b,ok\nb,ok\nb,a%\n', 3],
    ['%G0,k\n', 1],
    ['b,k,%x1\n', 1],
  ])('rejects invalid percent-encoding %j (line %i)', async (input, line) => {
    const fields = input.split('\n')[0]!.split(',').length === 3 ? BKV : BK;
    const err = await manifestError(input, fields);
    expect(err.code).toBe('InvalidManifestContent');
    expect(err.line).toBe(line);
  });

  it('rejects percent-encoded bytes that are not UTF-8', async () => {
    for (const input of ['b,%FF\n', 'b,ok\nb,%C3\n', 'b,%C3%28\n']) {
      const err = await manifestError(input);
      expect(err.code).toBe('InvalidManifestContent');
      expect(err.line).toBe(input.split('\n').length - 1);
    }
  });

  it('rejects raw bytes that are not UTF-8', async () => {
    const err = await manifestError(concatBytes('b,ok\nb,', [0xff, 0xfe], '\n'));
    expect(err).toMatchObject({ code: 'InvalidManifestContent', line: 2 });
  });

  it('rejects an empty bucket or key', async () => {
    expect(await manifestError('b,k\n,k\n')).toMatchObject({ code: 'InvalidManifestContent', line: 2 });
    expect(await manifestError('b,k\nb,k\nb,\n')).toMatchObject({ code: 'InvalidManifestContent', line: 3 });
    expect(await manifestError('b,""\n')).toMatchObject({ code: 'InvalidManifestContent', line: 1 });
  });

  it('limits the decoded key to 1024 bytes', async () => {
    expect(await entries(`b,${'a'.repeat(1024)}\n`)).toHaveLength(1);
    // 1024 bytes decoded from 3072 encoded characters is fine
    expect(await entries(`b,${'%41'.repeat(1024)}\n`)).toHaveLength(1);
    expect(await manifestError(`b,k\nb,${'a'.repeat(1025)}\n`)).toMatchObject({
      code: 'InvalidManifestContent',
      line: 2,
    });
    // 342 × 3-byte characters = 1026 bytes, though only 342 characters
    expect(await manifestError(`b,${'%E6%97%A5'.repeat(342)}\n`)).toMatchObject({
      code: 'InvalidManifestContent',
      line: 1,
    });
  });
});

describe('readCsvManifest: rule violations', () => {
  it.each([
    ['Bucket,Key\nb,k\n', BK],
    ['bucket,key\nb,k\n', BK],
    ['BUCKET,Key,VersionId\nb,k,v\n', BKV],
    ['Bucket,Key,VersionId\nb,k\n', BK],
    ['Bucket,Key\nb,k,v\n', BKV],
    ['"Bucket","Key"\r\nb,k\r\n', BK],
    ['\ufeffBucket,Key\nb,k\n', BK],
    ['x,KEY,bucket\n', ['Ignore', 'Key', 'Bucket'] as ManifestField[]],
  ])('detects a header row %j', async (input, fields) => {
    const err = await manifestError(input, fields);
    expect(err).toMatchObject({ code: 'InvalidManifestContent', line: 1 });
    expect(err.message).toMatch(/header/i);
  });

  it('does not take a header-like row for a header when it is not the first row', async () => {
    const rows = await entries('b,k\nBucket,Key\n');
    expect(rows[1]).toMatchObject({ bucket: 'Bucket', key: 'Key' });
  });

  it('reports mixed version-id presence with the line of the first odd row', async () => {
    const missing = await manifestError('b,k1,v1\nb,k2,v2\nb,k3\n', BKV);
    expect(missing).toMatchObject({ code: 'InvalidManifestContent', line: 3 });
    expect(missing.message).toMatch(/mixed version-id presence/);
    const extra = await manifestError('b,k1\n\nb,k2,v2\n', BK);
    expect(extra).toMatchObject({ code: 'InvalidManifestContent', line: 3 });
    expect(extra.message).toMatch(/mixed version-id presence/);
  });

  it('rejects a wrong column count', async () => {
    expect(await manifestError('b,k1,v1\n', BK)).toMatchObject({ code: 'InvalidManifestContent', line: 1 });
    expect(await manifestError('b\n', BK)).toMatchObject({ code: 'InvalidManifestContent', line: 1 });
    expect(await manifestError('b,k\nb,k,x,y\n', BK)).toMatchObject({ code: 'InvalidManifestContent', line: 2 });
    expect(await manifestError('b,k\n"b,k"\n', BK)).toMatchObject({ code: 'InvalidManifestContent', line: 2 });
  });

  it('rejects an unterminated quoted field and text after a closing quote', async () => {
    expect(await manifestError('b,k\nb,"open\nb,k\n')).toMatchObject({ code: 'InvalidManifestContent', line: 2 });
    expect(await manifestError('b,"k"x\n')).toMatchObject({ code: 'InvalidManifestContent', line: 1 });
  });

  it('refuses an overlong row instead of buffering the rest of the manifest', async () => {
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield enc.encode('b,k\nb,"');
      for (;;) yield new Uint8Array(4096).fill(0x61);
    }
    const rows = readCsvManifest(endless(), { fields: BK });
    await rows.next();
    await expect(rows.next()).rejects.toMatchObject({ code: 'InvalidManifestContent', line: 2 });
  });

  it.each([
    [['Key'] as ManifestField[]],
    [['Bucket'] as ManifestField[]],
    [['Bucket', 'Key', 'Bucket'] as ManifestField[]],
    [['Bucket', 'Key', 'VersionId', 'VersionId'] as ManifestField[]],
    [[] as ManifestField[]],
  ])('rejects Spec.Fields %j', async (fields) => {
    const err = await manifestError('b,k\n', fields);
    expect(err.code).toBe('InvalidManifestContent');
  });
});

describe('readCsvManifest: streaming', () => {
  it('streams 200k generated rows without holding them', async () => {
    const total = 200_000;
    async function* generate(): AsyncGenerator<Uint8Array> {
      const perSlice = 1000;
      for (let i = 0; i < total; i += perSlice) {
        let text = '';
        for (let j = i; j < i + perSlice; j++) text += `bucket,dir%2Fobject-${j}.bin,v${j}\r\n`;
        yield enc.encode(text);
      }
    }
    let count = 0;
    let lastLine = 0;
    let lastKey = '';
    for await (const row of readCsvManifest(generate(), { fields: BKV })) {
      count++;
      lastLine = row.entry.line;
      lastKey = row.entry.key;
    }
    expect(count).toBe(total);
    expect(lastLine).toBe(total);
    expect(lastKey).toBe(`dir/object-${total - 1}.bin`);
  });
});

describe('ARNs', () => {
  it('splits an object ARN at the first / after :::', () => {
    expect(parseObjectArn('arn:aws:s3:::my-bucket/dir/manifest.csv')).toEqual({
      bucket: 'my-bucket',
      key: 'dir/manifest.csv',
    });
    expect(parseObjectArn('arn:aws-cn:s3:::b/k')).toEqual({ bucket: 'b', key: 'k' });
    expect(parseObjectArn('arn:aws:s3:::b//k with space')).toEqual({ bucket: 'b', key: '/k with space' });
  });

  it.each([
    'my-bucket/key',
    'arn:aws:s3:::bucket',
    'arn:aws:s3:::bucket/',
    'arn:aws:s3:::/key',
    'arn:aws:iam:::b/k',
    'arn:aws:s3:us-east-1:123456789012:accesspoint/x/k',
    '',
  ])('rejects the object ARN %j', (arn) => {
    const err = thrown(() => parseObjectArn(arn));
    expect(err).toBeInstanceOf(S3BatchError);
    expect(err).toMatchObject({ code: 'InvalidRequest' });
  });

  it('parses a bucket ARN', () => {
    expect(parseBucketArn('arn:aws:s3:::report-bucket')).toBe('report-bucket');
    expect(parseBucketArn('arn:aws-us-gov:s3:::b.dots')).toBe('b.dots');
  });

  it.each(['report-bucket', 'arn:aws:s3:::', 'arn:aws:s3:::b/k', 'arn:aws:sqs:::b'])(
    'rejects the bucket ARN %j',
    (arn) => {
      expect(thrown(() => parseBucketArn(arn))).toMatchObject({ name: 'S3BatchError', code: 'InvalidRequest' });
    },
  );
});
