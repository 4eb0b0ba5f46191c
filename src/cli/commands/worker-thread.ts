/**
 * A worker thread of `s3batch worker --threads N` (worker.ts starts N − 1 of them): one more BullMQ
 * worker with its own Redis connection and event loop (worker-run.ts), under its own name and share
 * of `--concurrency`. The main thread posts `stop` (drain, then end) or `stop-now` (stop the running
 * chunks). No top-level await: under tsx (tests) this file may be loaded as CommonJS.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ConfigFlags, loadWorkerConfig } from '../../config.ts';
import { startQueueWorker } from './worker-run.ts';

/** What worker.ts passes as workerData. */
export interface WorkerThreadData {
  readonly flags: ConfigFlags;
  readonly name: string;
  readonly concurrency: number;
}

const port = parentPort;
if (port) {
  const { flags, name, concurrency } = workerData as WorkerThreadData;
  const wc = loadWorkerConfig(flags);
  let stopping = false;
  port.on('message', (msg: unknown) => {
    if (msg === 'stop') stopping = true;
  });
  startQueueWorker(wc, name, concurrency).then(
    (running) => {
      const stop = (): void => {
        void running.stop(wc.drainSeconds).finally(() => port.close());
      };
      port.on('message', (msg: unknown) => {
        if (msg === 'stop') stop();
        else if (msg === 'stop-now') running.stopChunks();
      });
      if (stopping) stop();
    },
    (err: unknown) => {
      // The main thread's 'error' listener reports it and ends the process.
      throw err;
    },
  );
}
