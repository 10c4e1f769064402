import type { RedisServer } from '@tiercache/test-servers';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CacheEvents } from './events.js';
import {
  L2_KINDS,
  type RealRedis,
  type RealSetup,
  startRealRedis,
} from './test-support/real-tiers.js';

// Redis dies or hangs under a CacheManager: every get still answers from the loader, each
// bounded by the tier's commandTimeout; L2 hits resume once Redis is back.
//
// Standalone: the only server is killed (SIGKILL) or paused (SIGSTOP).
// Cluster (3 masters, no replicas, cluster-require-full-coverage no): one master is killed
// or paused, with no replica to take over (a replica would be promoted after the 2 s node
// timeout: that case is cache-manager-failover.int.test.ts). Keys in its slots go to the
// loader while keys on the other masters still hit L2. (All masters down would only repeat the
// standalone case: the client has no node left and fails fast.) While a master is down,
// ioredis keeps retrying its slots, so each read of one of its keys costs the full
// commandTimeout; reads of other keys succeed in between and keep the tier-wide circuit
// closed.

const COMMAND_TIMEOUT = 250;
/**
 * Scheduling slack on a loaded two-core CI box. A get that waited for ioredis to
 * reconnect (seconds of back-off) or for a paused Redis would blow through it.
 */
const MARGIN = 500;
const BOUND = COMMAND_TIMEOUT + MARGIN;
/**
 * How soon after `restart()`/`resume()` L2 must answer again. A restarted Cluster master
 * refuses its slots for about 2 s by itself (Redis's CLUSTER_WRITABLE_DELAY), then the open
 * circuit waits for its reset timeout.
 */
const RECOVERY = 5_000;
const OUTAGE_CODES = ['E_L2_UNAVAILABLE', 'E_L2_TIMEOUT', 'E_CIRCUIT_OPEN'];
const TIER = {
  commandTimeout: COMMAND_TIMEOUT,
  // A short reset, so the circuit closes soon after Redis is back.
  circuitBreaker: { failureThreshold: 5, resetTimeout: 500 },
} as const;

/** Runs `get` and returns its value with how long it took (ms). */
async function timed<T>(get: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await get();
  return [value, performance.now() - started];
}

