import type { CacheManager } from './cache-manager.js';
import type { SetOptions } from './options.js';

/**
 * The part of a {@link CacheManager} that warming, scheduled refresh and write-through use:
 * `set`, `delete` and `on` (to see tier failures that `set` reports as events, not errors).
 */
export type CacheWriter = Pick<CacheManager, 'set' | 'delete' | 'on'>;

/**
 * `cache.set`, but resolves to the first tier failure it caused (or `undefined`).
 *
 * `CacheManager.set` never rejects because a tier failed: it emits `tier:error` and moves on,
 * which is right for reads but hides from a writer that L2 still holds the old value. The
 * failure is matched by key, so a concurrent failing write of the same key elsewhere in the
 * process is attributed here too: callers treat that as "not sure it landed", the safe side.
 * Rejects (with `CacheClosedError`, `InvalidKeyError`, `InvalidOptionsError`) as `set` does.
 */
export async function checkedSet(
  cache: CacheWriter,
  key: string,
  value: unknown,
  options: SetOptions | undefined,
): Promise<Error | undefined> {
  let failure: Error | undefined;
  const off = cache.on('tier:error', (event) => {
    if (failure === undefined && event.key === key && event.operation === 'set') {
      failure = event.error;
    }
  });
  try {
    await cache.set(key, value, options);
  } finally {
    off();
  }
  return failure;
}

/**
 * `cache.delete`, but resolves to the first tier failure it caused (or `undefined`), for the
 * same reason as {@link checkedSet}. Rejects as `delete` does (`CacheClosedError`…).
 */
export async function checkedDelete(cache: CacheWriter, key: string): Promise<Error | undefined> {
  let failure: Error | undefined;
  const off = cache.on('tier:error', (event) => {
    if (failure === undefined && event.key === key && event.operation === 'delete') {
      failure = event.error;
    }
  });
  try {
    await cache.delete(key);
  } finally {
    off();
  }
  return failure;
}

/** `error` itself when it is an `Error`, otherwise an `Error` whose `cause` is it. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

/** `ttl` over `set.ttl` over nothing; `undefined` when neither is given. */
export function withTtl(
  set: SetOptions | undefined,
  ttl: number | undefined,
): SetOptions | undefined {
  if (ttl === undefined) return set;
  return set === undefined ? { ttl } : { ...set, ttl };
}
