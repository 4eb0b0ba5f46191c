/**
 * Batches the deletes of one job into DeleteObjects requests (up to 1,000 keys each).
 *
 * The engine runs one attempt per task with bounded concurrency; each attempt hands its key to
 * the batcher and waits. The batcher collects the keys of concurrent attempts per bucket for up
 * to `lingerMs` (or until `maxBatch` keys), sends one DeleteObjects (Quiet=false, so every key
 * is answered) and settles each attempt with its own outcome:
 *  - the key is in Deleted[]            ⇒ succeeded (with the delete marker, when one was made);
 *  - the key is in Errors[]             ⇒ failed with that entry's Code and Message;
 *  - the whole request failed           ⇒ every attempt of the batch fails with that error
 *                                         (retryable when it is 5xx/throttling/network);
 *  - the key is missing from the answer ⇒ failed, retryable (the engine tries it again).
 * A store that answers DeleteObjects with 501 NotImplemented switches the batcher to one
 * DeleteObject per key for the rest of its life (the batch that learned it is redone that way).
 *
 * Abort: an attempt whose signal fires before its batch is sent leaves the batch and rejects
 * with the signal's reason; a batch already sent is aborted only when all its attempts were.
 *
 * Two attempts for the same key and version never share a request (S3 would answer once).
 *
 * One odd key must not fail its neighbours: a key XML 1.0 cannot carry (control characters, a
 * carriage return, which XML parsers turn into a line feed) is deleted alone with DeleteObject,
 * and a batch the store refuses as a whole with a 400 (MalformedXML, InvalidArgument…) is redone
 * key by key, so each key gets its own answer.
 */
