/**
 * `--trust-proxy` on the real `s3batch serve` process (--local): without it, X-Forwarded-For and
 * X-Forwarded-Proto sent by a client are ignored (a forged address does not escape the failed
 * sign-in limit; a forged https does not make the session cookie Secure); with the proxy's
 * address (127.0.0.1, where these requests come from) both are believed: each forwarded client
 * address has its own limit and a forwarded https sets Secure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const running: ServerProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.kill('SIGTERM')));
});

async function serve(args: readonly string[] = []): Promise<ServerProcess> {
  const server = await startServerProcess({ args });
  running.push(server);
  return server;
}

function signIn(
  server: ServerProcess,
  secretAccessKey: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ accessKeyId: TEST_API_KEY.accessKeyId, secretAccessKey }),
  });
}

/** 10 wrong secrets from `forwardedFor` (each 403), the limit of the failed sign-in window. */
async function failTenTimes(server: ServerProcess, forwardedFor: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const a = await signIn(server, `wrong-secret-${i}-00000000000000`, { 'x-forwarded-for': forwardedFor });
    expect(a.status, await a.text()).toBe(403);
  }
}

describe('without --trust-proxy (default)', () => {
  it('a forged X-Forwarded-For does not escape the failed sign-in limit, and x-forwarded-proto: https does not make the cookie Secure', async () => {
    const server = await serve();
    const login = await signIn(server, TEST_API_KEY.secretAccessKey, { 'x-forwarded-proto': 'https' });
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(/^s3batch_session=/);
    expect(login.headers.get('set-cookie')).not.toMatch(/Secure/);

    await failTenTimes(server, '203.0.113.1');
    // Another forged address: still the same client (127.0.0.1), so still limited.
    const limited = await signIn(server, TEST_API_KEY.secretAccessKey, { 'x-forwarded-for': '198.51.100.7' });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('TooManyRequestsException');
    // The server said once that X-Forwarded-For came without --trust-proxy.
    const warnings = server
      .stdout()
      .split('\n')
      .filter((l) => l.includes('X-Forwarded-For but --trust-proxy'));
    expect(warnings).toHaveLength(1);
  });
});

describe('--trust-proxy 127.0.0.1', () => {
  it('each X-Forwarded-For client has its own sign-in limit, and x-forwarded-proto: https makes the cookie Secure', async () => {
    const server = await serve(['--trust-proxy', '127.0.0.1']);
    const login = await signIn(server, TEST_API_KEY.secretAccessKey, { 'x-forwarded-proto': 'https' });
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(/; Secure$/);
    const plain = await signIn(server, TEST_API_KEY.secretAccessKey, { 'x-forwarded-proto': 'http' });
    expect(plain.headers.get('set-cookie')).not.toMatch(/Secure/);

    await failTenTimes(server, '203.0.113.1');
    const limited = await signIn(server, TEST_API_KEY.secretAccessKey, { 'x-forwarded-for': '203.0.113.1' });
    expect(limited.status).toBe(429);
    // Another client behind the same proxy is not locked out.
    const other = await signIn(server, TEST_API_KEY.secretAccessKey, { 'x-forwarded-for': '198.51.100.7' });
    expect(other.status, await other.text()).toBe(200);
    expect(server.stdout()).not.toContain('X-Forwarded-For but --trust-proxy');
  });

  it('serve refuses to start with a hop count (this fastify ignores hop counts) or a bad address', async () => {
    await expect(serve(['--trust-proxy', '1'])).rejects.toThrow(
      /Invalid trustProxy \(flag\) \/ S3BATCH_TRUST_PROXY.*hop counts are not supported/,
    );
    await expect(serve(['--trust-proxy', '10.0.0.0/33'])).rejects.toThrow(/Invalid trustProxy/);
  });
});
