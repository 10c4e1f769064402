import { z } from 'zod';
import type { CacheAnalyzer } from './cache-analyzer.js';
import { coarseClock } from './coarse-clock.js';
import {
  DEFAULT_HEALTH_THRESHOLDS,
  evaluateHealth,
  type HealthReport,
  type HealthThresholds,
  type ResolvedHealthThresholds,
} from './health.js';
import { LatencyHistogram, type LatencySnapshot } from './histogram.js';
import { RateWindow } from './rate-window.js';
import type { BusDirection, MetricRecord, MetricRecordListener } from './records.js';
import type {
  CacheEventSource,
  CircuitSource,
  EvictionSource,
  HitEventLike,
  LoadErrorEventLike,
  LoadEventLike,
  MissEventLike,
  RefreshEventLike,
  StaleReason,
  StaleServedEventLike,
  TierErrorEventLike,
} from './sources.js';
import { fn, parseOptions, withMethods } from './validate.js';

/** Options of {@link CacheMetrics}. */
export interface CacheMetricsOptions {
  /**
   * The L1 tier (e.g. `memoryTier()`): its `'evict'` events are counted as evictions while
   * attached, and its `name` tells L1 hits from others.
   * @default undefined (hits from a tier named `'l1'` are L1 hits; evictions only via `recordEviction`)
   */
  readonly l1Tier?: EvictionSource;
  /**
   * The L2 tier (e.g. `redisTier()`): its `name` tells L2 hits from others, and when it has a
   * circuit breaker (`on('circuit')`) its state is tracked while attached.
   * @default undefined (hits from a tier named `'l2'` are L2 hits)
   */
  readonly l2Tier?: CircuitSource;
  /**
   * Also count every hit and miss per operation in this analyzer (by its `classify(key)`).
   * @default undefined
   */
  readonly analyzer?: CacheAnalyzer;
  /**
   * Current time in milliseconds, for the per-minute rates and `startTime`. Read once per
   * counted event.
   * @default Date.now, reused for up to 100 ms (a clock read can cost more than an L1 hit)
   */
  readonly clock?: () => number;
  /**
   * Targets checked by {@link CacheMetrics.health}.
   * @default the guide's: hit rate > 85 %, L1 share > 70 %, eviction rate < 5 %, 100 accesses
   */
  readonly health?: HealthThresholds;
  /**
   * Most distinct label combinations kept per breakdown (tier errors by tier/operation/code,
   * latency series, tier names, eviction reasons); further ones are counted under `'other'`.
   * @default 64
   */
  readonly maxSeries?: number;
}

/** A counted tier failure, in {@link CacheMetricsSnapshot.tierErrorsBy}. */
export interface TierErrorCount {
  readonly tier: string;
  readonly operation: string;
  /** The error's `code` (`'unknown'` without one, `'other'` past `maxSeries`). */
  readonly code: string;
  readonly count: number;
}

/** A latency series in {@link CacheMetricsSnapshot.latency}. */
export interface TierLatency extends LatencySnapshot {
  readonly tier: string;
  readonly operation: string;
}

