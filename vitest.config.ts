import { defineConfig } from 'vitest/config';

// Two tiers: `unit` is pure and fast (no servers); `integration` runs against real S3 servers
// (Ceph RGW and s3rver) started once by the global setup, the real fastify server and the CLI.
export default defineConfig({
  test: {
    // Node 20 is this machine's runtime: keep the AWS SDK's "Node >= 22 will be required" warning
    // out of test output, where stderr is asserted (the servers and CLIs the tests spawn inherit it;
    // users see the warning: README, "Node.js versions").
    //
    // The servers the tests start run their tasks in 2 worker threads (`--workers 2`, the default on
    // this 2-core machine and on CI's): the suite covers the threads placement users run, and the
    // inline one (--workers 0) is what the engine's unit tests run. S3BATCH_TEST_WORKERS=0 runs the
    // suite's servers with the tasks in the main thread (test/helpers/server-process.ts).
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      S3BATCH_TEST_WORKERS: process.env.S3BATCH_TEST_WORKERS ?? '2',
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Both cores are shared by the S3 servers and the engine: run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
