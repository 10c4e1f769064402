import { CacheManager } from '@tiercache/core';
import { memoryTier } from '@tiercache/l1';
import { register as globalRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CacheAnalyzer } from './cache-analyzer.js';
import { CacheMetrics } from './cache-metrics.js';
import { InvalidOptionsError } from './errors.js';
import { prometheusExporter } from './prometheus.js';
import { FailingTier, FakeCircuitTier, FakeEvents, MapTier, silentLogger } from './test-support.js';

/** `name{labels} value` lines of a text exposition, comments dropped. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

async function scenario() {
  const l1 = memoryTier({ max: 2 });
  const cache = new CacheManager({ l1, l2: new MapTier('l2'), logger: silentLogger, jitter: 0 });
  const analyzer = new CacheAnalyzer();
  const metrics = CacheMetrics.attach(cache, { l1Tier: l1, analyzer });
  const exporter = prometheusExporter({ metrics, analyzer });
  return { cache, metrics, analyzer, exporter };
}

describe('prometheusExporter', () => {
  it('exposes the documented counters with tier labels', async () => {
    const { cache, exporter } = await scenario();
    await cache.get('user:a', () => 1); // miss, load
    await cache.get('user:a', () => 1); // l1 hit
    await cache.get('user:b', () => 2); // miss, load
    await cache.get('user:c', () => 3); // miss, load, evicts user:a
    await cache.get('user:a', () => 1); // l2 hit, evicts user:b
    await expect(
      cache.get('order:x', () => Promise.reject(new Error('db down'))),
    ).rejects.toThrow();

    const text = await exporter.registry.metrics();
    const s = samples(text);
    expect(s.get('tiercache_hits_total{tier="l1"}')).toBe(1);
    expect(s.get('tiercache_hits_total{tier="l2"}')).toBe(1);
    expect(s.get('tiercache_misses_total')).toBe(4);
    expect(s.get('tiercache_loads_total')).toBe(3);
    expect(s.get('tiercache_load_errors_total{timeout="false"}')).toBe(1);
    expect(s.get('tiercache_evictions_total{tier="l1",reason="capacity"}')).toBe(2);
    expect(s.get('tiercache_load_duration_seconds_count{result="ok"}')).toBe(3);
    expect(s.get('tiercache_load_duration_seconds_bucket{le="+Inf",result="ok"}')).toBe(3);
    expect(s.get('tiercache_operation_requests_total{operation="user",result="hit"}')).toBe(2);
    expect(s.get('tiercache_operation_requests_total{operation="order",result="miss"}')).toBe(1);
    expect(text).toContain('# TYPE tiercache_hits_total counter');
    expect(text).toContain('# TYPE tiercache_load_duration_seconds histogram');
  });

  it('parses back through prom-client as JSON with the expected metric types', async () => {
    const { exporter } = await scenario();
    const json = await exporter.registry.getMetricsAsJSON();
    const types = Object.fromEntries(json.map((m) => [m.name, m.type]));

    expect(types).toMatchObject({
      tiercache_hits_total: 'counter',
      tiercache_misses_total: 'counter',
      tiercache_loads_total: 'counter',
      tiercache_load_errors_total: 'counter',
      tiercache_stale_served_total: 'counter',
      tiercache_tier_errors_total: 'counter',
      tiercache_corrupt_payloads_total: 'counter',
      tiercache_evictions_total: 'counter',
      tiercache_bus_messages_total: 'counter',
      tiercache_load_duration_seconds: 'histogram',
      tiercache_tier_duration_seconds: 'histogram',
      tiercache_circuit_state: 'gauge',
      tiercache_operation_requests_total: 'counter',
    });
  });

  it('keeps labels bounded: 1000 distinct keys make no more series than 3', async () => {
    const { cache, exporter } = await scenario();
    for (let i = 0; i < 3; i++) {
      await cache.get(`user:${i}`, () => i);
      await cache.get(`user:${i}`, () => i);
    }
    const before = samples(await exporter.registry.metrics()).size;

    for (let i = 3; i < 1000; i++) {
      await cache.get(`user:${i}`, () => i);
      await cache.get(`user:${i}`, () => i);
    }

    const after = samples(await exporter.registry.metrics());
    expect(after.size).toBe(before);
    expect([...after.keys()].some((series) => series.includes('user:'))).toBe(false);
  });

  it('labels tier errors by tier, operation and code, and counts corrupt payloads', async () => {
    const cache = new CacheManager({
      l2: new FailingTier('l2', 'E_CORRUPT_PAYLOAD'),
      logger: silentLogger,
    });
    const metrics = CacheMetrics.attach(cache);
    const { registry } = prometheusExporter({ metrics });
    await cache.get('k', () => 'v');

    const s = samples(await registry.metrics());
    expect(
      s.get('tiercache_tier_errors_total{tier="l2",operation="get",code="E_CORRUPT_PAYLOAD"}'),
    ).toBe(1);
    expect(s.get('tiercache_corrupt_payloads_total{tier="l2"}')).toBeGreaterThanOrEqual(1);
  });

  it('shows the circuit state as a gauge read at scrape time', async () => {
    const l2 = new FakeCircuitTier('l2');
    const metrics = CacheMetrics.attach(new FakeEvents(), { l2Tier: l2 });
    const { registry } = prometheusExporter({ metrics });

    expect(samples(await registry.metrics()).get('tiercache_circuit_state{tier="l2"}')).toBe(0);
    l2.transition('open');
    expect(samples(await registry.metrics()).get('tiercache_circuit_state{tier="l2"}')).toBe(2);
  });

  it('exports stale serving, bus messages and recorded tier latency', async () => {
    const metrics = new CacheMetrics();
    const { registry } = prometheusExporter({ metrics });
    metrics.recordStaleServed('fail-safe');
    metrics.recordBusMessage('published');
    metrics.recordLatency('l2', 'get', 3);

    const s = samples(await registry.metrics());
    expect(s.get('tiercache_stale_served_total{reason="fail-safe"}')).toBe(1);
    expect(s.get('tiercache_bus_messages_total{direction="published"}')).toBe(1);
    expect(
      s.get('tiercache_tier_duration_seconds_bucket{le="0.005",tier="l2",operation="get"}'),
    ).toBe(1);
    expect(
      s.get('tiercache_tier_duration_seconds_bucket{le="0.0025",tier="l2",operation="get"}'),
    ).toBe(0);
  });

  it('never goes backwards when the metrics are reset', async () => {
    const metrics = new CacheMetrics();
    const { registry } = prometheusExporter({ metrics });
    metrics.recordMiss();
    metrics.reset();
    metrics.recordMiss();

    expect(samples(await registry.metrics()).get('tiercache_misses_total')).toBe(2);
  });

  it('uses a new registry by default, never the global one', () => {
    const { registry } = prometheusExporter({ metrics: new CacheMetrics() });

    expect(registry).not.toBe(globalRegistry);
    expect(globalRegistry.getSingleMetric('tiercache_hits_total')).toBeUndefined();
  });

  it('registers in the registry it is given, under a custom prefix', async () => {
    const registry = new Registry();
    prometheusExporter({ metrics: new CacheMetrics(), registry, prefix: 'app_cache_' });

    expect(registry.getSingleMetric('app_cache_hits_total')).toBeDefined();
  });

  it('refuses a second exporter with the same names in one registry', () => {
    const registry = new Registry();
    prometheusExporter({ metrics: new CacheMetrics(), registry });

    expect(() => prometheusExporter({ metrics: new CacheMetrics(), registry })).toThrow(
      InvalidOptionsError,
    );
    expect(registry.getMetricsAsArray()).toHaveLength(14); // the first exporter's, intact
  });

  it('stops and unregisters on close()', async () => {
    const metrics = new CacheMetrics();
    const exporter = prometheusExporter({ metrics });
    exporter.close();
    metrics.recordMiss();

    expect(exporter.registry.getMetricsAsArray()).toHaveLength(0);
  });

  it('rejects a bad prefix, naming it', () => {
    expect(() => prometheusExporter({ metrics: new CacheMetrics(), prefix: 'bad-prefix' })).toThrow(
      /^options\.prefix: /,
    );
  });
});
