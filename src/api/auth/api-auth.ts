/**
 * Who calls the JSON API (`/api/v1`): resolves a request to the account it acts for.
 * (Interim: the x-amz-account-id header or the default account, as before; the session cookie,
 * SigV4 and Basic authentication replace it.)
 */
import type { FastifyRequest } from 'fastify';
import { S3BatchError } from '../../domain/errors.ts';

/** The account a JSON API request acts for; rejects (401/403) when the caller is not authenticated. */
export type AccountOf = (req: FastifyRequest) => Promise<string>;

export function headerAccountOf(defaultAccountId: string): AccountOf {
  return async (req) => {
    const h = req.headers['x-amz-account-id'];
    const v = Array.isArray(h) ? h[0] : h;
    if (v === undefined || v === '') return defaultAccountId;
    if (!/^\d{12}$/.test(v)) throw new S3BatchError('InvalidRequest', 'x-amz-account-id must be a 12-digit account id');
    return v;
  };
}
