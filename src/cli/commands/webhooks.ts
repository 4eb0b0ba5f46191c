/**
 * `s3batch webhooks`: the account's webhooks and signing secret (docs/notifications.md#account-api),
 * over `/api/v1/notifications`: `show` them, `set` the list, `clear` it, `rotate-secret`.
 */
import type { Command } from 'commander';
import { usageError } from '../cli-errors.ts';
import type { Connection } from '../connection.ts';
import { toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';
import { apiError } from './report.ts';

interface Settings {
  Webhooks: { Url: string; Events: string[] }[];
  Secret: string | null;
}

async function call<T>(conn: Connection, method: string, path: string, body?: unknown): Promise<T | undefined> {
  const res = await conn.signedFetch(`/api/v1${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw await apiError(res, `${method} /api/v1${path}`);
  return res.status === 204 ? undefined : ((await res.json()) as T);
}

function settingsText(s: Settings): string {
  const lines =
    s.Webhooks.length === 0 ? ['No account webhooks.'] : s.Webhooks.map((w) => `${w.Url}  (${w.Events.join(', ')})`);
  lines.push(`Signing secret: ${s.Secret ?? '(none yet: made with the first webhook)'}`);
  return lines.join('\n');
}

export function registerWebhooks(program: Command, env: NodeJS.ProcessEnv): void {
  const root = program
    .command('webhooks')
    .description("The account's webhooks and signing secret: show, set, clear, rotate-secret")
    .addHelpText(
      'after',
      '\nExamples:\n  $ s3batch webhooks show\n  $ s3batch webhooks set https://hooks.example.com/s3batch --events end\n  $ s3batch webhooks clear\n',
    );
  const show = root.command('show').description("Show the account's webhooks and the secret that signs every delivery");
  jobVerb(show, [['s3batch webhooks show', 'each webhook with its events, then the signing secret']]);
  show.action(async (opts: { json?: boolean } & Record<string, unknown>) => {
    await withConnection(opts, env, async (conn) => {
      const s = (await call<Settings>(conn, 'GET', '/notifications')) as Settings;
      print(opts.json === true ? toJson(s) : settingsText(s));
    });
  });

  const set = root
    .command('set')
    .argument('<url...>', 'webhook URLs (up to 10), allowed by the server (--function-urls)')
    .option('--events <list>', 'status, end or status,end (default both)')
    .description("Replace the account's webhooks");
  jobVerb(set, [['s3batch webhooks set https://a.example.com/h https://b.example.com/h', 'two webhooks']]);
  set.action(async (urls: string[], opts: { events?: string; json?: boolean } & Record<string, unknown>) => {
    const events = opts.events?.split(',').map((e) => e.trim());
    if (events?.some((e) => e === '')) throw usageError('--events takes status, end or status,end');
    await withConnection(opts, env, async (conn) => {
      const body = { Webhooks: urls.map((Url) => ({ Url, ...(events ? { Events: events } : {}) })) };
      const s = (await call<Settings>(conn, 'PUT', '/notifications', body)) as Settings;
      print(opts.json === true ? toJson(s) : settingsText(s));
    });
  });

  const clear = root.command('clear').description("Remove the account's webhooks (the secret stays)");
  jobVerb(clear, [['s3batch webhooks clear', 'no account webhooks']], false);
  clear.action(async (opts: Record<string, unknown>) => {
    await withConnection(opts, env, async (conn) => {
      await call(conn, 'DELETE', '/notifications');
      print('No account webhooks.');
    });
  });

  const rotate = root.command('rotate-secret').description('Replace the signing secret (prints the new one)');
  jobVerb(rotate, [['s3batch webhooks rotate-secret', 'deliveries from now on are signed with the new secret']], false);
  rotate.action(async (opts: Record<string, unknown>) => {
    await withConnection(opts, env, async (conn) => {
      const out = (await call<{ Secret: string }>(conn, 'POST', '/notifications/secret')) as { Secret: string };
      print(out.Secret);
    });
  });
}
