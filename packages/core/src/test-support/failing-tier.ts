import type { CacheTier, TierReadResult } from '../tier.js';

/** A typed tier failure, like `@tiercache/redis`'s `L2UnavailableError`. */
export class FakeTierError extends Error {
  readonly code = 'E_FAKE_TIER';
  override readonly name = 'FakeTierError';
}

/**
 * A tier that fails every call: `mode: 'throw'` throws synchronously, `'reject'` returns a
 * rejected promise. Test-only.
 */
export class FailingTier implements CacheTier {
  calls = 0;

  constructor(
    readonly name: string,
    private readonly mode: 'throw' | 'reject',
  ) {}

  get(key: string): Promise<unknown> {
    return this.fail(`get ${key}`);
  }

  getMany(keys: readonly string[]): Promise<TierReadResult[]> {
    return this.fail(`getMany ${keys.length}`);
  }

  set(key: string): Promise<void> {
    return this.fail(`set ${key}`);
  }

  delete(key: string): Promise<boolean> {
    return this.fail(`delete ${key}`);
  }

  clear(): Promise<void> {
    return this.fail('clear');
  }

  private fail(what: string): Promise<never> {
    this.calls++;
    const error = new FakeTierError(`tier down: ${what}`);
    if (this.mode === 'throw') throw error;
    return Promise.reject(error);
  }
}
