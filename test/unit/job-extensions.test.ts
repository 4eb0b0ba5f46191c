import { describe, expect, it } from 'vitest';
import { EXTENSION_TAG_KEYS, parseJobExtensions } from '../../src/domain/job-extensions.ts';

const tag = (Key: string, Value: string) => ({ Key, Value });

describe('parseJobExtensions', () => {
  it('defaults: no dry run, no limits', () => {
    expect(parseJobExtensions(undefined)).toEqual({ dryRun: false });
    expect(parseJobExtensions([tag('team', 'data')])).toEqual({ dryRun: false });
  });

  it('reads every reserved key', () => {
    const ext = parseJobExtensions([
      tag('s3batch:dry-run', 'true'),
      tag('s3batch:max-concurrent-tasks', '8'),
      tag('s3batch:max-requests-per-second', '100'),
      tag('s3batch:generator-key-regex', '^logs/\\d{4}/'),
      tag('s3batch:generator-max-objects', '500'),
      tag('owner', 'me'),
    ]);
    expect(ext).toEqual({ dryRun: true, maxConcurrentTasks: 8, maxRequestsPerSecond: 100, generatorKeyRegex: '^logs/\\d{4}/', generatorMaxObjects: 500 });
    expect(EXTENSION_TAG_KEYS).toContain('s3batch:dry-run');
  });

  it.each([
    [tag('s3batch:dry-run', 'yes'), /"true" or "false"/],
    [tag('s3batch:max-concurrent-tasks', '0'), /whole number from 1/],
    [tag('s3batch:max-concurrent-tasks', '2.5'), /whole number/],
    [tag('s3batch:max-requests-per-second', '-1'), /whole number/],
    [tag('s3batch:generator-key-regex', '('), /not a valid regular expression/],
    [tag('s3batch:generator-key-regex', 'x'.repeat(257)), /1 to 256 characters/],
    [tag('s3batch:dryrun', 'true'), /Unknown s3batch extension tag s3batch:dryrun/],
  ])('refuses %o', (t, message) => {
    expect(() => parseJobExtensions([t])).toThrow(message);
    try {
      parseJobExtensions([t]);
    } catch (err) {
      expect((err as { code: string }).code).toBe('InvalidRequest');
    }
  });
});
