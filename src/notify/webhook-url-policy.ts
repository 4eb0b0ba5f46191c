/**
 * Which URLs webhooks may call: the same operator policy as HTTP functions (`--function-urls`,
 * operations/lambda/function-url-policy.ts), since both make the server POST to a URL a user
 * chose. A URL outside it is refused with InvalidRequest when it is given (CreateJob's
 * `s3batch:notify` tag, PUT /api/v1/notifications) and is not called if the policy changed since.
 */
import { checkUrlPolicy, type FunctionUrlPolicy } from '../operations/lambda/function-url-policy.ts';

/** Throws InvalidRequest naming `where` when the policy does not allow `url`. */
export function checkWebhookUrl(policy: FunctionUrlPolicy, url: string, where: string): void {
  checkUrlPolicy(policy, url, {
    subject: where,
    what: 'a URL',
    disabled: 'outgoing calls are disabled on this server',
  });
}
