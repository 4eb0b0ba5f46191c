// The S3 server the benchmark runs on: a Ceph RGW that is already running (--ceph), a throw-away
// Ceph RGW of its own (tmp/ceph-bench, ports away from the test suite's), or s3rver; and the
// processes serving it, whose CPU the scenarios report as "S3 server CPU".
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { REPO_ROOT, startCeph, startS3rver, type S3Server } from '../test/helpers/s3-servers.ts';
import { listensOn, pidsWithCmdline } from './proc.ts';

export interface BenchS3 {
  readonly server: S3Server;
  /** One line for the report: what the server is and where. */
  readonly description: string;
  /** Its processes (radosgw, ceph-osd, ceph-mon, or s3rver's node); empty when not found. */
  readonly pids: number[];
}

export interface BenchS3Options {
  readonly kind: 'ceph' | 's3rver';
  /** --ceph: a running Ceph RGW to use instead of starting one. */
  readonly external?: { readonly endpoint: string; readonly accessKeyId: string; readonly secretAccessKey: string };
  onCleanup(fn: () => Promise<void> | void): void;
  log(msg: string): void;
}

export async function startBenchS3(options: BenchS3Options): Promise<BenchS3> {
  const { external, onCleanup, log } = options;
  if (external) {
    const server: S3Server = { name: 'ceph', ...external, region: 'us-east-1', startupMs: 0, stop: async () => {} };
    const pids = cephPidsServing(Number(new URL(external.endpoint).port || 80));
    const version = commandOutput('radosgw', ['--version']) ?? 'radosgw';
    const description = `a running Ceph RGW (${version.replace(/\s*\(.*$/, '')}; shared, other clients may load it) at ${external.endpoint}`;
    return { server, description, pids };
  }
  if (options.kind === 'ceph') {
    const cephDir = process.env.CEPH_DIR ?? path.join(REPO_ROOT, 'tmp', 'ceph-bench');
    // Ports of our own, away from the test suite's defaults (17480/13300/16800): a test run starting
    // at the same time must not answer our readiness check (or our requests) with its RGW.
    const envPort = (name: string, dflt: number): number => (process.env[name] ? Number(process.env[name]) : dflt);
    log(`starting Ceph RGW in ${cephDir}…`);
    const server = await startCeph({
      cephDir,
      rgwPort: envPort('RGW_PORT', 27480),
      monPort: envPort('MON_PORT', 23300),
      portMin: envPort('PORT_MIN', 26800),
      autoPorts: true,
      storageClasses: [],
    });
    onCleanup(() => server.stop());
    const pidOf = (name: string): number | undefined => {
      try {
        return Number(readFileSync(path.join(cephDir, 'run', `${name}.fgpid`), 'utf8').trim());
      } catch {
        return undefined;
      }
    };
    const pids = ['rgw.a', 'osd.0', 'mon.a'].map(pidOf).filter((p): p is number => p !== undefined);
    // The endpoint must be served by OUR radosgw (start-ceph.sh's check could have seen another one).
    const rgwPid = pidOf('rgw.a');
    const rgwPort = Number(new URL(server.endpoint).port);
    const deadline = Date.now() + 15_000;
    while (rgwPid === undefined || !listensOn(rgwPid, rgwPort)) {
      if (Date.now() > deadline) {
        throw new Error(
          `${server.endpoint} is not served by this cluster's radosgw (pid ${rgwPid}): port taken by another process? see ${cephDir}/log/client.rgw.a.log; set RGW_PORT`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const version = commandOutput('radosgw', ['--version']) ?? 'radosgw';
    const description = `Ceph RGW (${version.replace(/\s*\(.*$/, '')}; 1 mon, 1 memstore OSD, beast) at ${server.endpoint}`;
    return { server, description, pids };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3batch-bench-s3rver-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  log(`starting s3rver in ${dir}…`);
  const server = await startS3rver(dir);
  onCleanup(() => server.stop());
  const pids = pidsWithCmdline(dir);
  return { server, description: `s3rver (one Node process, files in ${dir}) at ${server.endpoint}`, pids };
}

/**
 * The processes of the Ceph cluster whose radosgw listens on `port`: that radosgw and the ceph-osd /
 * ceph-mon started with the same `-c <ceph.conf>`. Empty when not found (no S3 CPU figures then).
 */
function cephPidsServing(port: number): number[] {
  const cmdline = (pid: number): string[] => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return [];
    }
  };
  const rgw = pidsWithCmdline('radosgw').find(
    (pid) => path.basename(cmdline(pid)[0] ?? '') === 'radosgw' && listensOn(pid, port),
  );
  if (rgw === undefined) return [];
  const args = cmdline(rgw);
  const conf = args[args.indexOf('-c') + 1];
  if (!args.includes('-c') || conf === undefined) return [rgw];
  return pidsWithCmdline(conf).filter((pid) => {
    const a = cmdline(pid);
    return ['radosgw', 'ceph-osd', 'ceph-mon'].includes(path.basename(a[0] ?? '')) && a[a.indexOf('-c') + 1] === conf;
  });
}

/** Empties and deletes buckets (on a shared S3 server, what the bench wrote must not stay). */
export async function removeBuckets(s3: S3Client, buckets: readonly string[]): Promise<void> {
  for (const bucket of buckets) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: token }));
      const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length > 0)
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
}

/** `<cmd> <args>` stdout, or undefined. */
function commandOutput(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}
