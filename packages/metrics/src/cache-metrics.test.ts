import { CacheManager } from '@tiercache/core';
import { memoryTier } from '@tiercache/l1';
import { describe, expect, it, vi } from 'vitest';
import { CacheAnalyzer } from './cache-analyzer.js';
import { CacheMetrics } from './cache-metrics.js';
import { InvalidOptionsError } from './errors.js';
import type { MetricRecord } from './records.js';
import { FailingTier, FakeCircuitTier, FakeEvents, MapTier, silentLogger } from './test-support.js';

/** A manager over a 2-entry memory L1 and a map L2, with metrics attached. */
function managerWithMetrics(options: { clock?: () => number } = {}) {
  const l1 = memoryTier({ max: 2 });
  const l2 = new MapTier('l2');
  const cache = new CacheManager({ l1, l2, jitter: 0, earlyRefresh: false, logger: silentLogger });
  const metrics = CacheMetrics.attach(cache, { l1Tier: l1, ...options });
  return { cache, l1, l2, metrics };
}

const fail = (): never => {
  throw new Error('database down');
};

describe('CacheMetrics on a real CacheManager', () => {
  it('counts a scripted sequence of hits, misses, loads and evictions exactly', async () => {
    const { cache, metrics } = managerWithMetrics();

    await cache.get('a', () => 'A'); // miss, load
    await cache.get('a', () => 'A'); // L1 hit
    await cache.get('b', () => 'B'); // miss, load
    await cache.get('c', () => 'C'); // miss, load; L1 (max 2) evicts 'a'
    await cache.get('a', () => 'A'); // L1 miss, L2 hit; L1 refill evicts 'b'
    await cache.get('a', () => 'A'); // L1 hit
    await expect(cache.get('x', fail)).rejects.toThrow('database down'); // miss, load error

    expect(metrics.snapshot()).toMatchObject({
      hits: 3,
      l1Hits: 2,
      l2Hits: 1,
      misses: 4,
      loads: 3,
      loadErrors: 1,
      evictions: 2,
      evictionsByReason: { capacity: 2 },
      hitsByTier: { l1: 2, l2: 1 },
    });
  });

  it('returns the guide-shaped getMetrics() JSON', async () => {
    const { cache, metrics } = managerWithMetrics();
    await cache.get('a', () => 1);
    await cache.get('a', () => 1);
    await cache.get('a', () => 1);
    await cache.get('a', () => 1);

    expect(metrics.getMetrics()).toEqual({
      hits: 3,
      misses: 1,
      l1Hits: 3,
      l2Hits: 0,
      evictions: 0,
      hitRate: '75.00%',
      l1HitPercent: '100.00%',
      l2HitPercent: '0.00%',
      avgHitRate: expect.stringMatching(/^\d+\.\d\d hits\/min$/),
      avgMissRate: expect.stringMatching(/^\d+\.\d\d misses\/min$/),
    });
  });

  it('says 0.00% rather than dividing by zero before any access', () => {
    const metrics = new CacheMetrics();

    expect(metrics.getMetrics()).toMatchObject({
      hitRate: '0.00%',
      l1HitPercent: '0.00%',
      l2HitPercent: '0.00%',
      avgHitRate: '0.00 hits/min',
    });
    expect(metrics.snapshot()).toMatchObject({ hitRate: 0, l1HitShare: 0, evictionRate: 0 });
  });

  it('counts values the guide would take for misses (0, false, null, empty string) as hits', async () => {
    const { cache, metrics } = managerWithMetrics();
    for (const [key, value] of [
      ['zero', 0],
      ['no', false],
    ] as const) {
      await cache.get(key, () => value);
      await cache.get(key, () => value);
    }

    expect(metrics.snapshot()).toMatchObject({ hits: 2, misses: 2, loads: 2 });
  });

  it('measures load latency from the load events, as a histogram', async () => {
    let now = 0;
    const cache = new CacheManager({ clock: () => now, logger: silentLogger, jitter: 0 });
    const metrics = CacheMetrics.attach(cache);

    for (let i = 1; i <= 100; i++) {
      await cache.get(`k${i}`, () => {
        now += i; // the loader "takes" i ms on the manager's clock
        return i;
      });
    }

    const { loadLatency } = metrics.snapshot();
    expect(loadLatency.count).toBe(100);
    expect(loadLatency.minMs).toBe(1);
    expect(loadLatency.maxMs).toBe(100);
    expect(loadLatency.p50Ms).toBeGreaterThanOrEqual(50 / 1.19);
    expect(loadLatency.p50Ms).toBeLessThanOrEqual(50 * 1.19);
    expect(loadLatency.p99Ms).toBeGreaterThanOrEqual(99 / 1.19);
  });

  it('counts failed loads apart, timeouts included', async () => {
    const cache = new CacheManager({ logger: silentLogger, hardTimeout: 10 });
    const metrics = CacheMetrics.attach(cache);
    vi.useFakeTimers();
    try {
      const slow = cache.get('slow', () => new Promise(() => {}));
      const assertion = expect(slow).rejects.toMatchObject({ code: 'E_LOADER_TIMEOUT' });
      await vi.advanceTimersByTimeAsync(10);
      await assertion;
    } finally {
      vi.useRealTimers();
    }

    expect(metrics.snapshot()).toMatchObject({ loads: 0, loadErrors: 1, loadTimeouts: 1 });
    expect(metrics.snapshot().loadErrorLatency.count).toBe(1);
  });

  it('counts stale values served, by reason', async () => {
    let now = 1_000;
    const cache = new CacheManager({
      l1: memoryTier({ clock: () => now }),
      clock: () => now,
      ttl: 100,
      maxStale: 10_000,
      jitter: 0,
      earlyRefresh: false,
      logger: silentLogger,
    });
    const metrics = CacheMetrics.attach(cache);
    await cache.get('k', () => 'v1');
    now += 200; // past its TTL, within maxStale

    expect(await cache.get('k', () => 'v2')).toBe('v1');
    const snapshot = metrics.snapshot();
    expect(snapshot.staleServed).toEqual({ revalidating: 1, 'fail-safe': 0, 'soft-timeout': 0 });
    expect(snapshot.staleHits).toBe(1);
    expect(snapshot.refreshes).toEqual({ early: 0, stale: 1 });
  });

  it('counts tier errors by tier, operation and code, and corrupt payloads apart', async () => {
    const cache = new CacheManager({
      l2: new FailingTier('l2', 'E_CORRUPT_PAYLOAD'),
      logger: silentLogger,
    });
    const metrics = CacheMetrics.attach(cache);

    await cache.get('k', () => 'v');
    await vi.waitFor(() => expect(metrics.snapshot().tierErrors).toBe(2)); // get, then set

    const snapshot = metrics.snapshot();
    expect(snapshot.corruptPayloads).toBe(2);
    expect(snapshot.tierErrorsBy).toEqual([
      { tier: 'l2', operation: 'get', code: 'E_CORRUPT_PAYLOAD', count: 1 },
      { tier: 'l2', operation: 'set', code: 'E_CORRUPT_PAYLOAD', count: 1 },
    ]);
  });

  it('feeds an analyzer with each key hit and miss', async () => {
    const analyzer = new CacheAnalyzer();
    const cache = new CacheManager({ l1: memoryTier(), logger: silentLogger });
    CacheMetrics.attach(cache, { analyzer });

    await cache.get('user:1', () => 1);
    await cache.get('user:1', () => 1);
    await cache.get('order:9', () => 9);

    expect(analyzer.getAnalysis()).toMatchObject({
      user: { total: 2, hits: 1, misses: 1 },
      order: { total: 1, hits: 0, misses: 1 },
    });
  });

  it('stops counting after detach, and so does the L1 eviction listener', async () => {
    const { cache, metrics } = managerWithMetrics();
    await cache.get('a', () => 1);
    metrics.detach();
    await cache.get('a', () => 1);
    await cache.get('b', () => 2);
    await cache.get('c', () => 3);

    expect(metrics.snapshot()).toMatchObject({ hits: 0, misses: 1, evictions: 0 });
  });
});

