/** `s3batch get-job-tagging | put-job-tagging | delete-job-tagging <id>`: the job's own tags. */
import { readFile } from 'node:fs/promises';
import type { S3Tag } from '@aws-sdk/client-s3-control';
import type { Command } from 'commander';
import { parseTagArg } from '../args.ts';
import { fileErrorText, usageError } from '../cli-errors.ts';
import { tagsTable, toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';

/**
 * A tags file: `{"Tags":[{"Key","Value"}]}` (what get-job-tagging --json prints) or the list alone,
 * or `{"key":"value",…}`.
 */
function parseTagsFile(text: string, path: string): S3Tag[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usageError(`tags file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc)
    ? doc
    : typeof doc === 'object' && doc !== null && Array.isArray((doc as { Tags?: unknown }).Tags)
      ? (doc as { Tags: unknown[] }).Tags
      : undefined;
  if (list !== undefined) {
    return list.map((t, i) => {
      const tag = t as { Key?: unknown; Value?: unknown };
      if (
        typeof tag !== 'object' ||
        tag === null ||
        typeof tag.Key !== 'string' ||
        tag.Key === '' ||
        (tag.Value !== undefined && typeof tag.Value !== 'string')
      ) {
        throw usageError(`tags file ${path}: entry ${i} must be {"Key": "…", "Value": "…"}`);
      }
      return { Key: tag.Key, Value: tag.Value ?? '' };
    });
  }
  if (typeof doc === 'object' && doc !== null) {
    return Object.entries(doc).map(([Key, Value]) => {
      if (typeof Value !== 'string')
        throw usageError(`tags file ${path}: the value of ${JSON.stringify(Key)} must be a string`);
      return { Key, Value };
    });
  }
  throw usageError(
    `tags file ${path} must hold {"Tags":[{"Key","Value"}]}, a list of {"Key","Value"} or {"key":"value"}`,
  );
}

export function registerJobTagging(program: Command, env: NodeJS.ProcessEnv): void {
  const get = program.command('get-job-tagging').argument('<job-id>', 'the job').description("Show a job's tags");
  jobVerb(get, [
    ['s3batch get-job-tagging "$JOB"', 'a KEY VALUE table'],
    ['s3batch get-job-tagging "$JOB" --json > tags.json', 'save them (put-job-tagging --tags-file reads this back)'],
  ]);
  get.action(async (jobId: string, opts: { json?: boolean } & Record<string, unknown>) => {
    await withConnection(opts, env, async (conn) => {
      const out = await conn.send(new conn.sdk.GetJobTaggingCommand({ AccountId: conn.accountId, JobId: jobId }));
      print(opts.json === true ? toJson(out) : tagsTable(out.Tags ?? []));
    });
  });

  const put = program
    .command('put-job-tagging')
    .argument('<job-id>', 'the job')
    .argument('[tags...]', "Key=Value pairs (the aws CLI's Key=k,Value=v works too)")
    .option(
      '--tags-file <file>',
      'the tags as JSON: {"Tags":[{"Key","Value"}]} (get-job-tagging --json), a list, or {"key":"value"}',
    )
    .description("Replace a job's tags with these (at most 50)");
  jobVerb(put, [
    ['s3batch put-job-tagging "$JOB" team=storage ticket=OPS-42', 'set two tags (the old ones are dropped)'],
    ['s3batch put-job-tagging "$JOB" --tags-file tags.json', 'set the tags a file lists'],
  ]);
  put.action(
    async (jobId: string, args: string[], opts: { tagsFile?: string; json?: boolean } & Record<string, unknown>) => {
      const tags = args.map((a) => parseTagArg(a));
      if (opts.tagsFile !== undefined) {
        let text: string;
        try {
          text = await readFile(opts.tagsFile, 'utf8');
        } catch (err) {
          throw usageError(`cannot read the tags file ${opts.tagsFile}: ${fileErrorText(err)}`);
        }
        tags.push(...parseTagsFile(text, opts.tagsFile));
      }
      if (tags.length === 0)
        throw usageError(
          'give tags as Key=Value arguments or --tags-file (to remove all tags: s3batch delete-job-tagging <id>)',
        );
      await withConnection(opts, env, async (conn) => {
        const out = await conn.send(
          new conn.sdk.PutJobTaggingCommand({ AccountId: conn.accountId, JobId: jobId, Tags: tags }),
        );
        print(opts.json === true ? toJson(out) : `${jobId}  ${tags.length} tag${tags.length === 1 ? '' : 's'} set`);
      });
    },
  );

  const del = program
    .command('delete-job-tagging')
    .argument('<job-id>', 'the job')
    .description("Remove all of a job's tags");
  jobVerb(del, [['s3batch delete-job-tagging "$JOB"', 'the job has no tags afterwards']]);
  del.action(async (jobId: string, opts: { json?: boolean } & Record<string, unknown>) => {
    await withConnection(opts, env, async (conn) => {
      const out = await conn.send(new conn.sdk.DeleteJobTaggingCommand({ AccountId: conn.accountId, JobId: jobId }));
      print(opts.json === true ? toJson(out) : `${jobId}  tags deleted`);
    });
  });
}
