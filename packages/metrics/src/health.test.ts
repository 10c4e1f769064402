import { describe, expect, it } from 'vitest';
import { CacheMetrics } from './cache-metrics.js';
import { FakeCircuitTier, FakeEvents } from './test-support.js';

function metricsWith(counts: { l1: number; l2: number; misses: number; evictions?: number }) {
  const metrics = new CacheMetrics();
  for (let i = 0; i < counts.l1; i++) metrics.recordL1Hit();
  for (let i = 0; i < counts.l2; i++) metrics.recordL2Hit();
  for (let i = 0; i < counts.misses; i++) metrics.recordMiss();
  for (let i = 0; i < (counts.evictions ?? 0); i++) metrics.recordEviction();
  return metrics;
}

describe('CacheMetrics.health', () => {
  it('is ok when the guide targets are met', () => {
    const report = metricsWith({ l1: 80, l2: 10, misses: 10, evictions: 4 }).health();

    expect(report.status).toBe('ok');
    expect(report.accesses).toBe(100);
    expect(report.checks.map((c) => [c.name, c.status, c.value])).toEqual([
      ['hit-rate', 'pass', 0.9],
      ['l1-share', 'pass', 80 / 90],
      ['eviction-rate', 'pass', 0.04],
      ['circuit', 'skip', null],
    ]);
  });

  it('reports insufficient data below 100 accesses', () => {
    const report = metricsWith({ l1: 99, l2: 0, misses: 0 }).health();

    expect(report.status).toBe('insufficient-data');
    expect(report.checks.filter((c) => c.status === 'skip').map((c) => c.name)).toEqual([
      'hit-rate',
      'l1-share',
      'eviction-rate',
      'circuit',
    ]);
  });

  it('is degraded at a hit rate of 85 % or less', () => {
    const report = metricsWith({ l1: 85, l2: 0, misses: 15 }).health();

    expect(report.status).toBe('degraded');
    expect(report.checks[0]).toMatchObject({
      name: 'hit-rate',
      status: 'fail',
      value: 0.85,
      threshold: 0.85,
      message: 'hit rate 85.00% <= 85.00%',
    });
  });

  it('is degraded when L1 answers 70 % of hits or less', () => {
    const report = metricsWith({ l1: 60, l2: 35, misses: 5 }).health();

    expect(report.status).toBe('degraded');
    expect(report.checks.find((c) => c.name === 'l1-share')).toMatchObject({ status: 'fail' });
  });

  it('skips the L1 share when no L1 is known', () => {
    const report = metricsWith({ l1: 0, l2: 95, misses: 5 }).health();

    expect(report.status).toBe('ok');
    expect(report.checks.find((c) => c.name === 'l1-share')).toMatchObject({ status: 'skip' });
  });

  it('is degraded at 5 % evictions per access or more', () => {
    const report = metricsWith({ l1: 95, l2: 0, misses: 5, evictions: 5 }).health();

    expect(report.status).toBe('degraded');
    expect(report.checks.find((c) => c.name === 'eviction-rate')).toMatchObject({
      status: 'fail',
      value: 0.05,
    });
  });

  it('is degraded while a circuit is open, even with little data', () => {
    const l2 = new FakeCircuitTier('l2');
    const metrics = CacheMetrics.attach(new FakeEvents(), { l2Tier: l2 });
    l2.transition('open');

    const report = metrics.health();
    expect(report.status).toBe('degraded');
    expect(report.checks.at(-1)).toMatchObject({ name: 'circuit', status: 'fail', value: 1 });
  });

  it('takes custom thresholds', () => {
    const metrics = new CacheMetrics({ health: { minHitRate: 0.5, minAccesses: 10 } });
    for (let i = 0; i < 6; i++) metrics.recordL1Hit();
    for (let i = 0; i < 4; i++) metrics.recordMiss();

    expect(metrics.health().status).toBe('ok');
  });

  it("judges the last minute only with window: 'minute'", () => {
    let now = 0;
    const metrics = new CacheMetrics({ clock: () => now, health: { window: 'minute' } });
    for (let i = 0; i < 200; i++) metrics.recordMiss(); // a cold start
    now = 120_000;
    for (let i = 0; i < 100; i++) metrics.recordL1Hit();

    expect(metrics.health().status).toBe('ok');
    expect(metrics.health().accesses).toBe(100);
  });
});
