/**
 * A lock held by this process, as {@link Locker.acquire} returns it. Core only ever releases
 * it; what `release` resolves to is ignored, and a rejection is logged (the lock then expires
 * by its own TTL).
 */
export interface LockerLease {
  release(): Promise<unknown>;
}

/** What core passes to {@link Locker.acquire}. */
export interface LockerAcquireOptions {
  /** Lifetime of the lock in whole milliseconds (the stampede `lockTtl`, rounded up). */
  readonly ttl: number;
  /**
   * Always `{ retries: 0 }`: core tries once, and while another process holds the lock it
   * watches L2 for the value (re-trying the lock between polls) instead of queueing on it.
   */
  readonly retry: { readonly retries: 0 };
}

/**
 * The distributed lock core uses for stampede protection across processes. `@tiercache/lock`'s
 * `DistributedLock` satisfies it as it is (core does not depend on that package):
 *
 * ```ts
 * const locker = new DistributedLock({ client: redis, prefix: 'stampede:', fencing: false });
 * const cache = new CacheManager({ l1, l2, locker });
 * ```
 *
 * Contract of `acquire(resource, { ttl, retry: { retries: 0 } })`, one attempt:
 * - resolves a {@link LockerLease}: this process holds the lock for `ttl` ms (or longer, if
 *   the locker extends held locks);
 * - resolves `undefined`, or rejects with an error whose `code` is `'E_LOCK_NOT_ACQUIRED'`
 *   and which has no `cause`: another holder has the lock (that is how `DistributedLock`
 *   says it);
 * - rejects with anything else (including `E_LOCK_NOT_ACQUIRED` with a `cause`, which is how
 *   `DistributedLock` reports a Redis failure): the lock store failed; core loads without the
 *   lock, emits `stampede:fallback` and logs it.
 *
 * The resource is the cache key itself: give the locker a key prefix of its own.
 */
export interface Locker {
  acquire(resource: string, options: LockerAcquireOptions): Promise<LockerLease | undefined>;
}
