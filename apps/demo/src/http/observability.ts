import type { HealthReport, LatencySnapshot } from '@tiercache/metrics';
import { within } from '../within.js';
import type { AppDeps } from './app.js';

const started = Date.now();

const round = (n: number | null, digits = 3): number | null =>
  n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits;

function percentiles(s: LatencySnapshot) {
  return {
    count: s.count,
    p50Ms: round(s.p50Ms),
    p90Ms: round(s.p90Ms),
    p99Ms: round(s.p99Ms),
    maxMs: round(s.maxMs),
  };
}

/**
 * `GET /metrics/cache`: the guide's JSON (`CacheMetrics.getMetrics()`: hits, misses, l1Hits,
 * l2Hits, evictions, hitRate, l1HitPercent, l2HitPercent, avgHitRate, avgMissRate) at the top
 * level, so the guide's consumers read it unchanged, plus what the dashboard shows: ratios as
 * numbers, latency percentiles, L1 size, the circuit and Redis memory.
 */
export function cacheReport(deps: AppDeps) {
  const { metrics, l1, l2, httpLatency, memory, guard } = deps.stack;
  const snapshot = metrics.snapshot();
  const sample = memory.lastSample;
  return {
    ...metrics.getMetrics(),
    instance: deps.instance,
    cacheDisabled: deps.cacheDisabled,
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
    ratios: {
      hitRate: snapshot.hitRate,
      l1HitShare: snapshot.l1HitShare,
      l2HitShare: snapshot.l2HitShare,
      missRate: snapshot.missRate,
    },
    perMinute: snapshot.perMinute,
    loads: snapshot.loads,
    loadErrors: snapshot.loadErrors,
    tierErrors: snapshot.tierErrors,
    latency: {
      http: percentiles(httpLatency.snapshot()),
      load: percentiles(snapshot.loadLatency),
    },
    l1: { size: l1.size, bytes: l1.calculatedSize },
    circuit: l2.circuitState,
    busMessages: snapshot.busMessages,
    bloom: guard.stats,
    redisMemory:
      sample === undefined
        ? null
        : {
            usedBytes: sample.usedBytes,
            maxBytes: sample.maxBytes,
            usageRatio: round(sample.usageRatio, 4),
            fragmentation: sample.fragmentation,
            evictedKeys: sample.evictedKeys,
            policy: sample.policy,
            time: new Date(sample.time).toISOString(),
          },
  };
}

interface Probe {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly error?: string;
}

async function probe(check: () => Promise<unknown>, timeoutMs = 1000): Promise<Probe> {
  const t0 = performance.now();
  try {
    await within(check(), timeoutMs, `no answer in ${timeoutMs} ms`);
    return { ok: true, latencyMs: round(performance.now() - t0, 2) ?? 0 };
  } catch (error) {
    return {
      ok: false,
      latencyMs: round(performance.now() - t0, 2) ?? 0,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** `GET /health`. */
export interface Health {
  /** `down`: PostgreSQL is unreachable (503); `degraded`: reads work, but not all caching. */
  readonly status: 'ok' | 'degraded' | 'down';
  readonly instance: string;
  readonly postgres: Probe & { readonly pool: { total: number; idle: number; waiting: number } };
  readonly redis: Probe;
  readonly circuit: string;
  readonly memory: {
    readonly usedBytes: number;
    readonly maxBytes: number | null;
    readonly usageRatio: number | null;
    readonly aboveThreshold: boolean;
    readonly policy: string;
  } | null;
  readonly cache: HealthReport;
}

/**
 * PostgreSQL and Redis answered a ping, the L2 circuit, the last Redis memory sample, and
 * the guide's target metrics (`CacheMetrics.health()`).
 */
export async function healthReport(deps: AppDeps): Promise<Health> {
  const [postgres, redis] = await Promise.all([
    probe(() => deps.pool.query('SELECT 1')),
    probe(() => deps.redis.ping()),
  ]);
  const { l2, memory, metrics } = deps.stack;
  const sample = memory.lastSample;
  const cache = metrics.health();
  const circuit = l2.circuitState;
  const status = !postgres.ok
    ? 'down'
    : !redis.ok || circuit !== 'closed' || sample?.aboveThreshold === true
      ? 'degraded'
      : 'ok';
  return {
    status,
    instance: deps.instance,
    postgres: {
      ...postgres,
      pool: {
        total: deps.pool.totalCount,
        idle: deps.pool.idleCount,
        waiting: deps.pool.waitingCount,
      },
    },
    redis,
    circuit,
    memory:
      sample === undefined
        ? null
        : {
            usedBytes: sample.usedBytes,
            maxBytes: sample.maxBytes,
            usageRatio: sample.usageRatio,
            aboveThreshold: sample.aboveThreshold,
            policy: sample.policy,
          },
    cache,
  };
}
