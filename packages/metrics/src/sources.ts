/*
 * The few shapes this package reads from other tiercache packages, declared here so that
 * @tiercache/metrics depends on none of them: a CacheManager, a memory tier or a Redis tier
 * fits these interfaces structurally.
 */

/** Payload of a cache `'hit'` event. */
export interface HitEventLike {
  readonly key: string;
  /** The tier's name, e.g. `'l1'` or `'l2'`. */
  readonly tier: string;
  /** `true` when a stale value was served. */
  readonly stale: boolean;
}

/** Payload of a cache `'miss'` event. */
export interface MissEventLike {
  readonly key: string;
}

/** Payload of a cache `'load'` event. */
export interface LoadEventLike {
  readonly key: string;
  readonly durationMs: number;
}

/** Payload of a cache `'load:error'` event. */
export interface LoadErrorEventLike {
  readonly key: string;
  readonly error: unknown;
  readonly durationMs: number;
}

/** Why a stale value was served. */
export type StaleReason = 'revalidating' | 'fail-safe' | 'soft-timeout';

/** Payload of a cache `'stale:served'` event. */
export interface StaleServedEventLike {
  readonly key: string;
  readonly reason: StaleReason;
}

/** Payload of a cache `'refresh'` event. */
export interface RefreshEventLike {
  readonly key: string;
  readonly early: boolean;
}

/** Payload of a cache `'tier:error'` event. */
export interface TierErrorEventLike {
  readonly tier: string;
  readonly operation: string;
  readonly key?: string;
  readonly error: unknown;
}

/**
 * What {@link CacheMetrics.attach} and {@link CacheAnalyzer.attach} subscribe to: a
 * `CacheManager` of `@tiercache/core`, or anything with the same `on(event, listener)` that
 * returns an unsubscribe function.
 */
export interface CacheEventSource {
  on(event: 'hit', listener: (event: HitEventLike) => void): () => void;
  on(event: 'miss', listener: (event: MissEventLike) => void): () => void;
  on(event: 'load', listener: (event: LoadEventLike) => void): () => void;
  on(event: 'load:error', listener: (event: LoadErrorEventLike) => void): () => void;
  on(event: 'stale:served', listener: (event: StaleServedEventLike) => void): () => void;
  on(event: 'refresh', listener: (event: RefreshEventLike) => void): () => void;
  on(event: 'tier:error', listener: (event: TierErrorEventLike) => void): () => void;
}

/** The hit and miss events only: what {@link CacheAnalyzer.attach} needs. */
export interface HitMissSource {
  on(event: 'hit', listener: (event: HitEventLike) => void): () => void;
  on(event: 'miss', listener: (event: MissEventLike) => void): () => void;
}

/** An L1 tier that reports evictions, e.g. `memoryTier()` of `@tiercache/l1`. */
export interface EvictionSource {
  readonly name: string;
  on(
    event: 'evict',
    listener: (event: { readonly key: string; readonly reason: string }) => void,
  ): () => void;
}

/**
 * An L2 tier, e.g. `redisTier()` of `@tiercache/redis`. Only `name` is required; when it has a
 * circuit breaker (`circuitState` and `on('circuit')`), its state is tracked.
 */
export interface CircuitSource {
  readonly name: string;
  readonly circuitState?: string;
  on?(event: 'circuit', listener: (state: string) => void): () => void;
}
