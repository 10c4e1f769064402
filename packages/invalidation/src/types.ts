// Structural copies of the interfaces @tiercache/core defines (core is not a dependency of
// this package: any CacheManager, or your own cache, fits). Kept identical to core's; a type
// test checks that they stay assignable both ways.

/**
 * A bus message: which keys, tags or pattern an instance invalidated, or that it cleared
 * everything (also delivered locally when the bus may have missed messages). Never values.
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

/** `@tiercache/core`'s `InvalidationBus`. */
export interface InvalidationBus {
  publish(message: InvalidationMessage): Promise<void>;
  subscribe(handler: (message: InvalidationMessage) => void): () => void;
}

/** `@tiercache/core`'s `TagVersionStore`. */
export interface TagVersionStore {
  get(tags: readonly string[]): Promise<readonly number[]>;
  invalidate(tags: readonly string[]): Promise<readonly number[]>;
}

/**
 * What an {@link Invalidator} calls on the cache: a `CacheManager` of `@tiercache/core`
 * (configured with a `bus`, `tagVersions` and an L2 that supports `deleteMatching`).
 */
export interface InvalidationTarget {
  deleteMany(keys: readonly string[]): Promise<number>;
  invalidateTags(tags: readonly string[]): Promise<void>;
  invalidatePattern(pattern: string): Promise<number>;
}

/** Where a bus or store reports what it does not throw. */
export interface InvalidationLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  debug?(message: string, meta?: Record<string, unknown>): void;
}

/** The counter of `@tiercache/metrics`' `CacheMetrics` the bus feeds (`recordBusMessage`). */
export interface BusMetrics {
  recordBusMessage(direction: 'published' | 'received'): void;
}
