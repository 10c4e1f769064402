import { describeValue } from './describe.js';
import { InvalidOptionsError, InvalidTtlError } from './errors.js';

/** Options of {@link adaptiveTtl}. */
export interface AdaptiveTtlOptions {
  /**
   * The current time in epoch milliseconds, or a clock returning it. Inject a fixed value or a
   * fake clock in tests.
   * @default Date.now
   */
  now?: number | (() => number);
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The guide's `calculateAdaptiveTTL`: the longer data has gone unchanged, the longer it is
 * cached. Returns **seconds**:
 *
 * | age of the data (now − lastModified) | TTL |
 * |---|---|
 * | under 1 minute (and any future timestamp) | 60 |
 * | under 1 hour | 300 |
 * | under 24 hours | 1800 |
 * | 24 hours or more | 3600 |
 *
 * A `lastModified` in the future (clock skew between servers) counts as "just modified":
 * the shortest TTL is the safe answer when we cannot tell.
 *
 * @param lastModified When the data last changed: epoch milliseconds or a `Date`.
 * @throws {InvalidTtlError} `lastModified` is not a finite number or a valid `Date`.
 * @throws {InvalidOptionsError} `now` is not a finite number or a function returning one.
 *
 * @example
 * adaptiveTtl(agent.updatedAt); // e.g. 1800 for data last changed 3 hours ago
 */
export function adaptiveTtl(lastModified: number | Date, options?: AdaptiveTtlOptions): number {
  const modifiedMs = lastModified instanceof Date ? lastModified.getTime() : lastModified;
  if (typeof modifiedMs !== 'number' || !Number.isFinite(modifiedMs)) {
    throw new InvalidTtlError(
      `lastModified: expected epoch milliseconds or a valid Date, got ${describeValue(lastModified)}`,
    );
  }
  const now = options?.now;
  const nowMs = now === undefined ? Date.now() : typeof now === 'function' ? now() : now;
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
    throw new InvalidOptionsError(
      `now: expected epoch milliseconds or a clock returning them, got ${
        typeof now === 'function' ? `a clock returning ${describeValue(nowMs)}` : describeValue(now)
      }`,
    );
  }
  const age = nowMs - modifiedMs;
  if (age < MINUTE_MS) return 60;
  if (age < HOUR_MS) return 300;
  if (age < DAY_MS) return 1800;
  return 3600;
}