describe('CacheMetrics.attach', () => {
  it('subscribes to nothing until attached', () => {
    const events = new FakeEvents();
    const metrics = new CacheMetrics();
    expect(events.listenerCount()).toBe(0);

    const detach = metrics.attach(events);
    expect(events.listenerCount()).toBe(7);
    detach();
    expect(events.listenerCount()).toBe(0);
  });

  it('lets several caches feed one instance', () => {
    const a = new FakeEvents();
    const b = new FakeEvents();
    const metrics = new CacheMetrics();
    metrics.attach(a);
    metrics.attach(b);

    a.emit('hit', { key: 'k', tier: 'l1', stale: false });
    b.emit('miss', { key: 'k' });

    expect(metrics.snapshot()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('rejects an unknown option, naming it', () => {
    expect(() => new CacheMetrics({ clok: Date.now } as never)).toThrow(
      new InvalidOptionsError('options.clok: unknown option'),
    );
  });

  it('rejects an out-of-range health threshold, naming it', () => {
    expect(() => new CacheMetrics({ health: { minHitRate: 85 } })).toThrow(
      /^options\.health\.minHitRate: /,
    );
  });
});

describe('circuit state', () => {
  it('tracks the L2 circuit from its initial state through transitions', () => {
    const l2 = new FakeCircuitTier('l2');
    const events = new FakeEvents();
    const metrics = CacheMetrics.attach(events, { l2Tier: l2 });
    expect(metrics.circuitStates).toEqual({ l2: 'closed' });

    l2.transition('open');
    l2.transition('half-open');

    expect(metrics.snapshot()).toMatchObject({ circuit: { l2: 'half-open' }, circuitOpens: 1 });
  });

  it('subscribes to the tier once for several caches, and leaves with the last one', () => {
    const l2 = new FakeCircuitTier('l2');
    const metrics = new CacheMetrics({ l2Tier: l2 });
    const one = metrics.attach(new FakeEvents());
    const two = metrics.attach(new FakeEvents());
    expect(l2.listenerCount).toBe(1);

    one();
    expect(l2.listenerCount).toBe(1);
    two();
    expect(l2.listenerCount).toBe(0);
  });
});

describe('per-minute rates', () => {
  it('counts the events of the last 60 seconds only', () => {
    let now = 0;
    const metrics = new CacheMetrics({ clock: () => now });
    now = 60_000;
    for (let i = 0; i < 30; i++) metrics.recordMiss(); // at 60 s
    now = 90_000;
    for (let i = 0; i < 10; i++) metrics.recordL1Hit(); // at 90 s

    expect(metrics.snapshot().perMinute).toMatchObject({ hits: 10, misses: 30, requests: 40 });
    now = 120_500; // the misses of second 60 left the window
    expect(metrics.snapshot().perMinute).toMatchObject({ hits: 10, misses: 0 });
    now = 150_500;
    expect(metrics.snapshot().perMinute).toMatchObject({ hits: 0, misses: 0 });
  });

  it('extrapolates to a minute during the first minute', () => {
    let now = 0;
    const metrics = new CacheMetrics({ clock: () => now });
    now = 15_000;
    for (let i = 0; i < 5; i++) metrics.recordL2Hit();

    expect(metrics.snapshot().perMinute.hits).toBe(20);
    expect(metrics.getMetrics().avgHitRate).toBe('20.00 hits/min');
  });

  it('starts over after reset()', () => {
    let now = 0;
    const metrics = new CacheMetrics({ clock: () => now });
    metrics.recordMiss();
    now = 70_000;
    metrics.reset();
    metrics.recordMiss();

    expect(metrics.startTime).toBe(70_000);
    expect(metrics.snapshot()).toMatchObject({ misses: 1, perMinute: { misses: 60 } });
  });
});

describe('recording by hand', () => {
  it('caps the tier error breakdown at maxSeries, the rest under code "other"', () => {
    const metrics = new CacheMetrics({ maxSeries: 2 });
    for (const code of ['A', 'B', 'C', 'D']) {
      metrics.recordTierError('l2', 'get', Object.assign(new Error(code), { code }));
    }

    expect(metrics.snapshot().tierErrorsBy.map((e) => [e.code, e.count])).toEqual([
      ['A', 1],
      ['B', 1],
      ['other', 2],
    ]);
  });

  it('names an error without a code "unknown"', () => {
    const metrics = new CacheMetrics();
    metrics.recordTierError('l1', 'set', new TypeError('nope'));

    expect(metrics.snapshot().tierErrorsBy).toEqual([
      { tier: 'l1', operation: 'set', code: 'unknown', count: 1 },
    ]);
  });

  it('counts invalidation bus messages by direction', () => {
    const metrics = new CacheMetrics();
    metrics.recordBusMessage('published');
    metrics.recordBusMessage();
    metrics.recordBusMessage('received');

    expect(metrics.snapshot().busMessages).toEqual({ published: 1, received: 2 });
  });

  it('keeps a latency histogram per tier and operation', () => {
    const metrics = new CacheMetrics();
    for (let i = 0; i < 10; i++) metrics.recordLatency('l2', 'get', 2);
    metrics.recordLatency('l2', 'set', 5);

    expect(metrics.snapshot().latency).toEqual([
      expect.objectContaining({ tier: 'l2', operation: 'get', count: 10, p50Ms: 2, p99Ms: 2 }),
      expect.objectContaining({ tier: 'l2', operation: 'set', count: 1, maxMs: 5 }),
    ]);
  });

  it('delivers records to onRecord listeners until they unsubscribe', () => {
    const metrics = new CacheMetrics();
    const records: MetricRecord[] = [];
    const off = metrics.onRecord((r) => records.push(r));
    metrics.recordL1Hit();
    metrics.recordLoad(12);
    off();
    metrics.recordMiss();

    expect(records).toEqual([
      { type: 'hit', tier: 'l1', stale: false },
      { type: 'load', durationMs: 12 },
    ]);
  });

  it('zeroes every count on reset() but keeps circuit states', () => {
    const metrics = new CacheMetrics();
    metrics.recordL1Hit();
    metrics.recordEviction();
    metrics.recordCircuit('l2', 'open');
    metrics.reset();

    expect(metrics.snapshot()).toMatchObject({
      hits: 0,
      l1Hits: 0,
      evictions: 0,
      circuitOpens: 0,
      circuit: { l2: 'open' },
    });
  });
});
