/**
 * Which HTTP functions jobs may call. A LambdaInvoke job with a URL as FunctionArn makes the
 * server POST object lists to that URL, so an operator can restrict it (`--function-urls`,
 * S3BATCH_FUNCTION_URLS): a comma-separated list of allowed URL prefixes, or `none`. A URL is
 * allowed when it has the same origin (scheme, host, port) as a prefix and its path starts with
 * the prefix's path — `http://fn.internal` does not allow `http://fn.internal.evil.example`.
 * Without the setting every http(s) URL is allowed. Pure.
 */
import { S3BatchError } from '../../domain/errors.ts';
import { shownUrl } from '../../domain/field-checks.ts';

export type FunctionUrlPolicy =
  | { readonly kind: 'any' }
  | { readonly kind: 'none' }
  | { readonly kind: 'prefixes'; readonly prefixes: readonly URL[] };

/** Parses the setting; throws InvalidConfiguration naming a bad entry. */
export function parseFunctionUrlPolicy(setting: string | undefined): FunctionUrlPolicy {
  if (setting === undefined || setting.trim() === '') return { kind: 'any' };
  if (setting.trim().toLowerCase() === 'none') return { kind: 'none' };
  const prefixes = setting
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      let u: URL | undefined;
      try {
        u = new URL(s);
      } catch {
        u = undefined;
      }
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || u.search || u.hash) {
        throw new S3BatchError(
          'InvalidConfiguration',
          `Invalid --function-urls / S3BATCH_FUNCTION_URLS entry ${JSON.stringify(s)}: expected an http:// or https:// URL prefix without credentials, query or fragment`,
        );
      }
      return u;
    });
  return { kind: 'prefixes', prefixes };
}

/** `url` may come parsed already (the HTTP invoker checks the URL it is about to call). */
export function isFunctionUrlAllowed(policy: FunctionUrlPolicy, url: string | URL): boolean {
  if (policy.kind === 'any') return true;
  if (policy.kind === 'none') return false;
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return false;
  }
  return policy.prefixes.some((p) => p.origin === u.origin && u.pathname.startsWith(p.pathname));
}

/** The CreateJob check: an HTTP function outside the policy is InvalidRequest. */
export function checkFunctionUrl(policy: FunctionUrlPolicy, url: string): void {
  checkUrlPolicy(policy, url, {
    subject: 'LambdaInvoke.FunctionArn',
    what: 'an HTTP function',
    disabled: 'HTTP functions are disabled on this server',
  });
}

/**
 * Throws InvalidRequest `<subject> <url> is not <what> this server may call (<allowed>; see
 * --function-urls)` unless the policy allows `url`, which is shown without query or credentials
 * (they may carry secrets); an unparseable URL is refused as well, never a TypeError.
 */
export function checkUrlPolicy(
  policy: FunctionUrlPolicy,
  url: string,
  refusal: { readonly subject: string; readonly what: string; readonly disabled: string },
): void {
  if (isFunctionUrlAllowed(policy, url)) return;
  const allowed =
    policy.kind === 'prefixes' ? `allowed: ${policy.prefixes.map((p) => p.href).join(', ')}` : refusal.disabled;
  throw new S3BatchError(
    'InvalidRequest',
    `${refusal.subject} ${shownUrl(url)} is not ${refusal.what} this server may call (${allowed}; see --function-urls)`,
  );
}
