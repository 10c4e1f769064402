import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, MemoryCheckError } from './errors.js';
import {
  INFO_MEMORY_LIMITED,
  INFO_MEMORY_UNLIMITED,
  INFO_STATS,
  statsWithEvicted,
} from './redis-info.fixtures.js';
import { RedisMemoryMonitor, type RedisMemorySample } from './redis-memory-monitor.js';

/** A client whose INFO replies the test sets; `fail` makes the next call reject. */
function fakeClient(memory = INFO_MEMORY_LIMITED, stats = statsWithEvicted(0)) {
  const client = {
    memory,
    stats,
    fail: undefined as Error | undefined,
    calls: 0,
    async info(section: string): Promise<string> {
      client.calls++;
      if (client.fail) throw client.fail;
      return section === 'memory' ? client.memory : client.stats;
    },
  };
  return client;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 5_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RedisMemoryMonitor.check', () => {
  it('samples memory against maxmemory', async () => {
    const monitor = new RedisMemoryMonitor({ client: fakeClient(), clock: () => 42 });

    expect(await monitor.check()).toEqual({
      time: 42,
      usedBytes: 1_900_000,
      rssBytes: 4_000_000,
      peakBytes: 1_950_000,
      maxBytes: 2_097_152,
      usageRatio: 1_900_000 / 2_097_152,
      fragmentation: 2.1,
      evictedKeys: 0,
      evictedDelta: 0,
      policy: 'allkeys-lru',
      aboveThreshold: true,
    });
  });

  it('says unlimited (null), not Infinity or NaN, when maxmemory is 0', async () => {
    const monitor = new RedisMemoryMonitor({
      client: fakeClient(INFO_MEMORY_UNLIMITED, INFO_STATS),
    });
    const warnings: RedisMemorySample[] = [];
    monitor.on('warning', (s) => warnings.push(s));

    const sample = await monitor.check();
    expect(sample).toMatchObject({
      maxBytes: null,
      usageRatio: null,
      aboveThreshold: false,
      policy: 'noeviction',
    });
    expect(Object.values(sample).every((v) => typeof v !== 'number' || Number.isFinite(v))).toBe(
      true,
    );
    expect(warnings).toEqual([]);
  });

  it("emits 'warning' above the threshold, and not below", async () => {
    const client = fakeClient();
    const monitor = new RedisMemoryMonitor({ client, threshold: 0.95 });
    const warnings: number[] = [];
    monitor.on('warning', (s) => warnings.push(s.usageRatio as number));

    await monitor.check(); // 0.906
    client.memory = INFO_MEMORY_LIMITED.replace('used_memory:1900000', 'used_memory:2000000');
    await monitor.check(); // 0.954

    expect(warnings).toEqual([2_000_000 / 2_097_152]);
  });

  it("reports keys evicted since the previous sample and emits 'evictions'", async () => {
    const client = fakeClient(INFO_MEMORY_LIMITED, statsWithEvicted(100));
    const monitor = new RedisMemoryMonitor({ client });
    const deltas: number[] = [];
    monitor.on('evictions', (s) => deltas.push(s.evictedDelta));

    expect((await monitor.check()).evictedDelta).toBe(0); // the baseline
    client.stats = statsWithEvicted(130);
    expect(await monitor.check()).toMatchObject({ evictedKeys: 130, evictedDelta: 30 });
    await monitor.check(); // nothing new

    expect(deltas).toEqual([30]);
  });

  it('counts from zero again after the server counter went back (restart)', async () => {
    const client = fakeClient(INFO_MEMORY_LIMITED, statsWithEvicted(500));
    const monitor = new RedisMemoryMonitor({ client });
    await monitor.check();
    client.stats = statsWithEvicted(7);

    expect((await monitor.check()).evictedDelta).toBe(7);
  });

  it('rejects with MemoryCheckError keeping the cause, without emitting error', async () => {
    const client = fakeClient();
    client.fail = new Error('connection closed');
    const monitor = new RedisMemoryMonitor({ client });
    const errors: unknown[] = [];
    monitor.on('error', (e) => errors.push(e));

    const error = await monitor.check().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemoryCheckError);
    expect(error).toMatchObject({ code: 'E_MEMORY_CHECK', cause: client.fail });
    expect(errors).toEqual([]);
    expect(monitor.failures).toBe(1);
  });

  it('rejects a reply without used_memory', async () => {
    const monitor = new RedisMemoryMonitor({ client: fakeClient('# Memory\r\n', '') });

    await expect(monitor.check()).rejects.toThrow(/no used_memory/);
  });
});

