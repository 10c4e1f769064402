import { LRUCache } from 'lru-cache';
import { deepFreeze } from './deep-freeze.js';
import { InvalidOptionsError, InvalidTtlError, InvalidValueError } from './errors.js';
import { estimateSize } from './estimate-size.js';
import type { CloneMode, MemoryTierOptions } from './options.js';
import { resolveOptions } from './options.js';

/**
 * One key's answer in {@link MemoryTier.getMany}; the same shape as `TierReadResult` of
 * `@tiercache/core` (this package does not depend on core).
 */
export type MemoryTierReadResult =
  | { readonly hit: true; readonly value: unknown }
  | { readonly hit: false; readonly error?: Error };

/** The payload of each {@link MemoryTier} event. */
export interface MemoryTierEvents {
  /**
   * An entry left to make room: `'capacity'` when `max` or `maxSize` was reached (least recently
   * used first), `'oversize'` when a `set` value exceeded `maxEntrySize` and was not stored.
   */
  evict: { readonly key: string; readonly reason: 'capacity' | 'oversize' };
  /**
   * An entry was found past its TTL and removed: on a read, a `delete`, `purgeExpired()`, or
   * when it was about to be evicted.
   */
  expire: { readonly key: string; readonly reason: 'ttl' };
  /** A live entry was removed by `delete(key)`. `clear()` reports nothing per key. */
  delete: { readonly key: string; readonly reason: 'delete' };
}

/** Names accepted by {@link MemoryTier.on}. */
export type MemoryTierEventName = keyof MemoryTierEvents;

/** A listener for {@link MemoryTier.on}. */
export type MemoryTierListener<E extends MemoryTierEventName> = (
  event: MemoryTierEvents[E],
) => void;

type AnyEvent = MemoryTierEvents[MemoryTierEventName];
type AnyListener = (event: AnyEvent) => void;

interface PendingEvent {
  readonly name: MemoryTierEventName;
  readonly event: AnyEvent;
}

// lru-cache types values as `{}`; it treats only `undefined` specially, so null is stored fine.
type Stored = NonNullable<unknown>;

const MISS: MemoryTierReadResult = Object.freeze({ hit: false });

/**
 * The in-process L1 tier: an LRU bounded by entry count and bytes, with per-entry TTLs, on
 * lru-cache. Implements `CacheTier` of `@tiercache/core` structurally and answers
 * synchronously, so an L1 hit costs no microtask. Create it with {@link memoryTier}.
 */
export class MemoryTier {
  /** Used in core's events and metrics labels. */
  readonly name: 'l1' = 'l1';

  readonly #cache: LRUCache<string, Stored>;
  readonly #clone: CloneMode;
  readonly #defaultTtl: number;
  readonly #maxEntrySize: number;
  readonly #sizeOf: ((value: unknown, key: string) => number) | undefined;

