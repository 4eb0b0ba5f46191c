/**
 * Error messages that repeat no internals and no long input, on the real `s3batch serve` process
 * (--local): an unclosed XML body to the S3 Control API is MalformedXML in plain words (not
 * fast-xml-parser's `Invalid '[ "CreateJobRequest", "Manifest", "Spec"]' found`), and a 404 on
 * either API repeats at most 200 characters of a 15 KB path. And a CreateJob with more than 100
 * ACL grants (AWS's limit) is refused with InvalidRequest naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../helpers/json-api.ts';
import { errorCode, rawRequest } from '../helpers/s3control.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const ACCOUNT = TEST_API_KEY.accountId;
/** A path of about 15 KB in short segments (under the 100-character segment limit, under 16 KiB of headers). */
const LONG_TAIL = 'segment-0/'.repeat(1500);
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess();
});

afterAll(async () => {
  await server?.kill('SIGTERM');
});

const messageOf = (xml: string): string | undefined => /<Message>([^<]*)<\/Message>/.exec(xml)?.[1];

describe('an unclosed XML body to the S3 Control API', () => {
  const send = (body: string) =>
    rawRequest(server.url, {
      method: 'POST',
      path: '/v20180820/jobs',
      account: ACCOUNT,
      body,
      contentType: 'application/xml',
      key: TEST_API_KEY,
    });

  it('with several elements open is MalformedXML naming the innermost one', async () => {
    const res = await send('<CreateJobRequest><Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format>');
    expect(res.status, res.body).toBe(400);
    expect(errorCode(res.body)).toBe('MalformedXML');
    expect(messageOf(res.body)).toBe('The XML is not well-formed: element &lt;Spec&gt; is not closed.');
    expect(res.body).not.toContain('[');
  });

  it('with one element open, or a wrong end tag, names the element and its position', async () => {
    const one = await send('<CreateJobRequest><Priority>1</Priority>');
    expect(one.status, one.body).toBe(400);
    expect(errorCode(one.body)).toBe('MalformedXML');
    expect(messageOf(one.body)).toBe(
      'The XML is not well-formed: element &lt;CreateJobRequest&gt; is not closed (line 1, column 1).',
    );
    const wrong = await send('<CreateJobRequest><Priority>1</RoleArn></CreateJobRequest>');
    expect(wrong.status, wrong.body).toBe(400);
    expect(errorCode(wrong.body)).toBe('MalformedXML');
    expect(messageOf(wrong.body)).toBe(
      'The XML is not well-formed: element &lt;Priority&gt; (opened at line 1, column 19) is closed by the end tag' +
        ' of &lt;RoleArn&gt; (line 1, column 30).',
    );
  });
});

describe('a 404 on a 15 KB path', () => {
  it('on the JSON API repeats at most 200 characters of the path', async () => {
    const path = `/api/v1/no-such-route/${LONG_TAIL}`;
    expect(path.length).toBeGreaterThan(15_000);
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: basicAuth(TEST_API_KEY) } });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(404);
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    expect(error.code).toBe('NotFound');
    expect(error.message).toBe(`No route for GET ${path.slice(0, 200)}…`);
    expect(text.length).toBeLessThan(400);
  });

  it('on the S3 Control API repeats at most 200 characters of the path', async () => {
    const path = `/v20180820/no-such-operation/${LONG_TAIL}`;
    const res = await rawRequest(server.url, { method: 'GET', path, account: ACCOUNT, key: TEST_API_KEY });
    expect(res.status, res.body.slice(0, 300)).toBe(404);
    expect(errorCode(res.body)).toBe('NotFound');
    expect(messageOf(res.body)).toBe(`No S3 Control operation at GET ${path.slice(0, 200)}…`);
    expect(res.body.length).toBeLessThan(600);
  });

  it('a short unknown path is still repeated whole', async () => {
    const res = await fetch(`${server.url}/api/v1/no-such-route?x=1`, {
      headers: { authorization: basicAuth(TEST_API_KEY) },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'No route for GET /api/v1/no-such-route',
    );
  });
});

describe('ACL grants in CreateJob (JSON API)', () => {
  const grants = (n: number, permission = 'READ') =>
    Array.from({ length: n }, (_, i) => ({
      Grantee: { TypeIdentifier: 'id', Identifier: `${'c'.repeat(60)}${String(i).padStart(4, '0')}` },
      Permission: permission,
    }));
  const create = (operation: Record<string, unknown>) =>
    fetch(`${server.url}/api/v1/jobs`, {
      method: 'POST',
      headers: { authorization: basicAuth(TEST_API_KEY), 'content-type': 'application/json' },
      body: JSON.stringify({
        Operation: operation,
        Manifest: {
          Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
          Location: { ObjectArn: 'arn:aws:s3:::s3batch-demo/no-such-manifest.csv', ETag: 'no-such-etag' },
        },
        Report: { Enabled: false },
        Priority: 10,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
        ConfirmationRequired: true,
        SkipAccessCheck: true, // no manifest: only the answer to CreateJob matters
      }),
    });
  const acl = (n: number) => ({
    S3PutObjectAcl: { AccessControlPolicy: { AccessControlList: { Owner: { ID: 'owner' }, Grants: grants(n) } } },
  });
  const copy = (n: number) => ({
    S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::s3batch-demo', AccessControlGrants: grants(n) },
  });

  it('101 grants are InvalidRequest naming the field; 100 are accepted', async () => {
    for (const [operation, field] of [
      [acl(101), 'S3PutObjectAcl.AccessControlPolicy.AccessControlList.Grants'],
      [copy(101), 'S3PutObjectCopy.AccessControlGrants'],
    ] as const) {
      const res = await create(operation);
      const text = await res.text();
      expect(res.status, text.slice(0, 300)).toBe(400);
      const { error } = JSON.parse(text) as { error: { code: string; message: string } };
      expect(error.code).toBe('InvalidRequest');
      expect(error.message).toBe(`${field} holds 101 grants; an ACL holds at most 100`);
    }
    for (const operation of [acl(100), copy(100)]) {
      const res = await create(operation);
      expect(res.status, await res.text()).toBe(201);
    }
  });
});