describe('RedisMemoryMonitor.start/stop', () => {
  it('checks at once, then every interval', async () => {
    const client = fakeClient();
    const monitor = new RedisMemoryMonitor({ client, interval: 1_000 });
    const samples: RedisMemorySample[] = [];
    monitor.on('sample', (s) => samples.push(s));

    monitor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(samples).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(samples).toHaveLength(4);
    monitor.stop();
  });

  it('is idempotent: start twice makes one timer, stop twice is harmless', async () => {
    const client = fakeClient();
    const monitor = new RedisMemoryMonitor({ client, interval: 1_000 });
    monitor.start();
    monitor.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(client.calls).toBe(4); // two checks, two INFO calls each

    monitor.stop();
    monitor.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(client.calls).toBe(4);
  });

  it('unrefs its timer so it never keeps the process alive', () => {
    const unref = vi.fn();
    const timers = {
      setInterval: vi.fn(() => ({ unref })),
      clearInterval: vi.fn(),
    };
    const monitor = new RedisMemoryMonitor({ client: fakeClient(), interval: 500, timers });
    monitor.start();

    expect(timers.setInterval).toHaveBeenCalledWith(expect.any(Function), 500);
    expect(unref).toHaveBeenCalledOnce();
    monitor.stop();
    expect(timers.clearInterval).toHaveBeenCalledWith({ unref });
  });

  it("emits a failed timer check as 'error' instead of throwing", async () => {
    const client = fakeClient();
    client.fail = new Error('NOAUTH');
    const monitor = new RedisMemoryMonitor({ client, interval: 1_000 });
    const errors: MemoryCheckError[] = [];
    monitor.on('error', (e) => errors.push(e));

    monitor.start();
    await vi.advanceTimersByTimeAsync(1_000);
    monitor.stop();

    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(MemoryCheckError);
    expect(monitor.failures).toBe(2);
  });

  it("survives failures with no 'error' listener, counting them", async () => {
    const client = fakeClient();
    client.fail = new Error('down');
    const monitor = new RedisMemoryMonitor({ client, interval: 1_000 });
    monitor.start();
    await vi.advanceTimersByTimeAsync(2_000);
    monitor.stop();

    expect(monitor.failures).toBe(3);
  });

  it('does not overlap a check that is still waiting for Redis', async () => {
    let release: (() => void) | undefined;
    let calls = 0;
    const client = {
      info: (section: string) => {
        calls++;
        return new Promise<string>((resolve) => {
          release = () => resolve(section === 'memory' ? INFO_MEMORY_LIMITED : statsWithEvicted(0));
        });
      },
    };
    const monitor = new RedisMemoryMonitor({ client, interval: 100 });
    monitor.start();
    await vi.advanceTimersByTimeAsync(1_000);

    expect(calls).toBe(2); // the first check's two INFO calls, still pending
    monitor.stop();
    release?.();
  });

  it('emits nothing for a check that finishes after stop()', async () => {
    let resolveMemory: ((text: string) => void) | undefined;
    const client = {
      info: (section: string) =>
        section === 'memory'
          ? new Promise<string>((resolve) => {
              resolveMemory = resolve;
            })
          : Promise.resolve(statsWithEvicted(0)),
    };
    const monitor = new RedisMemoryMonitor({ client });
    const samples: unknown[] = [];
    monitor.on('sample', (s) => samples.push(s));
    monitor.start();
    monitor.stop();
    resolveMemory?.(INFO_MEMORY_LIMITED);
    await vi.advanceTimersByTimeAsync(0);

    expect(samples).toEqual([]);
    expect(monitor.lastSample).toBeUndefined();
  });

  it('stops when disposed', () => {
    const monitor = new RedisMemoryMonitor({ client: fakeClient() });
    {
      using m = monitor;
      m.start();
      expect(m.running).toBe(true);
    }
    expect(monitor.running).toBe(false);
  });
});

describe('RedisMemoryMonitor options', () => {
  it('rejects a client without info()', () => {
    expect(() => new RedisMemoryMonitor({ client: {} as never })).toThrow(
      /^options\.client: expected an object with info\(\)/,
    );
  });

  it('rejects a threshold above 1, naming it', () => {
    expect(() => new RedisMemoryMonitor({ client: fakeClient(), threshold: 85 })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new RedisMemoryMonitor({ client: fakeClient(), threshold: 85 })).toThrow(
      /^options\.threshold: /,
    );
  });

  it('rejects an unknown event name', () => {
    const monitor = new RedisMemoryMonitor({ client: fakeClient() });
    expect(() => monitor.on('critical' as never, () => {})).toThrow(InvalidOptionsError);
  });
});
