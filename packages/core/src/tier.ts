/**
 * The contract between {@link CacheManager} and a storage tier (L1 memory, L2 Redis, or
 * your own). Core knows nothing else about a tier: `@tiercache/l1` and `@tiercache/redis`
 * implement this interface structurally and do not depend on this package.
 *
 * Every method may answer synchronously or with a promise. The memory tier answers
 * synchronously so that an L1 hit costs no extra microtask; a network tier returns promises.
 */
export type MaybePromise<T> = T | Promise<T>;

/** One key's answer in {@link CacheTier.getMany}. */
export type TierReadResult =
  | { readonly hit: true; readonly value: unknown }
  | { readonly hit: false; readonly error?: Error };

export interface CacheTier {
  /** Short name used in events and metrics labels, e.g. `'l1'` or `'l2'`. */
  readonly name: string;
  /**
   * The stored value, or `undefined` on a miss. `null`, `0`, `''` and `false` are values
   * (hits). A tier never stores `undefined`. Throws a typed error when the tier cannot
   * answer (connection down, timeout, open circuit, corrupt payload): the caller decides
   * whether that is fatal — {@link CacheManager} treats it as a counted miss.
   */
  get(key: string): MaybePromise<unknown>;
  /**
   * Reads several keys at once, in order. Per-key failures (a corrupt payload) come back as
   * `{ hit: false, error }`; a failure of the whole call (tier down) throws.
   */
  getMany(keys: readonly string[]): MaybePromise<TierReadResult[]>;
  /** Stores `value` for `ttlMs` milliseconds (a positive integer). `undefined` is rejected. */
  set(key: string, value: unknown, ttlMs: number): MaybePromise<void>;
  /** Removes the key; resolves to whether it existed (a tier that cannot tell says `true`). */
  delete(key: string): MaybePromise<boolean>;
  /** Removes every key this tier owns (only its own prefix on a shared Redis). */
  clear(): MaybePromise<void>;
  /**
   * Optional, for an in-process tier: the keys it holds, so that `invalidatePattern` (and a
   * `pattern` bus message) drops only the matching entries. A tier without it is cleared
   * entirely instead.
   */
  keys?(): Iterable<string>;
  /**
   * Optional, for a shared tier: deletes every key matching the Redis glob `pattern` (relative
   * to the tier's own prefix) and resolves to how many it deleted. Needed by
   * `CacheManager.invalidatePattern` on the L2.
   */
  deleteMatching?(pattern: string): MaybePromise<number>;
}
