import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMemoryMonitor, type RedisMemorySample } from './redis-memory-monitor.js';

describe('RedisMemoryMonitor against a 2 MB allkeys-lru Redis', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedis({ maxmemory: '2mb', maxmemoryPolicy: 'allkeys-lru' });
    client = new Redis(server.options());
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  it('warns above the threshold and reports the evictions of a fill', async () => {
    const monitor = new RedisMemoryMonitor({ client, threshold: 0.85 });
    const warnings: RedisMemorySample[] = [];
    const evictions: RedisMemorySample[] = [];
    monitor.on('warning', (s) => warnings.push(s));
    monitor.on('evictions', (s) => evictions.push(s));

    const before = await monitor.check();
    expect(before).toMatchObject({ maxBytes: 2 * 1024 * 1024, policy: 'allkeys-lru' });
    expect(before.usageRatio).toBeLessThan(0.85);

    const value = 'x'.repeat(10_000);
    const pipeline = client.pipeline();
    for (let i = 0; i < 600; i++) pipeline.set(`fill:${i}`, value); // ~6 MB into 2 MB
    await pipeline.exec();

    const after = await monitor.check();
    expect(after.usageRatio).toBeGreaterThan(0.85);
    expect(after.aboveThreshold).toBe(true);
    expect(after.evictedDelta).toBeGreaterThan(0);
    expect(after.evictedKeys).toBe(before.evictedKeys + after.evictedDelta);
    expect(warnings).toEqual([after]);
    expect(evictions).toEqual([after]);
  });
});

describe('RedisMemoryMonitor against a default Redis (maxmemory 0)', () => {
  it('says unlimited, with no NaN or Infinity anywhere', async () => {
    await using server = await startRedis();
    const client = new Redis(server.options());
    try {
      const monitor = new RedisMemoryMonitor({ client });
      const sample = await monitor.check();

      expect(sample).toMatchObject({
        maxBytes: null,
        usageRatio: null,
        aboveThreshold: false,
        policy: 'noeviction',
        evictedDelta: 0,
      });
      expect(sample.usedBytes).toBeGreaterThan(0);
      for (const value of Object.values(sample)) {
        if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
      }
      expect(JSON.stringify(sample)).not.toMatch(/NaN|Infinity/);
    } finally {
      client.disconnect();
    }
  });

  it('samples on its timer once started, and stops cleanly', async () => {
    await using server = await startRedis();
    const client = new Redis(server.options());
    try {
      const monitor = new RedisMemoryMonitor({ client, interval: 50 });
      const samples: RedisMemorySample[] = [];
      const three = new Promise<void>((resolve) => {
        monitor.on('sample', (s) => {
          samples.push(s);
          if (samples.length === 3) resolve();
        });
      });
      monitor.start();
      await three;
      monitor.stop();

      expect(monitor.running).toBe(false);
      expect(monitor.lastSample).toBe(samples.at(-1));
    } finally {
      client.disconnect();
    }
  });
});