import type { DeleteObjectsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import { describeS3Error } from '../storage/s3-error-classification.ts';

/** DeleteObjects takes at most 1,000 keys. */
export const MAX_DELETE_BATCH = 1000;

export interface DeleteItem {
  readonly key: string;
  /** Deletes exactly this version; undefined ⇒ a plain delete (a delete marker on a versioned bucket). */
  readonly versionId?: string | undefined;
}

export type DeleteItemOutcome =
  | {
      readonly ok: true;
      /** The version removed (as the store echoed it), if any. */
      readonly versionId?: string | undefined;
      readonly deleteMarker: boolean;
      readonly deleteMarkerVersionId?: string | undefined;
    }
  | {
      readonly ok: false;
      readonly httpStatus: number;
      readonly code: string;
      readonly message: string;
      readonly retryable: boolean;
    };

/** What the batcher sends; the S3 implementation is `s3DeleteTransport`, unit tests pass fakes. */
export interface DeleteTransport {
  deleteMany(bucket: string, items: readonly DeleteItem[], signal: AbortSignal): Promise<DeleteObjectsCommandOutput>;
  deleteOne(bucket: string, item: DeleteItem, signal: AbortSignal): Promise<DeleteItemOutcome>;
}

export interface DeleteBatcherOptions {
  readonly maxBatch?: number;
  /** How long the first key of a batch waits for others. */
  readonly lingerMs?: number;
}

/** Counters, for tests and the benchmark. */
export interface DeleteBatcherStats {
  batchRequests: number;
  singleRequests: number;
  keys: number;
}

interface Waiter {
  readonly item: DeleteItem;
  readonly id: string;
  readonly signal: AbortSignal;
  resolve(outcome: DeleteItemOutcome): void;
  reject(err: unknown): void;
  settled: boolean;
  onAbort?: () => void;
}

interface Batch {
  readonly bucket: string;
  readonly waiters: Map<string, Waiter>;
  timer?: NodeJS.Timeout;
}

export class DeleteBatcher {
  readonly stats: DeleteBatcherStats = { batchRequests: 0, singleRequests: 0, keys: 0 };
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly open = new Map<string, Batch>();
  /** Set once the store answered DeleteObjects with NotImplemented. */
  private singleOnly = false;

  constructor(
    private readonly transport: DeleteTransport,
    options: DeleteBatcherOptions = {},
  ) {
    this.maxBatch = Math.min(Math.max(1, options.maxBatch ?? MAX_DELETE_BATCH), MAX_DELETE_BATCH);
    this.lingerMs = options.lingerMs ?? 2;
  }

  /** True once the store said it has no DeleteObjects. */
  get fellBackToSingleDeletes(): boolean {
    return this.singleOnly;
  }

  /** Deletes one key (or version); resolves with its own outcome, rejects only on `signal`. */
  delete(bucket: string, item: DeleteItem, signal: AbortSignal): Promise<DeleteItemOutcome> {
    if (signal.aborted) return Promise.reject(signal.reason);
    this.stats.keys++;
    if (this.singleOnly || NOT_XML_SAFE.test(item.key)) return this.single(bucket, item, signal);
    return new Promise<DeleteItemOutcome>((resolve, reject) => {
      const id = itemId(item);
      let batch = this.open.get(bucket);
      if (batch?.waiters.has(id)) {
        this.flush(batch); // the same key twice: the second goes in the next request
        batch = undefined;
      }
      if (batch === undefined) {
        batch = { bucket, waiters: new Map() };
        this.open.set(bucket, batch);
        const b = batch;
        b.timer = setTimeout(() => this.flush(b), this.lingerMs);
      }
      const waiter: Waiter = { item, id, signal, resolve, reject, settled: false };
      const b = batch;
      waiter.onAbort = () => {
        // Not sent yet: leave the batch. Sent: the request is aborted once every waiter gave up.
        if (this.open.get(bucket) === b) b.waiters.delete(id);
        settle(waiter, () => reject(signal.reason));
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      b.waiters.set(id, waiter);
      if (b.waiters.size >= this.maxBatch) this.flush(b);
    });
  }

  private flush(batch: Batch): void {
    if (this.open.get(batch.bucket) !== batch) return;
    this.open.delete(batch.bucket);
    clearTimeout(batch.timer);
    const waiters = [...batch.waiters.values()];
    if (waiters.length === 0) return;
    void this.send(batch.bucket, waiters);
  }

  private async send(bucket: string, waiters: Waiter[]): Promise<void> {
    const ctl = new AbortController();
    const onAbort = (): void => {
      if (waiters.every((w) => w.signal.aborted)) ctl.abort();
    };
    for (const w of waiters) w.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.singleOnly) {
        await Promise.all(
          waiters.map((w) =>
            this.single(bucket, w.item, w.signal).then(
              (o) => finish(w, o),
              (e: unknown) => settle(w, () => w.reject(e)),
            ),
          ),
        );
        return;
      }
      this.stats.batchRequests++;
      let out: DeleteObjectsCommandOutput;
      try {
        out = await this.transport.deleteMany(
          bucket,
          waiters.map((w) => w.item),
          ctl.signal,
        );
      } catch (err) {
        const info = describeS3Error(err);
        const notImplemented = info.httpStatus === 501 || info.code === 'NotImplemented';
        if (notImplemented || (info.httpStatus === 400 && waiters.length > 1)) {
          if (notImplemented) this.singleOnly = true;
          await Promise.all(
            waiters.map((w) =>
              this.single(bucket, w.item, w.signal).then(
                (o) => finish(w, o),
                (e: unknown) => settle(w, () => w.reject(e)),
              ),
            ),
          );
          return;
        }
        const outcome: DeleteItemOutcome = {
          ok: false,
          httpStatus: info.httpStatus,
          code: info.code,
          message: info.message,
          retryable: info.retryable,
        };
        for (const w of waiters) finish(w, outcome);
        return;
      }
      distribute(waiters, out);
    } finally {
      for (const w of waiters) w.signal.removeEventListener('abort', onAbort);
    }
  }

  private async single(bucket: string, item: DeleteItem, signal: AbortSignal): Promise<DeleteItemOutcome> {
    this.stats.singleRequests++;
    return this.transport.deleteOne(bucket, item, signal);
  }
}

function itemId(item: DeleteItem): string {
  return idOf(item.key, item.versionId);
}

function idOf(key: string | undefined, versionId: string | undefined): string {
  return `${key ?? ''}\u0000${versionId ?? ''}`;
}

