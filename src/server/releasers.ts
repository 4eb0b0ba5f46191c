/**
 * One cleanup path for a group of resources, after graphile-worker's `withReleasers` (src/lib.ts).
 *
 * Each resource registers its release right after it is created. `release()` runs them once, in
 * reverse order of registration: what was made last (and may use what came before it) goes
 * first. A release that throws does not stop the others; their errors are thrown together at the
 * end (the one error as it is, several as an AggregateError).
 *
 * A start that fails part-way and a later `close()` thus release the same things the same way:
 * whatever was created so far, nothing that was not.
 */

export type Release = () => void | Promise<void>;

export class Releasers {
  private readonly entries: { readonly name: string; readonly release: Release }[] = [];
  private releasing: Promise<void> | undefined;

  /** Registers the release of a resource just created; `name` says which in an error. */
  add(name: string, release: Release): void {
    // A resource made after release() began would never be released: a bug in the caller.
    if (this.releasing) throw new Error(`Releasers: ${name} was registered after release() began`);
    this.entries.push({ name, release });
  }

  /** Runs every release once, the last registered first. Later calls return the same promise. */
  release(): Promise<void> {
    this.releasing ??= this.run();
    return this.releasing;
  }

  private async run(): Promise<void> {
    const failed: { name: string; error: unknown }[] = [];
    for (const { name, release } of this.entries.splice(0).reverse()) {
      try {
        await release();
      } catch (error) {
        failed.push({ name, error });
      }
    }
    if (failed.length === 1) throw failed[0]!.error;
    if (failed.length > 1) {
      throw new AggregateError(
        failed.map((f) => f.error),
        `${failed.length} releases failed: ${failed.map((f) => f.name).join(', ')}`,
      );
    }
  }
}

/**
 * Runs `build` with fresh Releasers. When it throws, everything registered so far is released and
 * the build's error is rethrown (a release's own error goes to `onReleaseError`: the cause the
 * caller must see is why the build failed). When it succeeds, the releasers belong to what it built,
 * which calls `release()` to close.
 */
export async function withReleasers<T>(
  build: (releasers: Releasers) => Promise<T>,
  onReleaseError: (error: unknown) => void = () => {},
): Promise<T> {
  const releasers = new Releasers();
  try {
    return await build(releasers);
  } catch (error) {
    await releasers.release().catch(onReleaseError);
    throw error;
  }
}
