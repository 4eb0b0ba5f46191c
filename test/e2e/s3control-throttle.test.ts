/**
 * The control-plane rate limit seen through the real S3ControlClient: over the CreateJob rate of an
 * account, the server answers TooManyRequestsException (docs/s3control-api.md#error-envelope,
 * docs/s3control-api.md#rate-limit) and the SDK raises that typed exception; another account is not affected, and once
 * tokens refill CreateJob works again.
 */
import { randomBytes } from 'node:crypto';
import { CreateJobCommand, TooManyRequestsException, type S3ControlClient } from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireS3rver } from '../helpers/provided.ts';
import { hostPrefixClient, writeApiKeysFile, type ApiKey } from '../helpers/s3control.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const A: ApiKey = {
  accessKeyId: 'THROTTLETESTKEYA0001',
  secretAccessKey: randomBytes(30).toString('base64url'),
  accountId: '111122223333',
};
const B: ApiKey = {
  accessKeyId: 'THROTTLETESTKEYB0001',
  secretAccessKey: randomBytes(30).toString('base64url'),
  accountId: '444455556666',
};

let server: ServerProcess;
let clientA: S3ControlClient;
let clientB: S3ControlClient;

beforeAll(async () => {
  const dataDir = tempDataDir();
  server = await startServerProcess({
    s3: requireS3rver(),
    dataDir,
    args: ['--create-job-rate', '1'],
    env: { S3BATCH_API_KEYS_FILE: writeApiKeysFile(dataDir, [A, B]) },
  });
  clientA = hostPrefixClient(server.url, A); // maxAttempts 1: the SDK does not retry the throttling away
  clientB = hostPrefixClient(server.url, B);
});
afterAll(async () => {
  clientA?.destroy();
  clientB?.destroy();
  await server?.kill('SIGTERM');
});

/** CreateJob of a job whose manifest does not exist (it fails in Preparing; only the answer to CreateJob matters here). */
function create(client: S3ControlClient, accountId: string): Promise<unknown> {
  return client.send(
    new CreateJobCommand({
      AccountId: accountId,
      ConfirmationRequired: true,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: 'arn:aws:s3:::no-such-bucket/manifest.csv', ETag: 'etag' },
      },
      Report: { Enabled: false },
      Priority: 1,
      RoleArn: `arn:aws:iam::${accountId}:role/batch`,
      Tags: [{ Key: 's3batch:skip-access-check', Value: 'true' }],
    }),
  );
}

describe('CreateJob rate limit', () => {
  it('answers TooManyRequestsException over the burst, per account, and recovers', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 7; i++) {
      outcomes.push(
        await create(clientA, A.accountId).then(
          () => 'created',
          (e: unknown) => (e as Error).name,
        ),
      );
    }
    // --create-job-rate 1 gives bursts of 5; a few more may pass as tokens refill during the loop.
    expect(outcomes.slice(0, 5)).toEqual(Array(5).fill('created'));
    expect(outcomes).toContain('TooManyRequestsException');
    const err = await create(clientA, A.accountId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRequestsException);
    expect((err as TooManyRequestsException).message).toMatch(/at most 1 per second/);
    expect((err as TooManyRequestsException).$metadata.httpStatusCode).toBe(429);

    await expect(create(clientB, B.accountId)).resolves.toMatchObject({ JobId: expect.any(String) });
    await new Promise((r) => setTimeout(r, 1_100)); // one token refills
    await expect(create(clientA, A.accountId)).resolves.toMatchObject({ JobId: expect.any(String) });
  });
});
