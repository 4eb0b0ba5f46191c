/**
 * Waiting for a state instead of sleeping a fixed time: polls a condition until it holds, and
 * fails naming what it waited for when it does not hold in time.
 */

/**
 * Resolves once `cond()` is true (checked every `everyMs`; it may be async, e.g. an API call); rejects
 * after `timeoutMs` naming `what`.
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 10_000, everyMs = 2 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
