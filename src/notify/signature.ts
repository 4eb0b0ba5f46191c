/**
 * The webhook signature (docs/notifications.md#verifying): HMAC-SHA256 with the account's secret
 * over `<timestamp>.<raw body>`, sent as `X-S3Batch-Signature: sha256=<hex>` next to
 * `X-S3Batch-Timestamp: <unix seconds>`. The timestamp is signed too, so a receiver that refuses
 * old timestamps and remembers `X-S3Batch-Event-Id`s is safe against replay.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-s3batch-signature';
export const TIMESTAMP_HEADER = 'x-s3batch-timestamp';
export const EVENT_ID_HEADER = 'x-s3batch-event-id';
export const EVENT_HEADER = 'x-s3batch-event';
export const ATTEMPT_HEADER = 'x-s3batch-delivery-attempt';

export function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does (and the tests): true when `signature` is the HMAC of this timestamp and
 * body and the timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export function verifyWebhook(
  secret: string,
  headers: { readonly signature: string | undefined; readonly timestamp: string | undefined },
  rawBody: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const { signature, timestamp } = headers;
  if (signature === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureOf(secret, timestamp, rawBody));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