  // Copy-on-write, so a listener may unsubscribe while events are being delivered.
  #listeners: Record<MemoryTierEventName, readonly AnyListener[]> = {
    evict: [],
    expire: [],
    delete: [],
  };
  #listenerCount = 0;
  // Events seen inside lru-cache's dispose callback, delivered once the cache is consistent
  // again, so a listener may safely call back into the tier.
  #pending: PendingEvent[] | undefined;
  #clearing = false;

  /** Prefer {@link memoryTier}. Throws {@link InvalidOptionsError} for bad options. */
  constructor(options?: MemoryTierOptions) {
    const o = resolveOptions(options);
    this.#clone = o.clone;
    this.#defaultTtl = o.ttl;
    this.#maxEntrySize = o.maxEntrySize;
    if (o.maxSize !== false) {
      this.#sizeOf = o.sizeCalculation ? checkedSize(o.sizeCalculation) : defaultSize;
    }
    const clock = o.clock;
    this.#cache = new LRUCache<string, Stored>({
      max: o.max,
      ttl: o.ttl,
      // Sizes are computed in set(), not by lru-cache, so that an oversize value is noticed.
      ...(o.maxSize === false ? {} : { maxSize: o.maxSize, maxEntrySize: o.maxEntrySize }),
      // Expiry is lazy: autopurge would arm a timer per entry.
      ttlAutopurge: false,
      allowStale: false,
      // A TTL bounds the age of the data, not the time since it was last read.
      updateAgeOnGet: false,
      updateAgeOnHas: false,
      dispose: this.#onDispose,
      // An injected clock is read on every check: lru-cache's default 1 ms resolution caches
      // the time behind a timer, which a fake clock would not see move. The +1: lru-cache takes
      // a start time of 0 as "no TTL", and a fake clock commonly starts at 0.
      ...(clock ? { perf: { now: () => clock() + 1 }, ttlResolution: 0 } : {}),
    });
  }

  /** Entries held, including expired ones not yet purged (expiry is lazy). */
  get size(): number {
    return this.#cache.size;
  }

  /** Sum of the sizes (bytes) of the entries held; 0 when `maxSize` is `false`. */
  get calculatedSize(): number {
    return this.#cache.calculatedSize ?? 0;
  }

  /**
   * The value, or `undefined` on a miss or after its TTL. `null`, `0`, `''` and `false` are
   * values. Marks the entry as recently used. Synchronous.
   */
  get(key: string): unknown {
    const value = this.#cache.get(key);
    if (this.#pending !== undefined) this.#flush();
    return this.#clone === 'structured' && value !== undefined ? copy(value, key) : value;
  }

  /** Reads several keys in order; never throws per key. Synchronous. */
  getMany(keys: readonly string[]): MemoryTierReadResult[] {
    const results: MemoryTierReadResult[] = [];
    const structured = this.#clone === 'structured';
    for (const key of keys) {
      const value = this.#cache.get(key);
      if (value === undefined) results.push(MISS);
      else results.push({ hit: true, value: structured ? copy(value, key) : value });
    }
    if (this.#pending !== undefined) this.#flush();
    return results;
  }

  /**
   * Stores `value` for `ttlMs` milliseconds (the `ttl` option when omitted). Throws
   * {@link InvalidValueError} for `undefined` and {@link InvalidTtlError} for a `ttlMs` that is
   * not a positive finite number. A value larger than `maxEntrySize` is not stored (an
   * `'evict'` event with reason `'oversize'`); any older value under `key` is removed.
   */
  set(key: string, value: unknown, ttlMs?: number): void {
    if (value === undefined) {
      throw new InvalidValueError(
        `value for key "${key}" is undefined; a tier never stores undefined (use null)`,
      );
    }
    let ttl = this.#defaultTtl;
    if (ttlMs !== undefined) {
      if (typeof ttlMs !== 'number' || !(ttlMs > 0) || ttlMs === Number.POSITIVE_INFINITY) {
        throw new InvalidTtlError(
          `ttl for key "${key}" must be a positive finite number of milliseconds, got ${show(ttlMs)}`,
        );
      }
      ttl = ttlMs;
    }
    let stored = value as Stored;
    if (this.#clone === 'freeze') deepFreeze(stored);
    else if (this.#clone === 'structured') stored = copy(stored, key);
    let size: number | undefined;
    let oversize = false;
    if (this.#sizeOf !== undefined) {
      size = this.#sizeOf(stored, key);
      oversize = size > this.#maxEntrySize;
    }
    // For an oversize value lru-cache stores nothing and drops the older value (reason 'set',
    // which is not reported): a reader must not see data older than the last write.
    this.#cache.set(key, stored, { ttl, size });
    if (oversize && this.#listeners.evict.length > 0) {
      this.#queue('evict', { key, reason: 'oversize' });
    }
    if (this.#pending !== undefined) this.#flush();
  }

  /**
   * Removes the key; returns whether a live entry was there. An expired entry not yet purged
   * counts as absent (it is purged and reported as `'expire'`).
   */
  delete(key: string): boolean {
    let existed = false;
    if (this.#cache.has(key)) {
      existed = this.#cache.delete(key);
    } else {
      // has() is false for an expired entry but leaves it in place; get() purges it.
      this.#cache.get(key);
    }
    if (this.#pending !== undefined) this.#flush();
    return existed;
  }

  /**
   * Removes every entry. Reports no per-key `'delete'` events: a clear (e.g. after the
   * invalidation bus reconnects) would otherwise flood listeners with thousands of them.
   */
  clear(): void {
    this.#clearing = true;
    try {
      this.#cache.clear();
    } finally {
      this.#clearing = false;
    }
  }

  /**
   * A snapshot of the keys held, most recently used first. `CacheManager.invalidatePattern`
   * (and a `pattern` message on the invalidation bus) uses it to drop only the matching
   * entries instead of clearing the whole tier. Cost: one pass over all entries.
   */
  keys(): string[] {
    return [...this.#cache.keys()];
  }

  /** Whether a live entry exists, without marking it used or purging it. */
  has(key: string): boolean {
    return this.#cache.has(key);
  }

  /** Like {@link MemoryTier.get} without marking the entry as recently used. */
  peek(key: string): unknown {
    const value = this.#cache.peek(key);
    return this.#clone === 'structured' && value !== undefined ? copy(value, key) : value;
  }

  /**
   * Removes every expired entry now, reporting each as `'expire'`. Expiry is otherwise lazy;
   * call this from your own (unref'd) interval if you want expired entries freed or reported
   * promptly. Returns whether anything was removed. Cost: one pass over all entries.
   */
  purgeExpired(): boolean {
    const purged = this.#cache.purgeStale();
    if (this.#pending !== undefined) this.#flush();
    return purged;
  }

  /**
   * Subscribes to `'evict'`, `'expire'` or `'delete'`; returns a function that unsubscribes
   * (calling it twice is harmless). Listeners run synchronously right after the operation
   * that caused the event, and may call back into the tier. A listener that throws does not
   * disturb the cache: its error is rethrown asynchronously (an uncaught exception), like an
   * `EventTarget` listener's. With no listener, events cost nothing.
   */
  on<E extends MemoryTierEventName>(event: E, listener: MemoryTierListener<E>): () => void {
    if (!Object.hasOwn(this.#listeners, event)) {
      throw new InvalidOptionsError(
        `event: unknown event "${show(event)}"; expected 'evict', 'expire' or 'delete'`,
      );
    }
    if (typeof listener !== 'function') {
      throw new InvalidOptionsError(`listener: expected a function for event "${event}"`);
    }
    const added = listener as AnyListener;
    this.#listeners[event] = [...this.#listeners[event], added];
    this.#listenerCount++;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list = [...this.#listeners[event]];
      list.splice(list.indexOf(added), 1);
      this.#listeners[event] = list;
      this.#listenerCount--;
    };
  }

  // Called by lru-cache in the middle of an operation: only record the event here.
  readonly #onDispose = (_value: Stored, key: string, reason: LRUCache.DisposeReason): void => {
    if (this.#listenerCount === 0 || this.#clearing) return;
    switch (reason) {
      case 'evict':
        // An entry pushed out after its TTL had passed expired; reporting it as an eviction
        // would overstate memory pressure. The entry is still indexed during dispose.
        if (this.#cache.getRemainingTTL(key) < 0) this.#queue('expire', { key, reason: 'ttl' });
        else this.#queue('evict', { key, reason: 'capacity' });
        return;
      case 'expire':
        this.#queue('expire', { key, reason: 'ttl' });
        return;
      case 'delete':
        this.#queue('delete', { key, reason: 'delete' });
        return;
      default:
        // 'set' (overwritten) is not a removal; 'fetch' is never used here.
        return;
    }
  };

  #queue<E extends MemoryTierEventName>(name: E, event: MemoryTierEvents[E]): void {
    if (this.#listeners[name].length === 0) return;
    if (this.#pending === undefined) this.#pending = [];
    this.#pending.push({ name, event });
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined) return;
    for (const { name, event } of pending) {
      for (const listener of this.#listeners[name]) {
        try {
          listener(event);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
  }
}

/**
 * Creates the in-process L1 tier. Throws {@link InvalidOptionsError} (naming the field) for
 * bad options.
 *
 * @example
 * const l1 = memoryTier({ max: 10_000, ttl: 60_000, clone: 'freeze' });
 * l1.set('user:1', { name: 'Ada' }, 30_000);
 * l1.get('user:1'); // { name: 'Ada' }, synchronously
 */
export function memoryTier(options?: MemoryTierOptions): MemoryTier {
  return new MemoryTier(options);
}

/** `String(value)` that cannot throw: a null-prototype object has no `toString`. */
function show(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function defaultSize(value: unknown, key: string): number {
  return estimateSize(value) + 16 + 2 * key.length;
}

function checkedSize(
  sizeCalculation: (value: unknown, key: string) => number,
): (value: unknown, key: string) => number {
  return (value, key) => {
    const size = sizeCalculation(value, key);
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
      throw new InvalidOptionsError(
        `options.sizeCalculation: returned ${show(size)} for key "${key}"; expected a finite number >= 0`,
      );
    }
    // lru-cache requires a positive integer.
    return size < 1 ? 1 : Math.ceil(size);
  };
}

function copy(value: Stored, key: string): Stored {
  try {
    return structuredClone(value);
  } catch (error) {
    throw new InvalidValueError(`value for key "${key}" cannot be cloned (clone: 'structured')`, {
      cause: error,
    });
  }
}
