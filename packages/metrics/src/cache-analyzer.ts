import { z } from 'zod';
import type { HitEventLike, HitMissSource, MissEventLike } from './sources.js';
import { fn, parseOptions } from './validate.js';

/** Verdict of the guide's `getRecommendation`, as data. */
export type RecommendationLevel = 'insufficient-data' | 'excellent' | 'good' | 'fair' | 'poor';

/** One operation's line in {@link CacheAnalyzer.analyze}. */
export interface OperationAnalysis {
  readonly operation: string;
  /** Hits + misses. */
  readonly accesses: number;
  readonly hits: number;
  readonly misses: number;
  /** hits / accesses, in [0, 1]. */
  readonly hitRate: number;
  /** The guide's text, e.g. `'Excellent - Consider increasing TTL'`. */
  readonly recommendation: string;
  readonly level: RecommendationLevel;
}

/** One operation in the guide's `getAnalysis()` shape (rates as `'95.00%'` strings). */
export interface GuideOperationAnalysis {
  readonly total: number;
  readonly hits: number;
  readonly misses: number;
  readonly hitRate: string;
  readonly recommendation: string;
}

/** Options of {@link CacheAnalyzer}. */
export interface CacheAnalyzerOptions {
  /**
   * Maps a cache key to its operation (endpoint) name, for {@link CacheAnalyzer.recordKey} and
   * {@link CacheAnalyzer.attach}. Keep its range small: operation names become metric labels.
   * @default the key up to its first `:` (`'user:42'` → `'user'`)
   */
  readonly classify?: (key: string) => string;
  /**
   * Most distinct operations tracked; accesses to any further one are counted under
   * `otherOperation`, so a classifier that leaks ids cannot grow memory or label sets.
   * @default 100
   */
  readonly maxOperations?: number;
  /**
   * Operation name that collects accesses beyond `maxOperations`.
   * @default 'other'
   */
  readonly otherOperation?: string;
  /**
   * Fewer accesses than this: `'Insufficient data (< 100 accesses)'`.
   * @default 100
   */
  readonly minAccesses?: number;
}

interface Stat {
  hits: number;
  misses: number;
}

const schema = z.strictObject({
  classify: fn<(key: string) => string>().optional(),
  maxOperations: z.number().int().positive().optional(),
  otherOperation: z.string().min(1).optional(),
  minAccesses: z.number().int().nonnegative().optional(),
});

/** The part of a key before its first `:`; the whole key when it has none. */
export function firstSegment(key: string): string {
  const i = key.indexOf(':');
  return i === -1 ? key : key.slice(0, i);
}

/**
 * The guide's recommendation for an operation with `accesses` accesses and `hits` hits.
 * Thresholds as in the guide: fewer than `minAccesses` (100) → insufficient data; a hit rate
 * above 90 % → excellent, above 80 % → good, above 70 % → fair, else poor.
 */
export function recommend(
  accesses: number,
  hits: number,
  minAccesses = 100,
): { level: RecommendationLevel; recommendation: string } {
  if (accesses < minAccesses || accesses === 0) {
    return {
      level: 'insufficient-data',
      recommendation: `Insufficient data (< ${minAccesses} accesses)`,
    };
  }
  // In percent from integers, so exactly 90 % is not 90.00000000000001 %.
  const percent = (hits * 100) / accesses;
  if (percent > 90) {
    return { level: 'excellent', recommendation: 'Excellent - Consider increasing TTL' };
  }
  if (percent > 80) {
    return { level: 'good', recommendation: 'Good - Current configuration optimal' };
  }
  if (percent > 70) {
    return { level: 'fair', recommendation: 'Fair - Consider increasing TTL or cache size' };
  }
  return { level: 'poor', recommendation: 'Poor - Investigate cache strategy or data volatility' };
}