/** Everything {@link CacheMetrics} counted, as numbers. Ratios are in [0, 1] (0 without data). */
export interface CacheMetricsSnapshot {
  /** When counting started: construction or the last `reset()` (ms since the epoch). */
  readonly startTime: number;
  readonly uptimeMs: number;
  /** Hits from any tier, stale ones included. */
  readonly hits: number;
  readonly misses: number;
  readonly l1Hits: number;
  readonly l2Hits: number;
  /** Hits by tier name. */
  readonly hitsByTier: Readonly<Record<string, number>>;
  /** Hits that returned a stale value (see `staleServed` for why). */
  readonly staleHits: number;
  readonly evictions: number;
  readonly evictionsByReason: Readonly<Record<string, number>>;
  /** Loader calls that resolved. */
  readonly loads: number;
  /** Loader calls that rejected or timed out. */
  readonly loadErrors: number;
  /** The part of `loadErrors` that were `hardTimeout`s (`E_LOADER_TIMEOUT`). */
  readonly loadTimeouts: number;
  readonly staleServed: Readonly<Record<StaleReason, number>>;
  /** Background refreshes started: `early` (XFetch) and `stale` (revalidation). */
  readonly refreshes: { readonly early: number; readonly stale: number };
  /** Tier failures, corrupt payloads included. */
  readonly tierErrors: number;
  readonly tierErrorsBy: readonly TierErrorCount[];
  /** Tier errors with code `E_CORRUPT_PAYLOAD` (also in `tierErrors`). */
  readonly corruptPayloads: number;
  readonly busMessages: Readonly<Record<BusDirection, number>>;
  /** Tier name → circuit state (`'closed'`, `'open'`, `'half-open'`). */
  readonly circuit: Readonly<Record<string, string>>;
  /** Transitions to `'open'`. */
  readonly circuitOpens: number;
  /** hits / (hits + misses). */
  readonly hitRate: number;
  /** misses / (hits + misses). */
  readonly missRate: number;
  /** l1Hits / hits. */
  readonly l1HitShare: number;
  /** l2Hits / hits. */
  readonly l2HitShare: number;
  /** evictions / (hits + misses). */
  readonly evictionRate: number;
  /**
   * Events in the last 60 seconds (extrapolated to a minute while fewer than 60 seconds have
   * passed since `startTime`).
   */
  readonly perMinute: {
    readonly requests: number;
    readonly hits: number;
    readonly misses: number;
    readonly evictions: number;
    readonly loads: number;
    readonly loadErrors: number;
  };
  /** Durations of loader calls that resolved, and of those that failed. */
  readonly loadLatency: LatencySnapshot;
  readonly loadErrorLatency: LatencySnapshot;
  /** Series recorded with {@link CacheMetrics.recordLatency}. */
  readonly latency: readonly TierLatency[];
}

/**
 * The guide's `getMetrics()` JSON: rates as `'85.00%'` strings, per-minute rates as
 * `'12.00 hits/min'`. Unlike the guide, `avgHitRate` counts hits (the guide divided all
 * accesses), both rates cover the last minute, and the `0`-instead-of-`'0.00%'` case is gone.
 */
export interface GuideMetrics {
  readonly hits: number;
  readonly misses: number;
  readonly l1Hits: number;
  readonly l2Hits: number;
  readonly evictions: number;
  readonly hitRate: string;
  readonly l1HitPercent: string;
  readonly l2HitPercent: string;
  readonly avgHitRate: string;
  readonly avgMissRate: string;
}

const K_HIT = 0;
const K_MISS = 1;
const K_L1HIT = 2;
const K_EVICT = 3;
const K_LOAD = 4;
const K_LOAD_ERROR = 5;
const KINDS = 6;

const OTHER = 'other';
const CORRUPT = 'E_CORRUPT_PAYLOAD';
const LOADER_TIMEOUT = 'E_LOADER_TIMEOUT';

const schema = z.strictObject({
  l1Tier: withMethods<EvictionSource>('on').optional(),
  l2Tier: z
    .custom<CircuitSource>((v) => typeof v === 'object' && v !== null, {
      message: 'expected a tier object',
    })
    .optional(),
  analyzer: withMethods<CacheAnalyzer>('recordKey').optional(),
  clock: fn<() => number>().optional(),
  health: z
    .strictObject({
      minHitRate: z.number().min(0).max(1).optional(),
      minL1Share: z.number().min(0).max(1).optional(),
      maxEvictionRate: z.number().min(0).max(1).optional(),
      minAccesses: z.number().int().nonnegative().optional(),
      window: z.enum(['total', 'minute']).optional(),
    })
    .optional(),
  maxSeries: z.number().int().positive().optional(),
});

const percent = (part: number, whole: number): string =>
  `${(whole === 0 ? 0 : (part * 100) / whole).toFixed(2)}%`;

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : 'unknown';
}

