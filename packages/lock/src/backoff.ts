/** The retry schedule after validation, with defaults applied. */
export interface RetrySchedule {
  readonly retries: number;
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly jitter: number;
  readonly deadline: number | undefined;
}

/**
 * Milliseconds to wait after failed attempt number `attempt` (0 for the first attempt):
 * `min(maxDelay, baseDelay × factor^attempt)`, less up to `jitter` of it, so that `maxDelay`
 * is a true upper bound and contenders that failed together do not retry together.
 */
export function retryDelay(attempt: number, schedule: RetrySchedule, random: () => number): number {
  // `0 × Infinity` would be NaN once factor^attempt overflows.
  const grown = schedule.baseDelay === 0 ? 0 : schedule.baseDelay * schedule.factor ** attempt;
  const capped = Math.min(grown, schedule.maxDelay);
  return capped * (1 - schedule.jitter * random());
}
