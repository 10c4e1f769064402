/**
 * The guide's target metrics, as thresholds of {@link CacheMetrics.health}. Ratios are in
 * [0, 1].
 */
export interface HealthThresholds {
  /**
   * Hit rate (hits / (hits + misses)) must be above this. The guide's "Miss Rate: < 15%" is the
   * same check.
   * @default 0.85
   */
  readonly minHitRate?: number;
  /**
   * Share of hits answered by L1 (l1Hits / hits) must be above this: "indicates good hot
   * data locality". Checked only when an L1 is known (an `l1Tier` was given, or an L1 hit seen).
   * @default 0.7
   */
  readonly minL1Share?: number;
  /**
   * Evictions per access (evictions / (hits + misses)) must be below this: "indicates good
   * memory management".
   * @default 0.05
   */
  readonly maxEvictionRate?: number;
  /**
   * Fewer accesses than this and the rate checks are skipped: status `'insufficient-data'`
   * (the guide's analyzer uses the same 100).
   * @default 100
   */
  readonly minAccesses?: number;
  /**
   * `'total'`: counts since attach (or the last `reset()`); `'minute'`: the last 60 seconds,
   * which follows a change in traffic faster.
   * @default 'total'
   */
  readonly window?: 'total' | 'minute';
}

/** Thresholds after defaults. @internal */
export type ResolvedHealthThresholds = Required<HealthThresholds>;

/** Defaults of {@link HealthThresholds}, from the guide's "Target metrics". */
export const DEFAULT_HEALTH_THRESHOLDS: ResolvedHealthThresholds = Object.freeze({
  minHitRate: 0.85,
  minL1Share: 0.7,
  maxEvictionRate: 0.05,
  minAccesses: 100,
  window: 'total',
});

/** Names of the checks in a {@link HealthReport}. */
export type HealthCheckName = 'hit-rate' | 'l1-share' | 'eviction-rate' | 'circuit';

/** One check of a {@link HealthReport}. */
export interface HealthCheck {
  readonly name: HealthCheckName;
  /** `'skip'`: not enough data, or nothing to check (no L1, no circuit breaker). */
  readonly status: 'pass' | 'fail' | 'skip';
  /** The measured ratio (for `'circuit'`: 1 when a circuit is open, else 0); `null` if skipped. */
  readonly value: number | null;
  /** The threshold compared with, `null` for `'circuit'`. */
  readonly threshold: number | null;
  /** One line for a human. */
  readonly message: string;
}

/**
 * Result of {@link CacheMetrics.health}. `'degraded'` when any check fails (an open circuit
 * fails even with little data); otherwise `'insufficient-data'` below `minAccesses`, else
 * `'ok'`.
 */
export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'insufficient-data';
  /** Accesses (hits + misses) the rates were computed from. */
  readonly accesses: number;
  readonly checks: readonly HealthCheck[];
}

/** The counts a health report is computed from. @internal */
export interface HealthInput {
  readonly hits: number;
  readonly misses: number;
  readonly l1Hits: number;
  readonly evictions: number;
  readonly hasL1: boolean;
  /** Tier name → circuit state, for tiers with a circuit breaker. */
  readonly circuits: Readonly<Record<string, string>>;
}

const pct = (ratio: number): string => `${(ratio * 100).toFixed(2)}%`;

/** Evaluates the guide's targets against `input`. Pure. @internal */
export function evaluateHealth(input: HealthInput, t: ResolvedHealthThresholds): HealthReport {
  const accesses = input.hits + input.misses;
  const enough = accesses >= t.minAccesses && accesses > 0;
  const checks: HealthCheck[] = [];
  const lacking = `insufficient data (${accesses} < ${t.minAccesses} accesses)`;

  if (!enough) {
    checks.push(skip('hit-rate', t.minHitRate, lacking));
  } else {
    const hitRate = input.hits / accesses;
    const ok = hitRate > t.minHitRate;
    checks.push({
      name: 'hit-rate',
      status: ok ? 'pass' : 'fail',
      value: hitRate,
      threshold: t.minHitRate,
      message: `hit rate ${pct(hitRate)} ${ok ? '>' : '<='} ${pct(t.minHitRate)}`,
    });
  }

  if (!input.hasL1) {
    checks.push(skip('l1-share', t.minL1Share, 'no L1 tier seen'));
  } else if (!enough || input.hits === 0) {
    checks.push(skip('l1-share', t.minL1Share, enough ? 'no hits yet' : lacking));
  } else {
    const share = input.l1Hits / input.hits;
    const ok = share > t.minL1Share;
    checks.push({
      name: 'l1-share',
      status: ok ? 'pass' : 'fail',
      value: share,
      threshold: t.minL1Share,
      message: `L1 answered ${pct(share)} of hits, ${ok ? '>' : '<='} ${pct(t.minL1Share)}`,
    });
  }

  if (!enough) {
    checks.push(skip('eviction-rate', t.maxEvictionRate, lacking));
  } else {
    const rate = input.evictions / accesses;
    const ok = rate < t.maxEvictionRate;
    checks.push({
      name: 'eviction-rate',
      status: ok ? 'pass' : 'fail',
      value: rate,
      threshold: t.maxEvictionRate,
      message: `${pct(rate)} evictions per access, ${ok ? '<' : '>='} ${pct(t.maxEvictionRate)}`,
    });
  }

  const tiers = Object.keys(input.circuits);
  if (tiers.length === 0) {
    checks.push({
      name: 'circuit',
      status: 'skip',
      value: null,
      threshold: null,
      message: 'no circuit breaker tracked',
    });
  } else {
    const open = tiers.filter((tier) => input.circuits[tier] === 'open');
    checks.push({
      name: 'circuit',
      status: open.length === 0 ? 'pass' : 'fail',
      value: open.length === 0 ? 0 : 1,
      threshold: null,
      message:
        open.length === 0
          ? `circuit not open (${tiers.map((tier) => `${tier}: ${input.circuits[tier]}`).join(', ')})`
          : `circuit open: ${open.join(', ')} (calls to it fail fast)`,
    });
  }

  const status = checks.some((c) => c.status === 'fail')
    ? 'degraded'
    : enough
      ? 'ok'
      : 'insufficient-data';
  return { status, accesses, checks };
}

function skip(name: HealthCheckName, threshold: number, message: string): HealthCheck {
  return { name, status: 'skip', value: null, threshold, message };
}
