// The DeleteBatcher and the S3DeleteObject operation on an in-memory transport: batch sizes,
// per-key outcomes, whole-request failures, the NotImplemented fallback and aborts. The S3 side is
// faked here (a Map of keys) because these are unit tests; test/e2e/delete-dry-run.test.ts runs
// the same code against Ceph RGW.
import { S3ServiceException, type DeleteObjectsCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3BatchError } from '../../src/domain/errors.ts';
import type { TaskEntry } from '../../src/domain/task.ts';
import {
  DeleteBatcher,
  MAX_DELETE_BATCH,
  type DeleteItem,
  type DeleteItemOutcome,
  type DeleteTransport,
} from '../../src/operations/delete-batcher.ts';
import { parseOperation } from '../../src/operations/index.ts';
import type { OperationContext } from '../../src/operations/operation.ts';
import {
  BUILTIN_DELETE_FUNCTION_ARN,
  builtinFunctionOf,
  s3DeleteObject,
} from '../../src/operations/s3-delete-object.ts';

/** An in-memory bucket behind DeleteObjects/DeleteObject, recording every request. */
class FakeTransport implements DeleteTransport {
  readonly objects = new Set<string>();
  readonly manyCalls: DeleteItem[][] = [];
  readonly oneCalls: DeleteItem[] = [];
  /** Keys answered in Errors[] with this code. */
  readonly denied = new Map<string, string>();
  /** Keys the answer leaves out (a misbehaving store). */
  readonly omitted = new Set<string>();
  manyError: unknown;
  /** Resolves pending DeleteObjects calls when set; otherwise they answer at once. */
  gate: Promise<void> | undefined;
  readonly signals: AbortSignal[] = [];

  async deleteMany(
    _bucket: string,
    items: readonly DeleteItem[],
    signal: AbortSignal,
  ): Promise<DeleteObjectsCommandOutput> {
    this.manyCalls.push([...items]);
    this.signals.push(signal);
    if (this.gate) {
      await Promise.race([
        this.gate,
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
      ]);
    }
    if (this.manyError !== undefined) throw this.manyError;
    const out: DeleteObjectsCommandOutput = { $metadata: {}, Deleted: [], Errors: [] };
    // Answer in reverse order: the batcher must match by key, not by position.
    for (const i of [...items].reverse()) {
      if (this.omitted.has(i.key)) continue;
      const code = this.denied.get(i.key);
      if (code) {
        out.Errors!.push({ Key: i.key, VersionId: i.versionId, Code: code, Message: `${code} for ${i.key}` });
        continue;
      }
      this.objects.delete(i.key);
      out.Deleted!.push(
        i.versionId
          ? { Key: i.key, VersionId: i.versionId }
          : { Key: i.key, DeleteMarker: true, DeleteMarkerVersionId: `dm-${i.key}` },
      );
    }
    return out;
  }

  async deleteOne(_bucket: string, item: DeleteItem): Promise<DeleteItemOutcome> {
    this.oneCalls.push(item);
    this.objects.delete(item.key);
    return { ok: true, versionId: item.versionId, deleteMarker: false };
  }
}

