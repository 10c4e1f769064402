import { CacheManager } from '@tiercache/core';
import { memoryTier } from '@tiercache/l1';
import { describe, expect, it } from 'vitest';
import { CacheAnalyzer, firstSegment, recommend } from './cache-analyzer.js';
import { InvalidOptionsError } from './errors.js';
import { silentLogger } from './test-support.js';

function recordMany(analyzer: CacheAnalyzer, operation: string, hits: number, misses: number) {
  for (let i = 0; i < hits; i++) analyzer.record(operation, true);
  for (let i = 0; i < misses; i++) analyzer.record(operation, false);
}

describe('recommend (the guide thresholds)', () => {
  it.each([
    [99, 99, 'insufficient-data', 'Insufficient data (< 100 accesses)'],
    [100, 91, 'excellent', 'Excellent - Consider increasing TTL'],
    [100, 90, 'good', 'Good - Current configuration optimal'],
    [100, 81, 'good', 'Good - Current configuration optimal'],
    [100, 80, 'fair', 'Fair - Consider increasing TTL or cache size'],
    [100, 71, 'fair', 'Fair - Consider increasing TTL or cache size'],
    [100, 70, 'poor', 'Poor - Investigate cache strategy or data volatility'],
    [1000, 0, 'poor', 'Poor - Investigate cache strategy or data volatility'],
  ])('%i accesses with %i hits → %s', (accesses, hits, level, recommendation) => {
    expect(recommend(accesses, hits)).toEqual({ level, recommendation });
  });

  it('treats exactly 90 % as good, not excellent (the guide compares with >)', () => {
    expect(recommend(1000, 900).level).toBe('good');
  });

  it('names a custom minimum in the insufficient-data text', () => {
    expect(recommend(10, 10, 20).recommendation).toBe('Insufficient data (< 20 accesses)');
  });
});

describe('CacheAnalyzer', () => {
  it('analyzes each operation with hit rate, recommendation and level, busiest first', () => {
    const analyzer = new CacheAnalyzer();
    recordMany(analyzer, 'getAgent', 95, 5);
    recordMany(analyzer, 'listTasks', 150, 50);
    recordMany(analyzer, 'rare', 3, 0);

    expect(analyzer.analyze()).toEqual([
      {
        operation: 'listTasks',
        accesses: 200,
        hits: 150,
        misses: 50,
        hitRate: 0.75,
        level: 'fair',
        recommendation: 'Fair - Consider increasing TTL or cache size',
      },
      {
        operation: 'getAgent',
        accesses: 100,
        hits: 95,
        misses: 5,
        hitRate: 0.95,
        level: 'excellent',
        recommendation: 'Excellent - Consider increasing TTL',
      },
      {
        operation: 'rare',
        accesses: 3,
        hits: 3,
        misses: 0,
        hitRate: 1,
        level: 'insufficient-data',
        recommendation: 'Insufficient data (< 100 accesses)',
      },
    ]);
  });

  it("keeps the guide's getAnalysis() shape", () => {
    const analyzer = new CacheAnalyzer();
    analyzer.recordAccess('search', true);
    analyzer.recordAccess('search', false);

    expect(analyzer.getAnalysis()).toEqual({
      search: {
        total: 2,
        hits: 1,
        misses: 1,
        hitRate: '50.00%',
        recommendation: 'Insufficient data (< 100 accesses)',
      },
    });
  });

  it('classifies keys by their first segment by default', () => {
    const analyzer = new CacheAnalyzer();
    analyzer.recordKey('agent:42:profile', true);
    analyzer.recordKey('agent:7', false);
    analyzer.recordKey('health', true);

    expect(analyzer.operations).toEqual(['agent', 'health']);
    expect(firstSegment('a:b:c')).toBe('a');
  });

  it('uses a custom classifier', () => {
    const analyzer = new CacheAnalyzer({ classify: (key) => key.split(':')[1] ?? 'none' });
    analyzer.recordKey('tenant1:orders:9', true);

    expect(analyzer.operations).toEqual(['orders']);
  });

  it('caps distinct operations, counting the rest under "other"', () => {
    const analyzer = new CacheAnalyzer({ classify: (key) => key, maxOperations: 3 });
    for (let i = 0; i < 1000; i++) analyzer.recordKey(`user:${i}`, i % 2 === 0);

    expect(analyzer.operations).toEqual(['user:0', 'user:1', 'user:2', 'other']);
    expect(analyzer.analyze().find((a) => a.operation === 'other')?.accesses).toBe(997);
  });

  it('counts the hits and misses of an attached CacheManager until detached', async () => {
    const cache = new CacheManager({ l1: memoryTier(), logger: silentLogger });
    const analyzer = new CacheAnalyzer();
    const detach = analyzer.attach(cache);
    await cache.get('user:1', () => 'ada');
    await cache.get('user:1', () => 'ada');
    detach();
    await cache.get('user:1', () => 'ada');

    expect(analyzer.analyze()).toMatchObject([{ operation: 'user', hits: 1, misses: 1 }]);
  });

  it('forgets everything on reset()', () => {
    const analyzer = new CacheAnalyzer();
    analyzer.record('x', true);
    analyzer.reset();

    expect(analyzer.analyze()).toEqual([]);
  });

  it('rejects a bad option, naming it', () => {
    expect(() => new CacheAnalyzer({ maxOperations: 0 })).toThrow(InvalidOptionsError);
    expect(() => new CacheAnalyzer({ maxOperations: 0 })).toThrow(/^options\.maxOperations: /);
  });
});
