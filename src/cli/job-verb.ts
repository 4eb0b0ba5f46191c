/**
 * What every job verb shares: its connection flags, `--json`, an Examples section in `--help`,
 * and running its body with a connection that is closed afterwards.
 */
import type { Command } from 'commander';
import { addConnectionOptions, connect, connectionFlags, type Connection } from './connection.ts';

/** One example: the command line (without the leading `$ `) and what it does. */
export type Example = readonly [command: string, what: string];

/** The text commander prints after the options: `Examples:` and one entry per example. */
function examplesText(examples: readonly Example[]): string {
  return `\nExamples:\n${examples.map(([cmd, what]) => `  $ ${cmd}\n      ${what}`).join('\n')}\n`;
}

/**
 * Finishes a verb's definition: connection options (under their heading), `--json` when asked
 * for, and the examples.
 */
export function jobVerb(
  cmd: Command,
  examples: readonly Example[],
  json: string | false = 'print the answer as JSON (the SDK output without $metadata)',
): Command {
  if (json !== false) cmd.option('--json', json);
  addConnectionOptions(cmd);
  return cmd.addHelpText('after', examplesText(examples));
}

/** Runs `body` with a connection made from the verb's options and `env`; closes it afterwards. */
export async function withConnection<T>(
  opts: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  body: (conn: Connection) => Promise<T>,
): Promise<T> {
  const conn = await connect(connectionFlags(opts), env);
  try {
    return await body(conn);
  } finally {
    conn.close();
  }
}

/** Writes text to stdout. */
export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
