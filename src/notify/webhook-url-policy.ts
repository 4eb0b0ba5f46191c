/**
 * Which URLs webhooks may call: the same operator policy as HTTP functions (`--function-urls`,
 * operations/lambda/function-url-policy.ts), since both make the server POST to a URL a user
 * chose. A URL outside it is refused with InvalidRequest when it is given (CreateJob's
 * `s3batch:notify` tag, PUT /api/v1/notifications) and is not called if the policy changed since.
 */
import { S3BatchError } from '../domain/errors.ts';
import { shownUrl } from '../domain/notification.ts';
import { isFunctionUrlAllowed, type FunctionUrlPolicy } from '../operations/lambda/function-url-policy.ts';

/** Throws InvalidRequest naming `where` when the policy does not allow `url`. */
export function checkWebhookUrl(policy: FunctionUrlPolicy, url: string, where: string): void {
  if (isFunctionUrlAllowed(policy, url)) return;
  const allowed =
    policy.kind === 'prefixes'
      ? `allowed: ${policy.prefixes.map((p) => p.href).join(', ')}`
      : 'outgoing calls are disabled on this server';
  throw new S3BatchError(
    'InvalidRequest',
    `${where} ${shownUrl(url)} is not a URL this server may call (${allowed}; see --function-urls)`,
  );
}
