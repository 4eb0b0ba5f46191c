import { describe, expect, it } from 'vitest';
import {
  checkFunctionUrl,
  isFunctionUrlAllowed,
  parseFunctionUrlPolicy,
} from '../../src/operations/lambda/function-url-policy.ts';

describe('function URL policy', () => {
  it('allows every URL without the setting, none with "none"', () => {
    expect(isFunctionUrlAllowed(parseFunctionUrlPolicy(undefined), 'http://10.0.0.1/x')).toBe(true);
    expect(isFunctionUrlAllowed(parseFunctionUrlPolicy('none'), 'http://10.0.0.1/x')).toBe(false);
  });

  it.each([
    ['https://fn.internal/hooks/index', true],
    ['https://fn.internal/hooks/', true],
    ['https://fn.internal/other', false],
    ['http://fn.internal/hooks/index', false], // another scheme
    ['https://fn.internal:8443/hooks/index', false], // another port
    ['https://fn.internal.evil.example/hooks/index', false], // another host that starts alike
    ['http://127.0.0.1:9000/anything', true],
    ['not a url', false],
  ])('prefixes: %s → %s', (url, allowed) => {
    const policy = parseFunctionUrlPolicy('https://fn.internal/hooks/, http://127.0.0.1:9000');
    expect(isFunctionUrlAllowed(policy, url)).toBe(allowed);
  });

  it('a refused URL is InvalidRequest naming the allowed prefixes, without the query', () => {
    const policy = parseFunctionUrlPolicy('https://fn.internal/hooks/');
    let err: unknown;
    try {
      checkFunctionUrl(policy, 'https://elsewhere.example/f?token=secret');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'InvalidRequest' });
    expect((err as Error).message).toMatch(
      /https:\/\/elsewhere.example\/f is not an HTTP function.*allowed: https:\/\/fn.internal\/hooks\//,
    );
    expect((err as Error).message).not.toMatch(/secret/);
  });

  it.each(['ftp://x', 'http://user:pw@x/', 'http://x/?q=1', 'nope'])('refuses the setting entry %s', (entry) => {
    expect(() => parseFunctionUrlPolicy(entry)).toThrow(/Invalid --function-urls/);
  });
});

describe('checkFunctionUrl on a URL that does not parse', () => {
  it('is InvalidRequest, not a TypeError', () => {
    const policy = parseFunctionUrlPolicy('https://fn.internal/hooks/');
    expect(() => checkFunctionUrl(policy, 'http://')).toThrow(expect.objectContaining({ code: 'InvalidRequest' }));
  });
});