/**
 * Hit rates per operation (endpoint), with the guide's recommendations: record accesses by
 * operation name, or let it classify keys from a cache's hit/miss events. The number of
 * operations is capped (`maxOperations`), the rest counted as `'other'`.
 *
 * ```ts
 * const analyzer = new CacheAnalyzer({ classify: (key) => key.split(':')[1] ?? 'other' });
 * analyzer.attach(cache);
 * analyzer.analyze(); // [{ operation: 'user', accesses: 1200, hitRate: 0.93, level: 'excellent', … }]
 * ```
 */
export class CacheAnalyzer {
  /** The key classifier in use. */
  readonly classify: (key: string) => string;
  readonly #stats = new Map<string, Stat>();
  readonly #max: number;
  readonly #other: string;
  readonly #minAccesses: number;

  /** Throws {@link InvalidOptionsError} for a bad option. */
  constructor(options?: CacheAnalyzerOptions) {
    const o = parseOptions(schema, options);
    this.classify = o.classify ?? firstSegment;
    this.#max = o.maxOperations ?? 100;
    this.#other = o.otherOperation ?? 'other';
    this.#minAccesses = o.minAccesses ?? 100;
  }

  /** Counts one access to `operation`: a hit or a miss. */
  record(operation: string, hit: boolean): void {
    let stat = this.#stats.get(operation);
    if (stat === undefined) stat = this.#add(operation);
    if (hit) stat.hits++;
    else stat.misses++;
  }

  /** The guide's name for {@link record}. */
  recordAccess(operation: string, cacheHit: boolean): void {
    this.record(operation, cacheHit);
  }

  /** Counts one access to `key`'s operation, as named by `classify`. */
  recordKey(key: string, hit: boolean): void {
    this.record(this.classify(key), hit);
  }

  /**
   * Counts every hit and miss of `cache` (a `CacheManager`) by `classify(key)`. Stale hits
   * count as hits. Returns a function that stops counting.
   */
  attach(cache: HitMissSource): () => void {
    const offHit = cache.on('hit', (e: HitEventLike) => this.record(this.classify(e.key), true));
    const offMiss = cache.on('miss', (e: MissEventLike) =>
      this.record(this.classify(e.key), false),
    );
    return () => {
      offHit();
      offMiss();
    };
  }

  /**
   * Every operation with its accesses, hit rate (0–1), the guide's recommendation and its
   * level, most accessed first.
   */
  analyze(): OperationAnalysis[] {
    const out: OperationAnalysis[] = [];
    for (const [operation, { hits, misses }] of this.#stats) {
      const accesses = hits + misses;
      out.push({
        operation,
        accesses,
        hits,
        misses,
        hitRate: accesses === 0 ? 0 : hits / accesses,
        ...recommend(accesses, hits, this.#minAccesses),
      });
    }
    return out.sort((a, b) => b.accesses - a.accesses || a.operation.localeCompare(b.operation));
  }

  /** {@link analyze} in the guide's `getAnalysis()` shape: an object keyed by operation. */
  getAnalysis(): Record<string, GuideOperationAnalysis> {
    const out: Record<string, GuideOperationAnalysis> = {};
    for (const a of this.analyze()) {
      out[a.operation] = {
        total: a.accesses,
        hits: a.hits,
        misses: a.misses,
        hitRate: `${(a.hitRate * 100).toFixed(2)}%`,
        recommendation: a.recommendation,
      };
    }
    return out;
  }

  /** Operation names seen so far (at most `maxOperations`, plus `'other'` once overflowed). */
  get operations(): string[] {
    return [...this.#stats.keys()];
  }

  /** Forgets every count. */
  reset(): void {
    this.#stats.clear();
  }

  #add(operation: string): Stat {
    const other = this.#stats.get(this.#other);
    // 'other' does not take one of the maxOperations places.
    const tracked = this.#stats.size - (other === undefined ? 0 : 1);
    if (operation !== this.#other && tracked >= this.#max) {
      if (other !== undefined) return other;
      const stat = { hits: 0, misses: 0 };
      this.#stats.set(this.#other, stat);
      return stat;
    }
    const stat = { hits: 0, misses: 0 };
    this.#stats.set(operation, stat);
    return stat;
  }
}
