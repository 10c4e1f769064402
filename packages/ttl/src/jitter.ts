import { describeValue } from './describe.js';
import { InvalidOptionsError, InvalidTtlError } from './errors.js';

/** Options of {@link jitter}. */
export interface JitterOptions {
  /**
   * Largest fraction of the TTL taken off, in [0, 1]. 0 returns the TTL unchanged.
   * @default 0.1
   */
  ratio?: number;
  /**
   * Source of uniform numbers in [0, 1). Inject a deterministic one in tests.
   * @default Math.random
   */
  random?: () => number;
}

/**
 * Spreads expiries so that entries written together do not all expire (and reload) together.
 *
 * The TTL only ever gets **shorter**: the result is an integer, uniformly distributed in
 * `[ttl − ⌊ttl × ratio⌋, ttl]`, and never below 1. A caller who asked for 300 s never gets an
 * entry that lives longer than 300 s, so "at most this stale" promises still hold.
 *
 * Works in any unit (seconds or milliseconds); the TTL must be a positive integer.
 *
 * @throws {InvalidTtlError} `ttl` is not a positive safe integer.
 * @throws {InvalidOptionsError} `ratio` is not in [0, 1], `random` is not a function, or it
 * returned a value outside [0, 1).
 *
 * @example
 * jitter(300); // an integer in [270, 300]
 * jitter(300, { ratio: 0.2, random: () => 0.5 }); // 270
 */
export function jitter(ttl: number, options?: JitterOptions): number {
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1) {
    throw new InvalidTtlError(`ttl: expected a positive integer, got ${describeValue(ttl)}`);
  }
  const ratio = options?.ratio ?? 0.1;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw new InvalidOptionsError(
      `ratio: expected a number between 0 and 1, got ${describeValue(ratio)}`,
    );
  }
  const random = options?.random ?? Math.random;
  if (typeof random !== 'function') {
    throw new InvalidOptionsError(`random: expected a function, got ${describeValue(random)}`);
  }
  // Floor keeps the spread inside ttl × ratio even when the float product rounds up.
  const spread = Math.floor(ttl * ratio);
  if (spread === 0) return ttl;
  const r = random();
  if (typeof r !== 'number' || !(r >= 0 && r < 1)) {
    throw new InvalidOptionsError(`random: expected a number in [0, 1), got ${describeValue(r)}`);
  }
  return Math.max(1, ttl - Math.floor(r * (spread + 1)));
}
