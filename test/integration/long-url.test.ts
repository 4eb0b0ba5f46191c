/**
 * A URL with a path segment over the router's limit (a job id of 5,000 characters) on the real
 * `s3batch serve` process (--local): 414 UriTooLong with a short fixed message in both envelopes
 * (the JSON API's `{"error":{code,message,requestId}}`, the S3 Control API's ErrorResponse XML),
 * never the URL repeated back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../helpers/json-api.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const LONG_ID = 'a'.repeat(5000);
const MESSAGE = 'The request URL is longer than the server accepts (100 characters per path segment)';
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess();
});

afterAll(async () => {
  await server?.kill('SIGTERM');
});

describe('a 5,000-character job id', () => {
  it('on the JSON API is 414 UriTooLong with a short message', async () => {
    for (const p of [`/api/v1/jobs/${LONG_ID}`, `/api/v1/jobs/${LONG_ID}/events`, `/api/v1/jobs/${LONG_ID}/report`]) {
      const res = await fetch(`${server.url}${p}`, { headers: { authorization: basicAuth(TEST_API_KEY) } });
      const text = await res.text();
      expect(res.status, text.slice(0, 300)).toBe(414);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(text)).toEqual({
        error: { code: 'UriTooLong', message: MESSAGE, requestId: expect.stringMatching(/^[0-9A-F]{16}$/) },
      });
      expect(text).not.toContain('aaaaaaaaaa');
    }
  });

  it('on the S3 Control API is 414 UriTooLong in the ErrorResponse envelope with a short message', async () => {
    for (const p of [`/v20180820/jobs/${LONG_ID}`, `/v20180820/jobs/${LONG_ID}/tagging`]) {
      const res = await fetch(`${server.url}${p}`, { headers: { 'x-amz-account-id': TEST_API_KEY.accountId } });
      const text = await res.text();
      expect(res.status, text.slice(0, 300)).toBe(414);
      expect(res.headers.get('content-type')).toBe('application/xml');
      const requestId = res.headers.get('x-amz-request-id');
      expect(requestId).toMatch(/^[0-9A-F]{16}$/);
      expect(text).toMatch(
        new RegExp(
          `^<\\?xml version="1.0" encoding="UTF-8"\\?><ErrorResponse xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Error><Code>UriTooLong</Code><Message>${MESSAGE.replace(/[()]/g, '\\$&')}</Message></Error><RequestId>${requestId}</RequestId>`,
        ),
      );
      expect(text).not.toContain('aaaaaaaaaa');
      expect(text.length).toBeLessThan(500);
    }
  });

  it('a short unknown id still reaches its route (404 NotFoundException)', async () => {
    const json = await fetch(`${server.url}/api/v1/jobs/no-such-job-0001`, {
      headers: { authorization: basicAuth(TEST_API_KEY) },
    });
    expect(json.status).toBe(404);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe('NotFoundException');
  });
});
