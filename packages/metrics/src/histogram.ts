/** Smallest bucket bound, in milliseconds: 2^-10 ms ≈ 1 µs, so that 1, 2, 4… ms are bounds. */
const BASE_MS = 2 ** -10;
/** Buckets per doubling: each bound is 2^(1/4) ≈ 1.19 times the previous one. */
const STEPS_PER_DOUBLING = 4;
/** 2^-10 ms · 2^(108/4) = 2^17 ms ≈ 131 s: the largest finite bound. */
const BOUND_COUNT = 109;

/**
 * Upper bounds (inclusive, in milliseconds) of the fixed log-spaced buckets shared by every
 * {@link LatencyHistogram}: about 1 µs to 131 s (1, 2, 4… ms are bounds), ≈19 % apart, so a percentile read from them
 * is off by less than one bucket's width. Values above the last bound go to an overflow bucket.
 */
export const LATENCY_BUCKET_BOUNDS_MS: readonly number[] = Object.freeze(
  Array.from({ length: BOUND_COUNT }, (_, i) => BASE_MS * 2 ** (i / STEPS_PER_DOUBLING)),
);

const BOUNDS = Float64Array.from(LATENCY_BUCKET_BOUNDS_MS);
const LOG_SCALE = STEPS_PER_DOUBLING / Math.LN2;

/** A summary of a {@link LatencyHistogram}; every duration in milliseconds. */
export interface LatencySnapshot {
  /** Observations. */
  readonly count: number;
  /** Sum of all observations. */
  readonly sumMs: number;
  /** Smallest observation; `null` when there is none (also for the fields below). */
  readonly minMs: number | null;
  /** Largest observation. */
  readonly maxMs: number | null;
  /** Arithmetic mean: shown for completeness, read the percentiles instead. */
  readonly meanMs: number | null;
  /** Median, estimated from the buckets. */
  readonly p50Ms: number | null;
  /** 90th percentile, estimated from the buckets. */
  readonly p90Ms: number | null;
  /** 99th percentile, estimated from the buckets. */
  readonly p99Ms: number | null;
}

/**
 * Durations counted in fixed log-spaced buckets ({@link LATENCY_BUCKET_BOUNDS_MS}): constant
 * memory, O(1) per observation, and percentiles estimated by interpolating inside the bucket
 * that holds the requested rank (clamped to the exact minimum and maximum).
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BOUND_COUNT + 1);
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  /** Records one duration in milliseconds. Negative or non-finite values are ignored. */
  observe(ms: number): void {
    if (!(ms >= 0) || ms === Number.POSITIVE_INFINITY) return;
    this.#counts[bucketOf(ms)]!++;
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** Observations so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * The `q` quantile (0 ≤ q ≤ 1) in milliseconds, estimated from the buckets; `null` when
   * nothing was observed.
   */
  percentile(q: number): number | null {
    if (this.#count === 0) return null;
    if (q <= 0) return this.#min;
    if (q >= 1) return this.#max;
    const rank = q * this.#count;
    let before = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      const inBucket = this.#counts[i] as number;
      if (inBucket === 0 || before + inBucket < rank) {
        before += inBucket;
        continue;
      }
      const lower = Math.max(i === 0 ? 0 : (BOUNDS[i - 1] as number), this.#min);
      const upper = Math.min(i < BOUND_COUNT ? (BOUNDS[i] as number) : this.#max, this.#max);
      return lower + (upper - lower) * ((rank - before) / inBucket);
    }
    return this.#max;
  }

  /** Count, sum, min, max, mean and the p50/p90/p99 estimates. */
  snapshot(): LatencySnapshot {
    const empty = this.#count === 0;
    return {
      count: this.#count,
      sumMs: this.#sum,
      minMs: empty ? null : this.#min,
      maxMs: empty ? null : this.#max,
      meanMs: empty ? null : this.#sum / this.#count,
      p50Ms: this.percentile(0.5),
      p90Ms: this.percentile(0.9),
      p99Ms: this.percentile(0.99),
    };
  }

  /** Forgets every observation. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = Number.NEGATIVE_INFINITY;
  }
}

/** Index of the bucket whose bound is the smallest one ≥ ms (the overflow bucket past the last). */
function bucketOf(ms: number): number {
  if (ms <= BASE_MS) return 0;
  let i = Math.ceil(Math.log(ms / BASE_MS) * LOG_SCALE);
  // Math.log rounding can land one bucket off right at a bound.
  if (i < BOUND_COUNT && ms > (BOUNDS[i] as number)) i++;
  else if (i > 0 && i <= BOUND_COUNT && ms <= (BOUNDS[i - 1] as number)) i--;
  return Math.min(i, BOUND_COUNT);
}