describe.each(L2_KINDS)('CacheManager when Redis fails (%s Redis)', (kind) => {
  let fx: RealRedis;
  beforeAll(async () => {
    fx = await startRealRedis(kind, { replicas: false });
  });
  afterEach(async () => {
    for (const server of fx.servers) server.resume();
    await fx.cleanup();
    // A restarted Cluster master rejoins after a delay; the next test needs every slot.
    await fx.untilHealthy();
  });
  afterAll(() => fx?.stop());

  /**
   * A manager without L1 (so only L2 or the loader can answer) and `count` keys, each
   * loaded once and stored in L2: `down` keys live on `victim`, `up` keys on other masters
   * (none on standalone Redis, where the victim holds everything).
   */
  async function arrange(count: number) {
    const prefix = fx.prefix();
    const m = await fx.manager({ prefix, l1: false, tier: TIER });
    const victim = fx.servers[0] as RedisServer;
    const down: string[] = [];
    const up: string[] = [];
    for (let i = 0; down.length < count || (kind === 'cluster' && up.length < count); i++) {
      const key = `k${i}`;
      const list = (await fx.ownerOf(prefix + key)) === victim ? down : up;
      if (list.length < count) list.push(key);
    }
    for (const key of [...down, ...up]) await m.cache.set(key, `cached ${key}`);
    expect(m.of('tier:error')).toEqual([]);
    return { prefix, m, victim, down, up };
  }

  /**
   * Reads every key once (a victim key, then a healthy one, alternately) with a loader
   * that answers at once; returns the slowest get. Victim keys must come from the loader,
   * healthy ones from L2.
   */
  async function readAll(m: RealSetup, down: string[], up: string[]): Promise<number> {
    const loader = vi.fn(({ key }: { key: string }) => `loaded ${key}`);
    let slowest = 0;
    for (let i = 0; i < Math.max(down.length, up.length); i++) {
      for (const [key, expected] of [
        [down[i], 'loaded'],
        [up[i], 'cached'],
      ] as const) {
        if (key === undefined) continue;
        const [value, elapsed] = await timed(() => m.cache.get(key, loader));
        expect(value).toBe(`${expected} ${key}`);
        slowest = Math.max(slowest, elapsed);
      }
    }
    expect(loader).toHaveBeenCalledTimes(down.length);
    return slowest;
  }

  /**
   * The tier errors `m` emitted: outage codes, only for keys of the failed server. (On a
   * Cluster, ioredis sometimes gives up on a dead master's slot with its last `MOVED`
   * reply: the Redis tier reports that as E_L2_UNAVAILABLE, an outage.)
   */
  function outageErrors(m: RealSetup, down: string[]): CacheEvents['tier:error'][] {
    const errors = m.of('tier:error');
    for (const e of errors) {
      expect(down).toContain(e.key);
      expect(OUTAGE_CODES).toContain(e.error.code);
    }
    return errors;
  }

  /**
   * Once Redis is back (restarted or resumed), within RECOVERY: a value set through `m`
   * becomes an L2 hit for a new instance, and `m` reads L2 again (its circuit closed).
   */
  async function expectL2Back(m: RealSetup, prefix: string, keys: string[]): Promise<void> {
    const restarted = performance.now();
    const other = await fx.manager({ prefix, l1: false, tier: TIER });
    // The loader stores nothing (undefined): a miss while Redis is still coming back
    // leaves nothing behind that could pass for a hit on the next attempt.
    const nothing = vi.fn(() => undefined);
    await vi.waitFor(
      async () => {
        for (const key of keys) {
          await m.cache.set(key, `after ${key}`);
          expect(await other.cache.get(key, nothing)).toBe(`after ${key}`);
        }
      },
      { timeout: RECOVERY, interval: 50 },
    );
    expect(performance.now() - restarted).toBeLessThan(RECOVERY);
    for (const key of keys) expect(await m.cache.get(key, nothing)).toBe(`after ${key}`);
    expect(m.of('hit').slice(-keys.length)).toEqual(
      keys.map((key) => ({ key, tier: 'l2', stale: false })),
    );
  }

  describe('killed (SIGKILL)', () => {
    it('answers every get from the loader within commandTimeout, emitting tier:error', async () => {
      const { m, victim, down, up } = await arrange(6);
      await victim.kill();
      try {
        const slowest = await readAll(m, down, up);
        expect(slowest).toBeLessThan(BOUND);
        expect(outageErrors(m, down).length).toBeGreaterThan(0);
      } finally {
        await victim.restart();
      }
    });

    it('reads L2 again within 5 s of a restart (the circuit closes)', async () => {
      const { prefix, m, victim, down, up } = await arrange(6);
      await victim.kill();
      try {
        await readAll(m, down, up);
      } finally {
        await victim.restart();
      }
      await expectL2Back(m, prefix, down.slice(0, 2));
    });
  });

  describe('paused (SIGSTOP)', () => {
    it('no get waits longer than commandTimeout: the loader answers', async () => {
      const { m, victim, down, up } = await arrange(6);
      victim.pause();
      let slowest: number;
      try {
        slowest = await readAll(m, down, up);
      } finally {
        victim.resume();
      }
      expect(slowest).toBeLessThan(BOUND);
      expect(outageErrors(m, down).map((e) => e.error.code)).toContain('E_L2_TIMEOUT');
    });

    it('reads L2 again within 5 s of resuming', async () => {
      const { prefix, m, victim, down, up } = await arrange(6);
      victim.pause();
      try {
        await readAll(m, down, up);
      } finally {
        victim.resume();
      }
      await expectL2Back(m, prefix, down.slice(0, 2));
    });
  });
});