function settle(w: Waiter, fn: () => void): void {
  if (w.settled) return;
  w.settled = true;
  if (w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
  fn();
}

function finish(w: Waiter, outcome: DeleteItemOutcome): void {
  settle(w, () => w.resolve(outcome));
}

/** Hands each waiter its own entry of the DeleteObjects answer. */
function distribute(waiters: readonly Waiter[], out: DeleteObjectsCommandOutput): void {
  const byId = new Map(waiters.map((w) => [w.id, w]));
  /** The waiter an answer entry belongs to: by key and version, else (plain deletes) by key alone. */
  const take = (entry: { Key?: string | undefined; VersionId?: string | undefined }): Waiter | undefined => {
    const exact = byId.get(idOf(entry.Key, entry.VersionId));
    if (exact) {
      byId.delete(exact.id);
      return exact;
    }
    const plain = byId.get(idOf(entry.Key, undefined));
    if (plain) byId.delete(plain.id);
    return plain;
  };
  for (const d of out.Deleted ?? []) {
    const w = take(d);
    if (w)
      finish(w, {
        ok: true,
        versionId: d.VersionId,
        deleteMarker: d.DeleteMarker === true,
        deleteMarkerVersionId: d.DeleteMarkerVersionId,
      });
  }
  for (const e of out.Errors ?? []) {
    const w = take(e);
    if (!w) continue;
    const code = e.Code ?? 'InternalError';
    finish(w, {
      ok: false,
      httpStatus: statusOfCode(code),
      code,
      message: e.Message || code,
      retryable: RETRYABLE_ENTRY_CODES.has(code),
    });
  }
  for (const w of byId.values()) {
    finish(w, {
      ok: false,
      httpStatus: 500,
      code: 'InternalError',
      message: 'The key is missing from the DeleteObjects answer',
      retryable: true,
    });
  }
}

/** Characters outside XML 1.0's Char production, and the carriage return (not kept by XML parsers). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the complement of XML 1.0's Char production
const NOT_XML_SAFE = /[^\u0009\u000A\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const RETRYABLE_ENTRY_CODES = new Set([
  'InternalError',
  'SlowDown',
  'ServiceUnavailable',
  'RequestTimeout',
  'OperationAborted',
]);

/** DeleteObjects' Errors[] entries carry a code but no status: the status S3 uses for that code. */
function statusOfCode(code: string): number {
  switch (code) {
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return 403;
    case 'NoSuchKey':
    case 'NoSuchVersion':
    case 'NoSuchBucket':
      return 404;
    case 'OperationAborted':
      return 409;
    case 'InternalError':
      return 500;
    case 'NotImplemented':
      return 501;
    case 'SlowDown':
    case 'ServiceUnavailable':
      return 503;
    default:
      return 400;
  }
}

/** The S3 transport: DeleteObjects (Quiet=false) and DeleteObject through the job's client. */
export function s3DeleteTransport(s3: S3Client, bypassGovernanceRetention: boolean): DeleteTransport {
  const bypass = bypassGovernanceRetention ? true : undefined;
  const requests = taskS3Of(s3);
  return {
    deleteMany: (bucket, items, signal) =>
      requests.deleteObjects(
        {
          Bucket: bucket,
          BypassGovernanceRetention: bypass,
          Delete: { Quiet: false, Objects: items.map((i) => ({ Key: i.key, VersionId: i.versionId })) },
        },
        signal,
      ),
    async deleteOne(bucket, item, signal) {
      try {
        const out = await requests.deleteObject(
          { Bucket: bucket, Key: item.key, VersionId: item.versionId, BypassGovernanceRetention: bypass },
          signal,
        );
        return {
          ok: true,
          versionId: item.versionId,
          deleteMarker: out.DeleteMarker === true,
          deleteMarkerVersionId: item.versionId === undefined && out.DeleteMarker === true ? out.VersionId : undefined,
        };
      } catch (err) {
        if (signal.aborted) throw err;
        const info = describeS3Error(err);
        return {
          ok: false,
          httpStatus: info.httpStatus,
          code: info.code,
          message: info.message,
          retryable: info.retryable,
        };
      }
    },
  };
}
