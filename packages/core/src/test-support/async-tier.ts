import type { CacheTier, TierReadResult } from '../tier.js';

/**
 * Wraps a tier so that every method answers with a promise, like a network tier. With
 * `delayMs`, answers come after a `setTimeout` (drive it with fake timers). Test-only.
 */
export class AsyncTier implements CacheTier {
  readonly name: string;

  constructor(
    readonly inner: CacheTier,
    private readonly delayMs = 0,
  ) {
    this.name = inner.name;
  }

  get(key: string): Promise<unknown> {
    return this.later(() => this.inner.get(key));
  }

  getMany(keys: readonly string[]): Promise<TierReadResult[]> {
    return this.later(() => this.inner.getMany(keys));
  }

  set(key: string, value: unknown, ttlMs: number): Promise<void> {
    return this.later(() => this.inner.set(key, value, ttlMs));
  }

  delete(key: string): Promise<boolean> {
    return this.later(() => this.inner.delete(key));
  }

  clear(): Promise<void> {
    return this.later(() => this.inner.clear());
  }

  private later<R>(fn: () => R | Promise<R>): Promise<R> {
    if (this.delayMs === 0) return Promise.resolve().then(fn);
    return new Promise<R>((resolve, reject) => {
      setTimeout(() => {
        Promise.resolve().then(fn).then(resolve, reject);
      }, this.delayMs);
    });
  }
}
