/**
 * The entry of a chunk worker thread (threads.ts starts one per `--workers`): it builds its own
 * storage profiles, S3 clients and function invoker from the server's config, the same way the
 * composition root does (server/server-profiles.ts), and runs the chunks the engine's thread hands
 * it (chunk-worker.ts). No top-level await: under tsx (tests) this file may be loaded as CommonJS.
 */
import { readlinkSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import type { Config, StorageConfig } from '../config.ts';
import { withJobTags } from '../operations/job-operation.ts';
import { parseOperation } from '../operations/index.ts';
import { engineConfigFrom, engineFilePorts } from '../server/engine-config.ts';
import { createServerProfiles } from '../server/server-profiles.ts';
import { ChunkWorker } from './chunk-worker.ts';
import type { FromWorker, ThreadHello, ToWorker } from './protocol.ts';

/** What threads.ts passes as workerData. */
export interface ThreadData {
  readonly config: Config;
  /** The server's own endpoint (the embedded S3's with --local). */
  readonly storage: StorageConfig;
}

/** This thread's Linux thread id, for threads.ts to read its CPU time; undefined off Linux. */
function threadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

const port = parentPort;
if (port) {
  port.postMessage({ t: 'thread', tid: threadId() } satisfies ThreadHello);
  const { config, storage } = workerData as ThreadData;
  const { profiles } = createServerProfiles(config, storage);
  const files = engineFilePorts(config.dataDir);
  const worker = new ChunkWorker(
    {
      profileFor: (roleArn) => profiles.forRoleArn(roleArn),
      operationFor: (request) => withJobTags(parseOperation(request.Operation), request),
      localManifest: (jobId) => files.localManifest!(jobId),
      retry: engineConfigFrom(config).retry,
      sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined).catch(() => undefined),
      spool: files.spool,
      now: () => Date.now(),
    },
    (msg: FromWorker) => port.postMessage(msg),
  );
  port.on('message', (msg: ToWorker) => worker.handle(msg));
}
