/** ListJobs' one page-size rule (src/domain/list-page.ts), shared by both APIs and the service. */
import { describe, expect, it } from 'vitest';
import { S3BatchError } from '../../src/domain/errors.ts';
import { pageSize, parseMaxResults } from '../../src/domain/list-page.ts';

function refusal(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('parseMaxResults (a query parameter)', () => {
  it('absent stays absent; digits from 0 to 1000 are the number', () => {
    expect(parseMaxResults(undefined)).toBeUndefined();
    expect(parseMaxResults('0')).toBe(0);
    expect(parseMaxResults('10')).toBe(10);
    expect(parseMaxResults('1000')).toBe(1000);
  });

  it.each(['', 'ten', '-1', '1.5', '1e3', ' 5', '1001', '99999999999999999999'])(
    'refuses %j with InvalidRequestException',
    (text) => {
      const err = refusal(() => parseMaxResults(text));
      expect(err).toBeInstanceOf(S3BatchError);
      expect(err).toMatchObject({ code: 'InvalidRequestException' });
      expect((err as Error).message).toBe('maxResults must be an integer from 0 to 1000');
    },
  );
});

describe('pageSize (a number)', () => {
  it('absent and 0 are the default page of 1000; 1 to 1000 are themselves', () => {
    expect(pageSize(undefined)).toBe(1000);
    expect(pageSize(0)).toBe(1000);
    expect(pageSize(1)).toBe(1);
    expect(pageSize(1000)).toBe(1000);
  });

  it.each([-1, 1.5, 1001, Number.NaN])('refuses %s with InvalidRequestException', (n) => {
    expect(refusal(() => pageSize(n))).toMatchObject({ code: 'InvalidRequestException' });
  });
});
