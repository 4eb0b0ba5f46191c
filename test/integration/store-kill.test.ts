/**
 * The job store survives SIGKILL during its writes (docs/job-lifecycle.md#job-store): a real
 * `s3batch serve` on Ceph RGW is killed three times while jobs are being created, are ending (their
 * records move to the archive) and ended jobs are being tagged (superseding archive lines), and is
 * started again on the same data folder each time. Afterwards: the store opens, nothing acknowledged
 * well before a kill is lost (jobs, their tags, their idempotency tokens), ListJobs lists each job
 * once, and the jobs that were running finish.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

/** Saves are batched every 50 ms: what was acknowledged this long before a kill must have been written. */
const SETTLED_MS = 2_000;
const KILLS = 3;

let ceph: S3ServerInfo;
let s3: S3Client;
let src: string;
let reports: string;
let etag: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  src = await createTestBucket(s3, 'store-kill-src');
  reports = await createTestBucket(s3, 'store-kill-reports');
  const keys = Array.from({ length: 5 }, (_, i) => `objects/o-${i}`);
  await putObjects(s3, src, keys, 'x');
  etag = (
    await putManifest(
      s3,
      src,
      'manifests/five.csv',
      keys.map((key) => ({ bucket: src, key })),
    )
  ).etag;
});

const dirs: string[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill('SIGTERM');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

afterAll(() => s3?.destroy());

async function serve(dataDir: string): Promise<{ server: ServerProcess; api: JsonApi }> {
  const server = await startServerProcess({ s3: ceph, dataDir, args: ['--create-job-rate', '100000'] });
  servers.push(server);
  return { server, api: new JsonApi(server.url) };
}

const request = (token: string): Record<string, unknown> =>
  jobRequest({
    manifestBucket: src,
    manifestKey: 'manifests/five.csv',
    etag,
    operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
    reportBucket: reports,
    reportPrefix: 'store-kill',
    confirmationRequired: false,
    extra: { ClientRequestToken: token },
  });

interface Acked {
  readonly at: number;
}

describe('job store under SIGKILL', () => {
  it('loses nothing written before a kill, doubles nothing, and opens after each kill', async () => {
    const dataDir = tempDataDir('s3batch-store-kill-');
    dirs.push(dataDir);
    let { server, api } = await serve(dataDir);
    /** Job id → its token and when CreateJob answered. */
    const created = new Map<string, Acked & { token: string }>();
    /** Job id → the tags PutJobTagging acknowledged last, and when. */
    const tagged = new Map<string, Acked & { value: string }>();
    /** Job id → every tag value sent (acknowledged or not). */
    const sent = new Map<string, Set<string>>();
    let n = 0;
    let killedAt = 0;
    const create = async (): Promise<string> => {
      const token = `store-kill-${n++}`;
      const { JobId } = await api.createJob(request(token));
      created.set(JobId, { token, at: Date.now() });
      return JobId;
    };

    // Ended jobs to tag: in the archive before the first kill.
    const first = await Promise.all(Array.from({ length: 12 }, () => create()));
    for (const id of first) await api.waitFor(id, 'Complete', 60_000, 50);

    for (let kill = 1; kill <= KILLS; kill++) {
      let stop = false;
      // One client creates jobs, two tag the ended ones; a short pause between requests.
      const churn = async (tagging: number | undefined): Promise<void> => {
        for (let i = 0; !stop; i++) {
          try {
            if (tagging === undefined) {
              await create();
            } else {
              const id = first[(i * 2 + tagging) % first.length]!;
              const value = `kill-${kill}-${tagging}-${i}`;
              (sent.get(id) ?? sent.set(id, new Set()).get(id)!).add(value);
              await api.call('PUT', `/jobs/${id}/tagging`, { Tags: [{ Key: 'round', Value: value }] });
              tagged.set(id, { value, at: Date.now() });
            }
          } catch {
            // the server was killed under this request: it is not acknowledged
            return;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const clients = [churn(undefined), churn(0), churn(1)];
      // Long enough for jobs to end (archive appends) and several batches; then at a random moment.
      await new Promise((r) => setTimeout(r, 1_500 + Math.floor(Math.random() * 1_000)));
      killedAt = Date.now();
      await server.kill('SIGKILL');
      stop = true;
      await Promise.all(clients);
      servers.splice(servers.indexOf(server), 1);

      ({ server, api } = await serve(dataDir));
      // Nothing settled before the kill is lost.
      // What was acknowledged just before the kill may be lost (saves are batched); what was
      // kept counts as settled from now on.
      for (const [id, c] of created) {
        const settled = c.at <= killedAt - SETTLED_MS;
        const found = await api.describe(id).then(
          (v) => v.Job.JobId,
          (err: Error) => {
            if (settled) throw err;
            return undefined;
          },
        );
        if (found === undefined) {
          created.delete(id);
          continue;
        }
        expect(found).toBe(id);
        // Its idempotency token still answers with the same job.
        expect((await api.createJob(request(c.token))).JobId).toBe(id);
        created.set(id, { ...c, at: 0 });
      }
      for (const [id, t] of tagged) {
        const got = (await api.call<{ Tags: { Key: string; Value: string }[] }>('GET', `/jobs/${id}/tagging`)).Tags;
        const value = got[0]?.Value;
        if (t.at <= killedAt - SETTLED_MS) expect(got).toEqual([{ Key: 'round', Value: t.value }]);
        else if (value !== undefined) expect(sent.get(id)!.has(value)).toBe(true);
        if (value === undefined) tagged.delete(id);
        else tagged.set(id, { value, at: 0 });
        expect((await api.describe(id)).Job.Status).toBe('Complete');
      }
      // Each job once in ListJobs, and every listed job answers DescribeJob.
      const listed: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await api.call<{ Jobs: { JobId: string }[]; NextToken?: string }>(
          'GET',
          `/jobs?maxResults=100${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`,
        );
        listed.push(...page.Jobs.map((j) => j.JobId));
        nextToken = page.NextToken;
      } while (nextToken !== undefined);
      expect(new Set(listed).size).toBe(listed.length);
      for (const id of first) expect(listed).toContain(id);
      // The archive is whole lines after the open (a torn tail cut off).
      expect((await readFile(join(dataDir, 'jobs.archive.jsonl'), 'utf8')).endsWith('\n')).toBe(true);
    }

    // The jobs that were live at the last kill finish; the ended ones stay as they were.
    const listed = (await api.call<{ Jobs: { JobId: string }[] }>('GET', '/jobs?maxResults=1000')).Jobs.map(
      (j) => j.JobId,
    );
    for (const id of listed) await api.waitFor(id, ['Complete'], 60_000, 50);
    for (const [id, c] of created) if (c.at <= killedAt - SETTLED_MS) expect(listed).toContain(id);
  }, 240_000);
});