function keys(n: number, prefix = 'k'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} message`,
  });
}

const never = new AbortController().signal;

describe('DeleteBatcher', () => {
  it('sends the keys of concurrent deletes in one DeleteObjects and answers each with its own outcome', async () => {
    const t = new FakeTransport();
    for (const k of keys(50)) t.objects.add(k);
    t.denied.set('k7', 'AccessDenied');
    const b = new DeleteBatcher(t);
    const outcomes = await Promise.all(keys(50).map((k) => b.delete('bkt', { key: k }, never)));
    expect(t.manyCalls).toHaveLength(1);
    expect(t.manyCalls[0]).toHaveLength(50);
    expect(outcomes[3]).toEqual({ ok: true, versionId: undefined, deleteMarker: true, deleteMarkerVersionId: 'dm-k3' });
    expect(outcomes[7]).toEqual({
      ok: false,
      httpStatus: 403,
      code: 'AccessDenied',
      message: 'AccessDenied for k7',
      retryable: false,
    });
    expect(outcomes.filter((o) => o.ok)).toHaveLength(49);
    expect([...t.objects]).toEqual(['k7']);
    expect(b.stats).toEqual({ batchRequests: 1, singleRequests: 0, keys: 50 });
  });

  it('never puts more than 1,000 keys (or maxBatch) in one request', async () => {
    const t = new FakeTransport();
    const b = new DeleteBatcher(t);
    await Promise.all(keys(2500).map((k) => b.delete('bkt', { key: k }, never)));
    expect(t.manyCalls.map((c) => c.length)).toEqual([MAX_DELETE_BATCH, MAX_DELETE_BATCH, 500]);

    const t2 = new FakeTransport();
    const small = new DeleteBatcher(t2, { maxBatch: 4 });
    await Promise.all(keys(10).map((k) => small.delete('bkt', { key: k }, never)));
    expect(t2.manyCalls.map((c) => c.length)).toEqual([4, 4, 2]);
  });

  it('batches per bucket', async () => {
    const t = new FakeTransport();
    const b = new DeleteBatcher(t);
    await Promise.all([
      ...keys(3).map((k) => b.delete('one', { key: k }, never)),
      ...keys(2).map((k) => b.delete('two', { key: k }, never)),
    ]);
    expect(t.manyCalls.map((c) => c.length).sort()).toEqual([2, 3]);
  });

  it('matches versions: two versions of one key in one request, each answered as itself', async () => {
    const t = new FakeTransport();
    const b = new DeleteBatcher(t);
    const [v1, v2] = await Promise.all([
      b.delete('bkt', { key: 'a', versionId: 'v1' }, never),
      b.delete('bkt', { key: 'a', versionId: 'v2' }, never),
    ]);
    expect(t.manyCalls).toHaveLength(1);
    expect(v1).toMatchObject({ ok: true, versionId: 'v1' });
    expect(v2).toMatchObject({ ok: true, versionId: 'v2' });
  });

  it('the same key and version twice go into separate requests', async () => {
    const t = new FakeTransport();
    const b = new DeleteBatcher(t);
    const out = await Promise.all([b.delete('bkt', { key: 'a' }, never), b.delete('bkt', { key: 'a' }, never)]);
    expect(t.manyCalls.map((c) => c.map((i) => i.key))).toEqual([['a'], ['a']]);
    expect(out.every((o) => o.ok)).toBe(true);
  });

  it('a whole-request failure reaches every key of the batch; 5xx is retryable, 403 is not', async () => {
    const t = new FakeTransport();
    t.manyError = s3Error('SlowDown', 503);
    const b = new DeleteBatcher(t);
    const slow = await Promise.all(keys(5).map((k) => b.delete('bkt', { key: k }, never)));
    expect(slow).toHaveLength(5);
    for (const o of slow) expect(o).toMatchObject({ ok: false, httpStatus: 503, code: 'SlowDown', retryable: true });

    t.manyError = s3Error('AccessDenied', 403);
    const denied = await Promise.all(keys(3).map((k) => b.delete('bkt', { key: k }, never)));
    for (const o of denied)
      expect(o).toMatchObject({ ok: false, httpStatus: 403, code: 'AccessDenied', retryable: false });
  });

  it('a key missing from the answer fails retryably; InternalError entries are retryable too', async () => {
    const t = new FakeTransport();
    t.omitted.add('k1');
    t.denied.set('k2', 'InternalError');
    const b = new DeleteBatcher(t);
    const [o0, o1, o2] = await Promise.all(keys(3).map((k) => b.delete('bkt', { key: k }, never)));
    expect(o0!.ok).toBe(true);
    expect(o1).toMatchObject({ ok: false, code: 'InternalError', retryable: true });
    expect(o2).toMatchObject({ ok: false, httpStatus: 500, code: 'InternalError', retryable: true });
  });

  it('falls back to one DeleteObject per key, for good, when the store has no DeleteObjects', async () => {
    const t = new FakeTransport();
    t.manyError = s3Error('NotImplemented', 501);
    for (const k of keys(6)) t.objects.add(k);
    const b = new DeleteBatcher(t);
    const first = await Promise.all(keys(3).map((k) => b.delete('bkt', { key: k }, never)));
    expect(first.every((o) => o.ok)).toBe(true);
    expect(b.fellBackToSingleDeletes).toBe(true);
    const second = await Promise.all(
      keys(6)
        .slice(3)
        .map((k) => b.delete('bkt', { key: k }, never)),
    );
    expect(second.every((o) => o.ok)).toBe(true);
    expect(t.manyCalls).toHaveLength(1); // the batch that learned it, never again
    expect(t.oneCalls.map((i) => i.key)).toEqual(keys(6));
    expect(t.objects.size).toBe(0);
  });

  it('a key XML cannot carry is deleted alone; a batch refused as a whole with 400 is redone key by key', async () => {
    const t = new FakeTransport();
    const b = new DeleteBatcher(t);
    const odd = ['ctl\u0001key', 'cr\rkey', 'lone\uD800surrogate'];
    const out = await Promise.all([...odd, 'fine', 'tab\tok'].map((k) => b.delete('bkt', { key: k }, never)));
    expect(out.every((o) => o.ok)).toBe(true);
    expect(t.oneCalls.map((i) => i.key)).toEqual(odd);
    expect(t.manyCalls.map((c) => c.map((i) => i.key))).toEqual([['fine', 'tab\tok']]);

    const t2 = new FakeTransport();
    t2.manyError = s3Error('MalformedXML', 400);
    const b2 = new DeleteBatcher(t2);
    const redone = await Promise.all(keys(3).map((k) => b2.delete('bkt', { key: k }, never)));
    expect(redone.every((o) => o.ok)).toBe(true);
    expect(t2.oneCalls.map((i) => i.key)).toEqual(keys(3));
    expect(b2.fellBackToSingleDeletes).toBe(false); // only that batch: the next keys are batched again
    t2.manyError = undefined;
    await Promise.all(keys(2, 'n').map((k) => b2.delete('bkt', { key: k }, never)));
    expect(t2.manyCalls).toHaveLength(2);
  });

  it('an attempt aborted before its batch is sent leaves the batch and rejects with the reason', async () => {
    const t = new FakeTransport();
    const b = new DeleteBatcher(t);
    const ctl = new AbortController();
    const aborted = b.delete('bkt', { key: 'gone' }, ctl.signal);
    const kept = b.delete('bkt', { key: 'kept' }, never);
    ctl.abort(new Error('job cancelled'));
    await expect(aborted).rejects.toThrow('job cancelled');
    await expect(kept).resolves.toMatchObject({ ok: true });
    expect(t.manyCalls.map((c) => c.map((i) => i.key))).toEqual([['kept']]);
  });

  it('a batch in flight is aborted once every one of its attempts is', async () => {
    const t = new FakeTransport();
    let release!: () => void;
    t.gate = new Promise((r) => (release = r));
    const b = new DeleteBatcher(t);
    const ctl = new AbortController();
    const pending = keys(4).map((k) => b.delete('bkt', { key: k }, ctl.signal));
    await new Promise((r) => setTimeout(r, 20)); // the linger timer sends the batch
    expect(t.manyCalls).toHaveLength(1);
    expect(t.signals[0]!.aborted).toBe(false);
    ctl.abort(new Error('paused'));
    for (const p of pending) await expect(p).rejects.toThrow('paused');
    expect(t.signals[0]!.aborted).toBe(true);
    release();
  });

  it('an already-aborted signal throws at once and sends nothing', async () => {
    const t = new FakeTransport();
    const b = new DeleteBatcher(t);
    const ctl = new AbortController();
    ctl.abort(new Error('stopped'));
    await expect(b.delete('bkt', { key: 'a' }, ctl.signal)).rejects.toThrow('stopped');
    await new Promise((r) => setTimeout(r, 10));
    expect(t.manyCalls).toHaveLength(0);
  });
});

describe('S3DeleteObject', () => {
  const entry = (key: string, versionId?: string): TaskEntry => ({
    line: 1,
    bucket: 'bkt',
    key,
    rawKey: key,
    versionId,
  });

  it('parses the JSON API member; only BypassGovernanceRetention is allowed', () => {
    expect(parseOperation({ S3DeleteObject: {} })).toMatchObject({
      name: 'S3DeleteObject',
      handler: s3DeleteObject,
      config: { bypassGovernanceRetention: false },
    });
    expect(parseOperation({ S3DeleteObject: { BypassGovernanceRetention: true } }).config).toEqual({
      bypassGovernanceRetention: true,
    });
    expect(Object.isFrozen(parseOperation({ S3DeleteObject: {} }).config)).toBe(true);
    expect(() => parseOperation({ S3DeleteObject: { Mode: 'all' } as never })).toThrow(
      /S3DeleteObject has unknown field\(s\) Mode/,
    );
    expect(() => parseOperation({ S3DeleteObject: { BypassGovernanceRetention: 'yes' } as never })).toThrow(
      S3BatchError,
    );
  });

  it('the reserved LambdaInvoke FunctionArn (any region) is the built-in delete', () => {
    const parsed = parseOperation({ LambdaInvoke: { FunctionArn: BUILTIN_DELETE_FUNCTION_ARN } });
    expect(parsed.name).toBe('LambdaInvoke'); // ListJobs still says LambdaInvoke: the XML stays AWS's
    expect(parsed.handler).toBe(s3DeleteObject);
    expect(parsed.config).toEqual({ bypassGovernanceRetention: false });
    const eu = parseOperation({
      LambdaInvoke: {
        FunctionArn: 'arn:aws:lambda:eu-west-3:000000000000:function:s3batch-delete-objects',
        InvocationSchemaVersion: '2.0',
        UserArguments: { BypassGovernanceRetention: 'true' },
      },
    });
    expect(eu.handler).toBe(s3DeleteObject);
    expect(eu.config).toEqual({ bypassGovernanceRetention: true });
  });

  it('rejects bad forms of the reserved ARN and leaves every other FunctionArn alone', () => {
    expect(() => builtinFunctionOf('arn:aws:lambda:us-east-1:000000000000:function:s3batch-delete-object')).toThrow(
      /reserved s3batch namespace/,
    );
    expect(() => builtinFunctionOf('arn:aws:lambda:us-east-1:000000000000:function:s3batch-delete-objects:1')).toThrow(
      /no qualifier/,
    );
    expect(builtinFunctionOf('arn:aws:lambda:us-east-1:111122223333:function:s3batch-delete-objects')).toBeUndefined();
    expect(builtinFunctionOf('arn:aws:lambda:us-east-1:000000000000:function:my-deleter')).toBeUndefined();
    expect(builtinFunctionOf('https://example.com/fn')).toBeUndefined();
    expect(() =>
      parseOperation({
        LambdaInvoke: {
          FunctionArn: BUILTIN_DELETE_FUNCTION_ARN,
          UserArguments: { BypassGovernanceRetention: 'true' },
        },
      }),
    ).toThrow(/requires InvocationSchemaVersion 2.0/);
    expect(() =>
      parseOperation({
        LambdaInvoke: {
          FunctionArn: BUILTIN_DELETE_FUNCTION_ARN,
          InvocationSchemaVersion: '2.0',
          UserArguments: { Other: 'x' },
        },
      }),
    ).toThrow(/unknown field\(s\) Other/);
    // Another function is never the delete handler, whatever it is called.
    const other = (() => {
      try {
        return parseOperation({
          LambdaInvoke: { FunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:s3batch-delete-objects' },
        }).handler;
      } catch {
        return undefined;
      }
    })();
    expect(other).not.toBe(s3DeleteObject);
  });

  it('attempt: batched through the job batcher; messages tell a version delete from a plain delete', async () => {
    const sent: unknown[] = [];
    // A fake client answering DeleteObjects only (unit test: no S3 server here).
    const s3 = {
      send: async (cmd: {
        constructor: { name: string };
        input: { Delete: { Objects: { Key: string; VersionId?: string }[] } };
      }) => {
        sent.push(cmd.constructor.name);
        return {
          Deleted: cmd.input.Delete.Objects.map((o) =>
            o.VersionId
              ? { Key: o.Key, VersionId: o.VersionId }
              : o.Key === 'marker'
                ? { Key: o.Key, DeleteMarker: true, DeleteMarkerVersionId: 'dm1' }
                : { Key: o.Key },
          ),
        };
      },
    } as unknown as S3Client;
    const ctx = { s3 } as OperationContext;
    const config = s3DeleteObject.parse({});
    const [plain, marker, version] = await Promise.all([
      s3DeleteObject.attempt(config, entry('plain'), ctx, never),
      s3DeleteObject.attempt(config, entry('marker'), ctx, never),
      s3DeleteObject.attempt(config, entry('v', 'v123'), ctx, never),
    ]);
    expect(sent).toEqual(['DeleteObjectsCommand']);
    expect(plain.result).toMatchObject({ status: 'succeeded', httpStatus: 200, message: 'Successful' });
    expect(marker.result.message).toMatch(
      /^Successful \(plain delete: the bucket is versioned, so delete marker dm1 now hides the object; its versions remain\)$/,
    );
    expect(version.result).toMatchObject({
      status: 'succeeded',
      versionId: 'v123',
      message: 'Successful (deleted version v123)',
    });
    expect(s3DeleteObject.describe!(config, entry('v', 'v123'))).toBe(
      'delete version v123 of the object (other versions kept)',
    );
    expect(s3DeleteObject.describe!(config, entry('k'))).toMatch(/plain delete/);
  });
});
