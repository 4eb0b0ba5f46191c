/**
 * Duplicate jobs (docs/job-lifecycle.md#duplicate-jobs): the fingerprint (what it covers and what
 * it leaves out), the stores' fingerprint index (memory, and lowdb across a reopen once the job is
 * archived), and the service's window (live jobs and jobs ended within 24 h) on a test clock.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import { jobFingerprint } from '../../src/storage/job-fingerprint.ts';
import type { JobRecord } from '../../src/domain/job.ts';
import type { CreateJobRequest } from '../../src/domain/job-spec.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import { LowdbJobStore } from '../../src/storage/lowdb-job-store.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import {
  csvManifest,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
} from '../helpers/engine-harness.ts';
import { storedJob } from '../helpers/job-records.ts';

const ACCOUNT = '111122223333';

const request = (patch: Partial<CreateJobRequest> = {}): CreateJobRequest => ({
  ConfirmationRequired: true,
  Operation: { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::dst', TargetKeyPrefix: 'p' } },
  Report: { Enabled: true, Bucket: 'arn:aws:s3:::reports', Prefix: 'r', ReportScope: 'AllTasks' },
  Manifest: {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
    Location: { ObjectArn: 'arn:aws:s3:::src/m.csv', ETag: 'abc' },
  },
  Priority: 10,
  RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
  ...patch,
});

const fp = (patch: Partial<CreateJobRequest> = {}, account = ACCOUNT): string =>
  jobFingerprint(account, request(patch));

describe('jobFingerprint', () => {
  it('ignores what changes neither the objects nor the work', () => {
    const base = fp();
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(fp({ Priority: 99, Description: 'again', ConfirmationRequired: false, ClientRequestToken: 't' })).toBe(base);
    expect(fp({ Report: { Enabled: false } })).toBe(base);
    expect(fp({ Tags: [{ Key: 'team', Value: 'a' }] })).toBe(base);
    expect(fp({ Tags: [{ Key: 's3batch:max-concurrent-tasks', Value: '2' }] })).toBe(base);
    // The ETag with or without quotes, members in another order.
    const quoted = request();
    quoted.Manifest = { Location: { ETag: '"abc"', ObjectArn: 'arn:aws:s3:::src/m.csv' }, Spec: quoted.Manifest!.Spec };
    expect(jobFingerprint(ACCOUNT, quoted)).toBe(base);
    expect(fp({ Operation: { S3PutObjectCopy: { TargetKeyPrefix: 'p', TargetResource: 'arn:aws:s3:::dst' } } })).toBe(
      base,
    );
  });

  it('differs by account, role, operation and its parameters, target, manifest and defining tags', () => {
    const base = fp();
    const others = [
      fp({}, '444455556666'),
      fp({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/archive` }),
      fp({ Operation: { S3PutObjectTagging: { TagSet: [] } } }),
      fp({ Operation: { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::other', TargetKeyPrefix: 'p' } } }),
      fp({ Operation: { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::dst', TargetKeyPrefix: 'q' } } }),
      fp({
        Operation: {
          S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::dst', TargetKeyPrefix: 'p', StorageClass: 'GLACIER' },
        },
      }),
      fp({ Manifest: { ...request().Manifest!, Location: { ObjectArn: 'arn:aws:s3:::src/m2.csv', ETag: 'abc' } } }),
      fp({ Manifest: { ...request().Manifest!, Location: { ObjectArn: 'arn:aws:s3:::src/m.csv', ETag: 'abd' } } }),
      fp({
        Manifest: {
          ...request().Manifest!,
          Location: { ObjectArn: 'arn:aws:s3:::src/m.csv', ETag: 'abc', ObjectVersionId: 'v1' },
        },
      }),
      fp({ Tags: [{ Key: 's3batch:dry-run', Value: 'true' }] }),
    ];
    for (const other of others) expect(other).not.toBe(base);
    expect(new Set(others).size).toBe(others.length);
  });

  it('covers a generator job by its whole specification', () => {
    const generator = (prefix: string): Partial<CreateJobRequest> => ({
      Manifest: undefined,
      ManifestGenerator: {
        S3JobManifestGenerator: {
          SourceBucket: 'arn:aws:s3:::src',
          EnableManifestOutput: false,
          Filter: { KeyNameConstraint: { MatchAnyPrefix: [prefix] } },
        },
      },
    });
    expect(fp(generator('a/'))).toBe(fp(generator('a/')));
    expect(fp(generator('a/'))).not.toBe(fp(generator('b/')));
    expect(fp(generator('a/'))).not.toBe(fp());
    expect(fp({ ...generator('a/'), Tags: [{ Key: 's3batch:generator-max-objects', Value: '5' }] })).not.toBe(
      fp(generator('a/')),
    );
  });
});

describe("the stores' fingerprint index", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('memory: finds the jobs by fingerprint, follows their status, forgets removed ones', () => {
    const store = new MemoryJobStore();
    store.save(storedJob('a', { fingerprint: 'f1' }));
    store.save(storedJob('b', { fingerprint: 'f1', creationTime: '2025-01-02T00:00:00.000Z' }));
    store.save(storedJob('c', { fingerprint: 'f2' }));
    expect(
      store
        .withFingerprint('f1')
        .map((m) => m.id)
        .sort(),
    ).toEqual(['a', 'b']);
    store.save({ ...store.get('a')!, status: JobStatus.Cancelled, terminationDate: '2025-01-03T00:00:00.000Z' });
    const a = store.withFingerprint('f1').find((m) => m.id === 'a')!;
    expect(a.status).toBe(JobStatus.Cancelled);
    expect(a.endedMs).toBe(Date.parse('2025-01-03T00:00:00.000Z'));
    store.remove('b');
    expect(store.withFingerprint('f1').map((m) => m.id)).toEqual(['a']);
    expect(store.withFingerprint('none')).toEqual([]);
  });

  it('memory: a record without a fingerprint (an older s3batch) gets its fingerprint computed', () => {
    const job = storedJob('old');
    const store = new MemoryJobStore({ version: 1, jobs: { old: job }, tokens: {} });
    expect(store.withFingerprint(jobFingerprint(job.accountId, job.request)).map((m) => m.id)).toEqual(['old']);
  });

  it('lowdb: an ended (archived) job is still found after the store is reopened', async () => {
    dir = await mkdtemp(join(tmpdir(), 's3batch-fp-'));
    const file = join(dir, 'jobs.json');
    const store = await LowdbJobStore.open(file);
    store.save(
      storedJob('ended', {
        fingerprint: 'f-ended',
        status: JobStatus.Complete,
        terminationDate: '2025-01-01T01:00:00.000Z',
      }),
    );
    store.save(storedJob('live', { fingerprint: 'f-live' }));
    await store.close();
    const reopened = await LowdbJobStore.open(file);
    try {
      expect(reopened.withFingerprint('f-ended')).toEqual([
        expect.objectContaining({
          id: 'ended',
          status: JobStatus.Complete,
          endedMs: Date.parse('2025-01-01T01:00:00.000Z'),
        }),
      ]);
      expect(reopened.withFingerprint('f-live').map((m) => m.id)).toEqual(['live']);
    } finally {
      await reopened.close();
    }
  });
});

describe('the duplicate window (BatchService, test clock)', () => {
  afterEach(stopTestEngines);

  const NOW = Date.parse('2026-01-01T00:00:00.000Z');
  const req = taggingJobRequest({ Manifest: csvManifest('m.csv', 'e1') });
  const handler = { name: 'S3PutObjectTagging', parse: () => ({}), run: async () => ({ status: 'succeeded' }) };

  /** A service on a store that holds `records`, its clock at NOW. */
  const serviceOn = (records: JobRecord[] = []) => {
    const store = new MemoryJobStore();
    for (const r of records) store.save(r);
    return {
      store,
      ...newTestEngine({
        store,
        objects: new MemoryObjectStore(),
        handler: handler as never,
        now: () => new Date(NOW),
      }),
    };
  };

  it('warns of a live job of the same account, names it, and keeps the warning with the job', () => {
    const { service, store } = serviceOn();
    const first = service.createJob(TEST_ACCOUNT, req);
    expect(first.Duplicate).toBeUndefined();
    const second = service.createJob(TEST_ACCOUNT, { ...req, Priority: 50 });
    expect(second.Duplicate).toMatchObject({ JobId: first.JobId, CreationTime: new Date(NOW).toISOString() });
    expect(second.Duplicate!.Message).toContain(first.JobId);
    expect(store.get(second.JobId)!.duplicateOf).toBe(first.JobId);
    expect(store.get(first.JobId)!.duplicateOf).toBeUndefined();
    // Another account's identical request is no duplicate.
    expect(service.createJob('444455556666', req).Duplicate).toBeUndefined();
  });

  it('counts a job ended within 24 h, not one ended earlier; refuses when asked (member or tag)', () => {
    // The fingerprint of the request as the service stores it.
    const { service: probe, store: probeStore } = serviceOn();
    const fingerprint = probeStore.get(probe.createJob(TEST_ACCOUNT, req).JobId)!.fingerprint!;
    const ended = (id: string, hoursAgo: number): JobRecord => {
      const at = new Date(NOW - hoursAgo * 3600_000).toISOString();
      return storedJob(id, { fingerprint, status: JobStatus.Cancelled, creationTime: at, terminationDate: at });
    };

    const { service: old } = serviceOn([ended('old', 25)]);
    expect(old.createJob(TEST_ACCOUNT, req, { rejectDuplicates: true }).Duplicate).toBeUndefined();

    const { service } = serviceOn([ended('old', 25), ended('recent', 23), ended('older', 23.5)]);
    expect(service.createJob(TEST_ACCOUNT, req).Duplicate?.JobId).toBe('recent');
    let refused: unknown;
    try {
      service.createJob(TEST_ACCOUNT, req, { rejectDuplicates: true });
    } catch (err) {
      refused = err;
    }
    expect(isS3BatchError(refused) && refused.code).toBe('DuplicateJob');
    const tagged = { ...req, Tags: [{ Key: 's3batch:no-duplicates', Value: 'true' }] };
    expect(() => service.createJob(TEST_ACCOUNT, tagged)).toThrow(/repeats job/);
  });
});
