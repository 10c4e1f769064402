import type { CacheTier, MaybePromise } from './tier.js';

/**
 * What one instance tells the others on an {@link InvalidationBus}: which keys, tags or
 * pattern it invalidated, or that it cleared everything. Never values.
 *
 * - `keys`: these keys were deleted or overwritten; drop them from L1.
 * - `tags`: these tags were invalidated and now have these versions (same order); L1 entries
 *   stamped with an older version of any of them are stale.
 * - `pattern`: keys matching this Redis glob were deleted; drop the matching L1 entries.
 * - `clear`: drop all of L1. A bus also delivers it to its own subscribers when it may have
 *   missed messages (after its subscriber connection came back).
 */
export type InvalidationMessage =
  | { readonly type: 'keys'; readonly keys: readonly string[] }
  | {
      readonly type: 'tags';
      readonly tags: readonly string[];
      readonly versions: readonly number[];
    }
  | { readonly type: 'pattern'; readonly pattern: string }
  | { readonly type: 'clear' };

/**
 * Carries invalidations between the instances that share an L2, so each drops what another
 * invalidated from its own L1. `@tiercache/invalidation`'s `redisBus()` implements it over
 * Redis pub/sub.
 *
 * Contract: `publish` resolves once the message is handed to the transport (for Redis: the
 * `PUBLISH` was acknowledged) and rejects when it could not be. A subscriber's handler is
 * called for messages published by **other** instances only; when the bus may have missed
 * messages (its connection dropped), it calls the handler with `{ type: 'clear' }`.
 */
export interface InvalidationBus {
  publish(message: InvalidationMessage): Promise<void>;
  /** Registers `handler`; returns the function that unregisters it. */
  subscribe(handler: (message: InvalidationMessage) => void): () => void;
}

/**
 * Versioned tags (the design of Symfony's TagAwareAdapter and BentoCache): each tag has a
 * version in a shared store; an entry records the versions of its tags when its load
 * started, and is stale as soon as one of them changed. Invalidating a tag is one `INCR`,
 * whatever the number of entries carrying it. `@tiercache/invalidation`'s
 * `redisTagVersions()` implements it.
 */
export interface TagVersionStore {
  /** The current version of each tag, in order; `0` for a tag never invalidated. */
  get(tags: readonly string[]): Promise<readonly number[]>;
  /**
   * Invalidates `tags`: moves each version forward (never back, even after the store lost
   * it) and resolves to the new versions, in order.
   */
  invalidate(tags: readonly string[]): Promise<readonly number[]>;
}

/**
 * An L2 tier that keeps a version per key, so that a load which started before a delete
 * cannot write its (older) value after it — the "stale set" race of Facebook's "Scaling
 * Memcache" (NSDI 2013), closed there by leases. `@tiercache/redis`'s `RedisTier`
 * implements it; turn it on with `versionedWrites: true` on every instance sharing the L2.
 *
 * A version is an opaque string; `''` when the key has none.
 */
export interface VersionedTier extends CacheTier {
  /** The current version of each key, in order (`''`: none). Read before a load starts. */
  getVersions(keys: readonly string[]): MaybePromise<readonly string[]>;
  /**
   * Stores `value` only if the key's version still is `version`; resolves to whether it
   * stored. Atomic on the server.
   */
  setIfVersion(key: string, value: unknown, ttlMs: number, version: string): MaybePromise<boolean>;
  /** Stores `value` and gives the key a new version (an explicit `set`). */
  setVersioned(key: string, value: unknown, ttlMs: number): MaybePromise<void>;
  /** Deletes the key and gives it a new version; resolves to whether it existed. */
  deleteVersioned(key: string): MaybePromise<boolean>;
}

/**
 * Compiles a pattern (a Redis glob, as given to `invalidatePattern` and carried by `pattern`
 * messages) into a predicate over keys, to find the L1 entries to drop.
 * `@tiercache/keys`' `globMatcher` is one.
 */
export type PatternMatcher = (pattern: string) => (key: string) => boolean;

/** True when `tier` has the methods of a {@link VersionedTier}. */
export function isVersionedTier(tier: CacheTier | undefined): tier is VersionedTier {
  const t = tier as Partial<VersionedTier> | undefined;
  return (
    t !== undefined &&
    typeof t.getVersions === 'function' &&
    typeof t.setIfVersion === 'function' &&
    typeof t.setVersioned === 'function' &&
    typeof t.deleteVersioned === 'function'
  );
}
