import { describe, expect, it } from 'vitest';
import { Releasers, withReleasers } from '../../src/server/releasers.ts';

describe('Releasers', () => {
  it('runs the releases once, the last registered first, awaiting each', async () => {
    const releasers = new Releasers();
    const order: string[] = [];
    releasers.add('a', () => void order.push('a'));
    releasers.add('b', async () => {
      await new Promise((r) => setImmediate(r));
      order.push('b');
    });
    releasers.add('c', () => void order.push('c'));
    const first = releasers.release();
    const second = releasers.release();
    expect(second).toBe(first);
    await first;
    await releasers.release();
    expect(order).toEqual(['c', 'b', 'a']);
  });

  it('runs every release when one throws, then throws that error as it is', async () => {
    const releasers = new Releasers();
    const order: string[] = [];
    const boom = new Error('boom');
    releasers.add('a', () => void order.push('a'));
    releasers.add('b', () => {
      throw boom;
    });
    releasers.add('c', () => void order.push('c'));
    await expect(releasers.release()).rejects.toBe(boom);
    expect(order).toEqual(['c', 'a']);
  });

  it('collects several errors into an AggregateError naming the releases', async () => {
    const releasers = new Releasers();
    const e1 = new Error('one');
    const e2 = new Error('two');
    releasers.add('store', () => Promise.reject(e1));
    releasers.add('ok', () => {});
    releasers.add('app', () => {
      throw e2;
    });
    const err = await releasers.release().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors).toEqual([e2, e1]);
    expect((err as AggregateError).message).toBe('2 releases failed: app, store');
  });

  it('refuses a registration after release() began', async () => {
    const releasers = new Releasers();
    await releasers.release();
    expect(() => releasers.add('late', () => {})).toThrow(/late was registered after release\(\) began/);
  });
});

describe('withReleasers', () => {
  it('leaves the releases to the caller when the build succeeds', async () => {
    const order: string[] = [];
    const built = await withReleasers(async (releasers) => {
      releasers.add('a', () => void order.push('a'));
      return { close: () => releasers.release() };
    });
    expect(order).toEqual([]);
    await built.close();
    expect(order).toEqual(['a']);
  });

  it('releases what was registered so far when the build throws, and rethrows its error', async () => {
    const order: string[] = [];
    const failure = new Error('listen failed');
    await expect(
      withReleasers(async (releasers) => {
        releasers.add('a', () => void order.push('a'));
        releasers.add('b', () => void order.push('b'));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(order).toEqual(['b', 'a']);
  });

  it("rethrows the build's error, not a release's; the release's goes to onReleaseError", async () => {
    const failure = new Error('early throw');
    const releaseError = new Error('stop failed');
    const reported: unknown[] = [];
    let released = false;
    await expect(
      withReleasers(
        async (releasers) => {
          releasers.add('a', () => {
            released = true;
          });
          releasers.add('b', () => {
            throw releaseError;
          });
          throw failure;
        },
        (e) => reported.push(e),
      ),
    ).rejects.toBe(failure);
    expect(released).toBe(true);
    expect(reported).toEqual([releaseError]);
  });
});
