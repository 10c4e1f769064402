import type { Cluster, Redis } from 'ioredis';
import { DistributedLock, type LockContext } from './distributed-lock.js';
import type { DistributedLockOptions } from './options.js';

/** Options of {@link withLock}: those of `DistributedLock` (without `client`) and a signal. */
export interface WithLockOptions extends Omit<DistributedLockOptions, 'client'> {
  /**
   * Stops waiting for the lock: `withLock` rejects with the signal's reason.
   * @default undefined
   */
  signal?: AbortSignal;
}

// One DistributedLock per client for calls without options: options are validated once.
const shared = new WeakMap<object, DistributedLock>();

/**
 * Runs `fn` under the lock on `resource`: `new DistributedLock({ client, ...options })`
 * then `executeWithLock(resource, fn)`. Calls without options reuse one `DistributedLock`
 * per client; with options, create a `DistributedLock` once instead on hot paths.
 *
 * @example
 * await withLock(redis, 'invoice:42', async ({ fencingToken }) => {
 *   await db.invoices.update(42, { status: 'sent' }, { fencingToken });
 * });
 */
export function withLock<T>(
  client: Redis | Cluster | readonly (Redis | Cluster)[],
  resource: string,
  fn: (ctx: LockContext) => Promise<T> | T,
  options?: WithLockOptions,
): Promise<T> {
  if (options === undefined) {
    let locks = shared.get(client);
    if (locks === undefined) {
      locks = new DistributedLock({ client });
      shared.set(client, locks);
    }
    return locks.executeWithLock(resource, fn);
  }
  const { signal, ...lockOptions } = options;
  const locks = new DistributedLock({ ...lockOptions, client });
  return locks.executeWithLock(resource, fn, signal === undefined ? undefined : { signal });
}