/**
 * The guide's `CacheMetrics` (hits, misses, L1/L2 hits, evictions, hit rate, per-minute rates,
 * `getMetrics()`, `reset()`), fed by a cache's events instead of hand-placed calls, plus
 * loads, load errors, stale serving, tier errors, circuit state, bus messages and latency
 * histograms.
 *
 * ```ts
 * const metrics = CacheMetrics.attach(cache, { l1Tier: l1 });
 * app.get('/metrics/cache', (_req, res) => res.json(metrics.getMetrics()));
 * ```
 *
 * A cache emits an event only while something listens, so metrics cost nothing until attached.
 */
export class CacheMetrics {
  readonly #clock: () => number;
  readonly #l1Tier: EvictionSource | undefined;
  readonly #l2Tier: CircuitSource | undefined;
  readonly #l1Name: string;
  readonly #l2Name: string;
  readonly #analyzer: CacheAnalyzer | undefined;
  readonly #thresholds: ResolvedHealthThresholds;
  readonly #maxSeries: number;
  readonly #window = new RateWindow(KINDS);

  #startTime: number;
  #hits = 0;
  #misses = 0;
  #l1Hits = 0;
  #l2Hits = 0;
  #staleHits = 0;
  #evictions = 0;
  #loads = 0;
  #loadErrors = 0;
  #loadTimeouts = 0;
  #earlyRefreshes = 0;
  #staleRefreshes = 0;
  #tierErrors = 0;
  #corruptPayloads = 0;
  #circuitOpens = 0;
  #busPublished = 0;
  #busReceived = 0;
  #staleServed: Record<StaleReason, number> = {
    revalidating: 0,
    'fail-safe': 0,
    'soft-timeout': 0,
  };
  readonly #otherTierHits = new Map<string, number>();
  readonly #evictionsByReason = new Map<string, number>();
  readonly #tierErrorsBy = new Map<
    string,
    { -readonly [K in keyof TierErrorCount]: TierErrorCount[K] }
  >();
  readonly #circuit = new Map<string, string>();
  readonly #loadLatency = new LatencyHistogram();
  readonly #loadErrorLatency = new LatencyHistogram();
  readonly #latency = new Map<
    string,
    { tier: string; operation: string; histogram: LatencyHistogram }
  >();

  #recordListeners: readonly MetricRecordListener[] = [];
  readonly #detachers = new Set<() => void>();
  #tierDetach: (() => void) | undefined;

  /** Throws {@link InvalidOptionsError} for a bad option. Counts nothing until attached. */
  constructor(options?: CacheMetricsOptions) {
    const o = parseOptions(schema, options);
    this.#clock = o.clock ?? coarseClock();
    this.#l1Tier = o.l1Tier;
    this.#l2Tier = o.l2Tier;
    this.#l1Name = o.l1Tier?.name ?? 'l1';
    this.#l2Name = o.l2Tier?.name ?? 'l2';
    this.#analyzer = o.analyzer;
    this.#thresholds = { ...DEFAULT_HEALTH_THRESHOLDS, ...o.health };
    this.#maxSeries = o.maxSeries ?? 64;
    this.#startTime = this.#clock();
  }

  /**
   * Creates metrics and attaches them to `cache` in one line; `metrics.detach()` stops.
   * Throws {@link InvalidOptionsError} for a bad option.
   */
  static attach(cache: CacheEventSource, options?: CacheMetricsOptions): CacheMetrics {
    const metrics = new CacheMetrics(options);
    metrics.attach(cache);
    return metrics;
  }

  /**
   * Counts `cache`'s events (and the `l1Tier`'s evictions and the `l2Tier`'s circuit state)
   * until the returned function is called. Several caches may feed one `CacheMetrics`.
   */
  attach(cache: CacheEventSource): () => void {
    const offs = [
      cache.on('hit', this.#onHit),
      cache.on('miss', this.#onMiss),
      cache.on('load', this.#onLoad),
      cache.on('load:error', this.#onLoadError),
      cache.on('stale:served', this.#onStaleServed),
      cache.on('refresh', this.#onRefresh),
      cache.on('tier:error', this.#onTierError),
    ];
    if (this.#detachers.size === 0) this.#attachTiers();
    const detach = (): void => {
      if (!this.#detachers.delete(detach)) return;
      for (const off of offs) off();
      if (this.#detachers.size === 0) this.#detachTiers();
    };
    this.#detachers.add(detach);
    return detach;
  }

  /** Stops counting events of every attached cache and tier. Counts are kept. */
  detach(): void {
    for (const detach of [...this.#detachers]) detach();
  }

  // --- counters, under the guide's names ---------------------------------------------------

  /** Hits from any tier. */
  get hits(): number {
    return this.#hits;
  }
  get misses(): number {
    return this.#misses;
  }
  get l1Hits(): number {
    return this.#l1Hits;
  }
  get l2Hits(): number {
    return this.#l2Hits;
  }
  get evictions(): number {
    return this.#evictions;
  }
  /** When counting started (construction or the last `reset()`), ms since the epoch. */
  get startTime(): number {
    return this.#startTime;
  }
  /** Tier name → circuit state, for tiers with a circuit breaker. */
  get circuitStates(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.#circuit);
  }

  // --- recording (called by the event listeners, and open to manual use) ---------------------

  /** Counts a hit served by `tier` (stale or not). */
  recordHit(tier: string, stale = false): void {
    const now = this.#clock();
    let label = tier;
    this.#hits++;
    if (tier === this.#l1Name) {
      this.#l1Hits++;
      this.#window.add2(K_HIT, K_L1HIT, now);
    } else {
      if (tier === this.#l2Name) this.#l2Hits++;
      else label = this.#bump(this.#otherTierHits, tier);
      this.#window.add(K_HIT, now);
    }
    if (stale) this.#staleHits++;
    if (this.#recordListeners.length !== 0) this.#emit({ type: 'hit', tier: label, stale });
  }

  /** The guide's `recordL1Hit()`. */
  recordL1Hit(): void {
    this.recordHit(this.#l1Name);
  }

  /** The guide's `recordL2Hit()`. */
  recordL2Hit(): void {
    this.recordHit(this.#l2Name);
  }

  /** Counts a miss: no tier had a usable value. */
  recordMiss(): void {
    this.#misses++;
    this.#window.add(K_MISS, this.#clock());
    if (this.#recordListeners.length !== 0) this.#emit({ type: 'miss' });
  }

  /** Counts an eviction (the guide's `recordEviction()`); `l1Tier` evictions are counted for you. */
  recordEviction(reason = 'capacity', tier: string = this.#l1Name): void {
    this.#evictions++;
    this.#window.add(K_EVICT, this.#clock());
    const label = this.#bump(this.#evictionsByReason, reason);
    if (this.#recordListeners.length !== 0) this.#emit({ type: 'eviction', tier, reason: label });
  }

  /** Counts a loader call that resolved after `durationMs`. */
  recordLoad(durationMs: number): void {
    this.#loads++;
    this.#window.add(K_LOAD, this.#clock());
    this.#loadLatency.observe(durationMs);
    if (this.#recordListeners.length !== 0) this.#emit({ type: 'load', durationMs });
  }

  /** Counts a loader call that failed after `durationMs` (a timeout when `error.code` says so). */
  recordLoadError(durationMs: number, error?: unknown): void {
    this.#loadErrors++;
    const timeout = codeOf(error) === LOADER_TIMEOUT;
    if (timeout) this.#loadTimeouts++;
    this.#window.add(K_LOAD_ERROR, this.#clock());
    this.#loadErrorLatency.observe(durationMs);
    if (this.#recordListeners.length !== 0) {
      this.#emit({ type: 'load-error', durationMs, timeout });
    }
  }

  /** Counts a stale value served, by reason. */
  recordStaleServed(reason: StaleReason): void {
    if (Object.hasOwn(this.#staleServed, reason)) this.#staleServed[reason]++;
    if (this.#recordListeners.length !== 0) this.#emit({ type: 'stale-served', reason });
  }

  /** Counts a tier failure by tier, operation and `error.code`; corrupt payloads also apart. */
  recordTierError(tier: string, operation: string, error: unknown): void {
    let code = codeOf(error);
    const corrupt = code === CORRUPT;
    this.#tierErrors++;
    if (corrupt) this.#corruptPayloads++;
    let id = `${tier}\u0000${operation}\u0000${code}`;
    let entry = this.#tierErrorsBy.get(id);
    if (entry === undefined && this.#tierErrorsBy.size >= this.#maxSeries) {
      code = OTHER;
      id = `${tier}\u0000${operation}\u0000${OTHER}`;
      entry = this.#tierErrorsBy.get(id);
    }
    if (entry === undefined) {
      entry = { tier, operation, code, count: 0 };
      this.#tierErrorsBy.set(id, entry);
    }
    entry.count++;
    if (this.#recordListeners.length !== 0) {
      this.#emit({ type: 'tier-error', tier, operation, code: entry.code, corrupt });
    }
  }

  /** Counts a message on the invalidation bus (for `@tiercache/invalidation`). */
  recordBusMessage(direction: BusDirection = 'received'): void {
    if (direction === 'published') this.#busPublished++;
    else this.#busReceived++;
    if (this.#recordListeners.length !== 0) this.#emit({ type: 'bus', direction });
  }

  /** Records a circuit breaker state change of `tier`; `l2Tier`'s are recorded for you. */
  recordCircuit(tier: string, state: string): void {
    if (!this.#circuit.has(tier) && this.#circuit.size >= this.#maxSeries) return;
    this.#circuit.set(tier, state);
    if (state === 'open') this.#circuitOpens++;
    if (this.#recordListeners.length !== 0) this.#emit({ type: 'circuit', tier, state });
  }

  /**
   * Records how long `operation` on `tier` took (e.g. your own timing of an L2 `get`), in a
   * histogram per tier and operation.
   */
  recordLatency(tier: string, operation: string, durationMs: number): void {
    let id = `${tier}\u0000${operation}`;
    let series = this.#latency.get(id);
    if (series === undefined) {
      if (this.#latency.size >= this.#maxSeries) {
        tier = OTHER;
        operation = OTHER;
        id = `${OTHER}\u0000${OTHER}`;
        series = this.#latency.get(id);
      }
      if (series === undefined) {
        series = { tier, operation, histogram: new LatencyHistogram() };
        this.#latency.set(id, series);
      }
    }
    series.histogram.observe(durationMs);
    if (this.#recordListeners.length !== 0) {
      this.#emit({ type: 'latency', tier: series.tier, operation: series.operation, durationMs });
    }
  }

  /**
   * Calls `listener` with every record counted from now on (for OpenTelemetry, StatsD or the
   * Prometheus exporter). Returns a function that unsubscribes. A listener that throws does not
   * disturb counting: its error is rethrown asynchronously.
   */
  onRecord(listener: MetricRecordListener): () => void {
    this.#recordListeners = [...this.#recordListeners, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list = [...this.#recordListeners];
      list.splice(list.indexOf(listener), 1);
      this.#recordListeners = list;
    };
  }

  // --- reading ----------------------------------------------------------------------------

  /** Every count, ratio, per-minute rate and latency summary, as numbers. */
  snapshot(): CacheMetricsSnapshot {
    const now = this.#clock();
    const accesses = this.#hits + this.#misses;
    const ratio = (part: number, whole: number): number => (whole === 0 ? 0 : part / whole);
    const hitsByTier: Record<string, number> = {};
    if (this.#l1Hits > 0) hitsByTier[this.#l1Name] = this.#l1Hits;
    if (this.#l2Hits > 0) hitsByTier[this.#l2Name] = this.#l2Hits;
    for (const [tier, n] of this.#otherTierHits) hitsByTier[tier] = n;
    const hitsPerMinute = this.#perMinute(K_HIT, now);
    const missesPerMinute = this.#perMinute(K_MISS, now);
    return {
      startTime: this.#startTime,
      uptimeMs: now - this.#startTime,
      hits: this.#hits,
      misses: this.#misses,
      l1Hits: this.#l1Hits,
      l2Hits: this.#l2Hits,
      hitsByTier,
      staleHits: this.#staleHits,
      evictions: this.#evictions,
      evictionsByReason: Object.fromEntries(this.#evictionsByReason),
      loads: this.#loads,
      loadErrors: this.#loadErrors,
      loadTimeouts: this.#loadTimeouts,
      staleServed: { ...this.#staleServed },
      refreshes: { early: this.#earlyRefreshes, stale: this.#staleRefreshes },
      tierErrors: this.#tierErrors,
      tierErrorsBy: [...this.#tierErrorsBy.values()].map((e) => ({ ...e })),
      corruptPayloads: this.#corruptPayloads,
      busMessages: { published: this.#busPublished, received: this.#busReceived },
      circuit: Object.fromEntries(this.#circuit),
      circuitOpens: this.#circuitOpens,
      hitRate: ratio(this.#hits, accesses),
      missRate: ratio(this.#misses, accesses),
      l1HitShare: ratio(this.#l1Hits, this.#hits),
      l2HitShare: ratio(this.#l2Hits, this.#hits),
      evictionRate: ratio(this.#evictions, accesses),
      perMinute: {
        requests: hitsPerMinute + missesPerMinute,
        hits: hitsPerMinute,
        misses: missesPerMinute,
        evictions: this.#perMinute(K_EVICT, now),
        loads: this.#perMinute(K_LOAD, now),
        loadErrors: this.#perMinute(K_LOAD_ERROR, now),
      },
      loadLatency: this.#loadLatency.snapshot(),
      loadErrorLatency: this.#loadErrorLatency.snapshot(),
      latency: [...this.#latency.values()].map(({ tier, operation, histogram }) => ({
        tier,
        operation,
        ...histogram.snapshot(),
      })),
    };
  }

  /** The guide's `getMetrics()` JSON, for a `/metrics/cache` endpoint. */
  getMetrics(): GuideMetrics {
    const now = this.#clock();
    const total = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      l1Hits: this.#l1Hits,
      l2Hits: this.#l2Hits,
      evictions: this.#evictions,
      hitRate: percent(this.#hits, total),
      l1HitPercent: percent(this.#l1Hits, this.#hits),
      l2HitPercent: percent(this.#l2Hits, this.#hits),
      avgHitRate: `${this.#perMinute(K_HIT, now).toFixed(2)} hits/min`,
      avgMissRate: `${this.#perMinute(K_MISS, now).toFixed(2)} misses/min`,
    };
  }

  /**
   * The guide's target metrics checked: hit rate > 85 %, L1 share of hits > 70 %, evictions
   * per access < 5 % (thresholds from the `health` option), and no open circuit.
   */
  health(): HealthReport {
    const t = this.#thresholds;
    const circuits = Object.fromEntries(this.#circuit);
    const hasL1 = this.#l1Tier !== undefined || this.#l1Hits > 0;
    if (t.window === 'minute') {
      const now = this.#clock();
      return evaluateHealth(
        {
          hits: this.#window.sum(K_HIT, now),
          misses: this.#window.sum(K_MISS, now),
          l1Hits: this.#window.sum(K_L1HIT, now),
          evictions: this.#window.sum(K_EVICT, now),
          hasL1,
          circuits,
        },
        t,
      );
    }
    return evaluateHealth(
      {
        hits: this.#hits,
        misses: this.#misses,
        l1Hits: this.#l1Hits,
        evictions: this.#evictions,
        hasL1,
        circuits,
      },
      t,
    );
  }

  /**
   * Sets every count back to zero and `startTime` to now (the guide's `reset()`). Circuit
   * states are kept: they are states, not counts.
   */
  reset(): void {
    this.#startTime = this.#clock();
    this.#hits = 0;
    this.#misses = 0;
    this.#l1Hits = 0;
    this.#l2Hits = 0;
    this.#staleHits = 0;
    this.#evictions = 0;
    this.#loads = 0;
    this.#loadErrors = 0;
    this.#loadTimeouts = 0;
    this.#earlyRefreshes = 0;
    this.#staleRefreshes = 0;
    this.#tierErrors = 0;
    this.#corruptPayloads = 0;
    this.#circuitOpens = 0;
    this.#busPublished = 0;
    this.#busReceived = 0;
    this.#staleServed = { revalidating: 0, 'fail-safe': 0, 'soft-timeout': 0 };
    this.#otherTierHits.clear();
    this.#evictionsByReason.clear();
    this.#tierErrorsBy.clear();
    this.#loadLatency.reset();
    this.#loadErrorLatency.reset();
    this.#latency.clear();
    this.#window.reset();
  }

  // --- internals ----------------------------------------------------------------------------

  readonly #onHit = (e: HitEventLike): void => {
    this.recordHit(e.tier, e.stale);
    if (this.#analyzer !== undefined) this.#analyzer.recordKey(e.key, true);
  };
  readonly #onMiss = (e: MissEventLike): void => {
    this.recordMiss();
    if (this.#analyzer !== undefined) this.#analyzer.recordKey(e.key, false);
  };
  readonly #onLoad = (e: LoadEventLike): void => this.recordLoad(e.durationMs);
  readonly #onLoadError = (e: LoadErrorEventLike): void =>
    this.recordLoadError(e.durationMs, e.error);
  readonly #onStaleServed = (e: StaleServedEventLike): void => this.recordStaleServed(e.reason);
  readonly #onRefresh = (e: RefreshEventLike): void => {
    if (e.early) this.#earlyRefreshes++;
    else this.#staleRefreshes++;
    if (this.#recordListeners.length !== 0) this.#emit({ type: 'refresh', early: e.early });
  };
  readonly #onTierError = (e: TierErrorEventLike): void =>
    this.recordTierError(e.tier, e.operation, e.error);

  #attachTiers(): void {
    const offs: (() => void)[] = [];
    const l1 = this.#l1Tier;
    if (l1 !== undefined) {
      offs.push(l1.on('evict', (e) => this.recordEviction(e.reason, l1.name)));
    }
    const l2 = this.#l2Tier;
    if (l2 !== undefined && typeof l2.on === 'function') {
      if (typeof l2.circuitState === 'string') this.#circuit.set(l2.name, l2.circuitState);
      offs.push(l2.on('circuit', (state) => this.recordCircuit(l2.name, state)));
    }
    this.#tierDetach = () => {
      for (const off of offs) off();
    };
  }

  #detachTiers(): void {
    this.#tierDetach?.();
    this.#tierDetach = undefined;
  }

  /** Adds 1 under `label` (or under 'other' past `maxSeries`); returns the label used. */
  #bump(map: Map<string, number>, label: string): string {
    const n = map.get(label);
    if (n !== undefined) {
      map.set(label, n + 1);
      return label;
    }
    const used = map.size >= this.#maxSeries ? OTHER : label;
    map.set(used, (map.get(used) ?? 0) + 1);
    return used;
  }

  #perMinute(kind: number, now: number): number {
    const elapsedSeconds = (now - this.#startTime) / 1000;
    const seconds = Math.min(60, Math.max(1, elapsedSeconds));
    return (this.#window.sum(kind, now) * 60) / seconds;
  }

  #emit(record: MetricRecord): void {
    const listeners = this.#recordListeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        (listeners[i] as MetricRecordListener)(record);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
