import { startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CircuitState } from './circuit-breaker.js';
import { CircuitOpenError, L2TimeoutError } from './errors.js';
import type { RedisTierOptions } from './options.js';
import { type RedisTier, redisTier } from './redis-tier.js';

const TIMEOUT = 200;
// Timers on a loaded two-core CI box fire late; the point is "bounded", not "seconds".
const MARGIN = 150;
const OUTAGE_CODES = ['E_L2_UNAVAILABLE', 'E_L2_TIMEOUT'];

const tiers: RedisTier[] = [];

function tier(options: RedisTierOptions): RedisTier {
  const created = redisTier({
    commandTimeout: TIMEOUT,
    logger: { warn: vi.fn(), error: vi.fn(), debug: vi.fn() },
    ...options,
  });
  tiers.push(created);
  return created;
}

function record(t: RedisTier): CircuitState[] {
  const states: CircuitState[] = [];
  t.on('circuit', (state) => states.push(state));
  return states;
}

/** The rejection of `promise` and how long it took, in ms. */
async function timedRejection(promise: Promise<unknown>): Promise<[unknown, number]> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    return [error, performance.now() - started];
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await Promise.all(tiers.splice(0).map((t) => t.close()));
});

describe('redisTier when Redis is killed', () => {
  it('rejects every call with a typed error within commandTimeout', async () => {
    await using server = await startRedis();
    const t = tier({ connection: server.options(), circuitBreaker: false });
    await t.set('k', 'v', 60_000);
    await server.kill();
    for (const call of [() => t.get('k'), () => t.set('k', 1, 1_000), () => t.delete('k')]) {
      const [error, elapsed] = await timedRejection(call());
      expect(OUTAGE_CODES).toContain((error as { code?: string }).code);
      expect(elapsed).toBeLessThan(TIMEOUT + MARGIN);
    }
    const [manyError] = await timedRejection(t.getMany(['a', 'b']));
    expect(OUTAGE_CODES).toContain((manyError as { code?: string }).code);
  });

  it('opens the circuit after failureThreshold failures, then rejects at once without Redis', async () => {
    await using server = await startRedis();
    const client = new Redis({ ...server.options(), maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    const t = tier({ client, circuitBreaker: { failureThreshold: 3, resetTimeout: 60_000 } });
    const states = record(t);
    const unsubscribed = vi.fn();
    t.on('circuit', unsubscribed)();
    await t.set('k', 'v', 60_000);
    await server.kill();
    for (let i = 0; i < 3; i++) {
      expect(t.circuitState).toBe('closed');
      await expect(t.get('k')).rejects.toHaveProperty('code');
    }
    expect(t.circuitState).toBe('open');
    expect(states).toEqual(['open']);
    expect(unsubscribed).not.toHaveBeenCalled();

    const mget = vi.spyOn(client, 'mgetBuffer');
    const set = vi.spyOn(client, 'set');
    const [error, elapsed] = await timedRejection(t.get('k'));
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ code: 'E_CIRCUIT_OPEN' });
    expect(elapsed).toBeLessThan(20);
    await expect(t.set('k', 1, 1_000)).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(t.getMany(['k'])).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(t.delete('k')).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(t.clear()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(mget).not.toHaveBeenCalled();
    expect(set).not.toHaveBeenCalled();
    client.disconnect();
  });

  it('closes the circuit through a half-open probe after a restart', async () => {
    await using server = await startRedis();
    const t = tier({
      connection: server.options(),
      circuitBreaker: { failureThreshold: 2, resetTimeout: 300 },
    });
    const states = record(t);
    await t.set('k', 'v', 60_000);
    await server.kill();
    await vi.waitFor(
      async () => {
        await t.get('k').catch(() => undefined);
        expect(t.circuitState).toBe('open');
      },
      { timeout: 5_000, interval: 10 },
    );
    await server.restart();
    const restarted = performance.now();
    // Poll with real calls: the breaker only probes when a call arrives.
    await vi.waitFor(
      async () => {
        await t.get('k').catch(() => undefined);
        expect(t.circuitState).toBe('closed');
      },
      { timeout: 5_000, interval: 50 },
    );
    expect(performance.now() - restarted).toBeLessThan(5_000);
    expect(states).toContain('half-open');
    expect(states.at(-1)).toBe('closed');
    // The restarted server is empty (no persistence): a miss, then writes work again.
    expect(await t.get('k')).toBeUndefined();
    await t.set('k', 'again', 60_000);
    expect(await t.get('k')).toBe('again');
  });
});

describe('redisTier when Redis hangs (SIGSTOP)', () => {
  it('rejects get with L2TimeoutError within commandTimeout', async () => {
    await using server = await startRedis();
    const t = tier({ connection: server.options(), circuitBreaker: false });
    await t.set('k', 'v', 60_000);
    server.pause();
    try {
      const [error, elapsed] = await timedRejection(t.get('k'));
      expect(error).toBeInstanceOf(L2TimeoutError);
      expect(error).toMatchObject({ code: 'E_L2_TIMEOUT' });
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT - 5);
      expect(elapsed).toBeLessThan(TIMEOUT + MARGIN);
    } finally {
      server.resume();
    }
    expect(await t.get('k')).toBe('v');
  });

  it('times out every call of a batch and counts the batch as one failure', async () => {
    await using server = await startRedis();
    const t = tier({
      connection: server.options(),
      circuitBreaker: { failureThreshold: 2, resetTimeout: 60_000 },
    });
    await t.set('k', 'v', 60_000);
    server.pause();
    try {
      const results = await Promise.allSettled([t.get('a'), t.get('b'), t.get('c')]);
      expect(results.map((r) => r.status === 'rejected' && r.reason)).toEqual([
        expect.any(L2TimeoutError),
        expect.any(L2TimeoutError),
        expect.any(L2TimeoutError),
      ]);
      expect(t.circuitState).toBe('closed');
      await expect(t.set('k', 1, 1_000)).rejects.toBeInstanceOf(L2TimeoutError);
      expect(t.circuitState).toBe('open');
    } finally {
      server.resume();
    }
  });

  it('recovers once Redis answers again', async () => {
    await using server = await startRedis();
    const t = tier({ connection: server.options(), circuitBreaker: false });
    await t.set('k', 'v', 60_000);
    server.pause(TIMEOUT * 2);
    await expect(t.get('k')).rejects.toBeInstanceOf(L2TimeoutError);
    await vi.waitFor(async () => expect(await t.get('k')).toBe('v'), {
      timeout: 5_000,
      interval: 50,
    });
  });
});
