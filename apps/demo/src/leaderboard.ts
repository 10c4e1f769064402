import type { DistributedLock } from '@tiercache/lock';
import type { Redis } from 'ioredis';
import type { Invalidations } from './cache/invalidation.js';
import {
  LEADERBOARD_SIZE,
  type Period,
  type Ranked,
  type Repository,
  StaleFencingTokenError,
  VOTE_WEIGHT,
} from './db/repository.js';
import type { Logger } from './log.js';
import { within } from './within.js';

// One hash tag per period, so the ranking, its staging copy and its fence share a Cluster slot.
const zsetKey = (p: Period) => `{lbz:${p}}`;
const stagingKey = (p: Period) => `{lbz:${p}}:staging`;
const fenceKey = (p: Period) => `{lbz:${p}}:fence`;
/** The resource name of a period's recompute lock. */
export const lockResource = (p: Period) => `leaderboard:${p}`;

/**
 * How long a read of the ranking waits for Redis before PostgreSQL ranks instead: the L2
 * tier's command timeout. Without it a hung Redis (SIGSTOP) held every leaderboard read for
 * the whole pause (the chaos suite's redis-pause p99 of 4 s).
 */
export const READ_TOP_TIMEOUT_MS = 250;

// Swaps the staged ranking in only if this recompute's fencing token is newer than the one
// that wrote the live ranking: a holder whose lock expired mid-way cannot overwrite it.
const SWAP = `
local current = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[1]) <= current then
  redis.call('DEL', KEYS[1])
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
else
  redis.call('DEL', KEYS[2])
end
redis.call('SET', KEYS[3], ARGV[1])
return 1`;

// A vote or a reputation change moves the agent in every ranking that exists. A ranking that
// does not exist yet is left alone: one member would look like a complete ranking.
const INCREMENT = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('ZINCRBY', KEYS[i], ARGV[1], ARGV[2])
  end
end
return 1`;

// Raises a counter to at least ARGV[1] (never lowers it).
const RAISE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

/** What one recompute did. */
export interface RecomputeResult {
  readonly period: Period;
  readonly fencingToken: number;
  /** Agents ranked (every active agent). */
  readonly agents: number;
  readonly top: readonly Ranked[];
  readonly durationMs: number;
}

/**
 * The leaderboards, kept the way the guide recommends: one Redis sorted set per period
 * (score = reputation + 10 × the period's votes), read with `ZREVRANGE`, moved by votes with
 * `ZINCRBY`, and recomputed from PostgreSQL under a distributed lock. The recompute stores
 * its top entries in PostgreSQL with the lock's fencing token, which the database checks.
 */
export class Leaderboards {
  readonly #redis: Redis;
  readonly #repo: Repository;
  readonly #locks: DistributedLock;
  readonly #invalidations: Invalidations;
  readonly #log: Logger;

  constructor(options: {
    redis: Redis;
    repo: Repository;
    locks: DistributedLock;
    invalidations: Invalidations;
    log: Logger;
  }) {
    this.#redis = options.redis;
    this.#repo = options.repo;
    this.#locks = options.locks;
    this.#invalidations = options.invalidations;
    this.#log = options.log;
  }

  /**
   * The top of the period's ranking from Redis; when Redis has none (first start, a flush),
   * recomputes it first, and as a last resort serves the last snapshot stored in PostgreSQL.
   */
  async top(period: Period): Promise<Ranked[]> {
    let live: Ranked[] | null;
    try {
      live = await this.#readTop(period);
    } catch (error) {
      // Redis is down or hung: PostgreSQL can rank as well (the query the recompute runs).
      this.#log.warn('leaderboard unavailable in Redis; ranking from PostgreSQL', {
        period,
        error,
      });
      return this.#repo.topScores(period);
    }
    if (live !== null) return live;
    try {
      await this.recompute(period);
    } catch (error) {
      this.#log.warn('leaderboard recompute failed; serving the stored snapshot', {
        period,
        error,
      });
    }
    let after: Ranked[] | null = null;
    try {
      after = await this.#readTop(period);
    } catch (error) {
      this.#log.warn('leaderboard unreadable after a recompute; serving the stored snapshot', {
        period,
        error,
      });
    }
    return after ?? (await this.#repo.savedLeaderboard(period));
  }

  /**
   * Recomputes the period's ranking under the lock `leaderboard:<period>`. With `retries: 0`
   * it gives up at once when another instance is recomputing (scheduled refreshes, the API).
   * @throws {LockNotAcquiredError} the lock stayed taken.
   * @throws {StaleFencingTokenError} a newer holder already wrote (our lock expired meanwhile).
   */
  recompute(period: Period, options: { retries?: number } = {}): Promise<RecomputeResult> {
    const started = performance.now();
    const retry = options.retries === undefined ? {} : { retries: options.retries };
    return this.#locks.executeWithLock(
      lockResource(period),
      async ({ fencingToken, signal }) => {
        const scores = await this.#repo.periodScores(period);
        signal.throwIfAborted();
        scores.sort((a, b) => b.score - a.score || (a.agent_id < b.agent_id ? -1 : 1));
        const top = scores
          .slice(0, LEADERBOARD_SIZE)
          .map((s, i) => ({ rank: i + 1, agent_id: s.agent_id, score: s.score }));
        try {
          await this.#repo.saveLeaderboard(period, fencingToken, top);
        } catch (error) {
          if (error instanceof StaleFencingTokenError) await this.syncFencingToken(period);
          throw error;
        }
        await this.#stageAndSwap(period, fencingToken, scores);
        await this.#invalidations.emit('LEADERBOARD_RECOMPUTED', { period });
        return {
          period,
          fencingToken,
          agents: scores.length,
          top,
          durationMs: Math.round(performance.now() - started),
        };
      },
      { retry },
    );
  }

  /** Moves an agent in every existing ranking after a vote. */
  async applyVote(agentId: string, value: number): Promise<void> {
    await this.#increment(agentId, VOTE_WEIGHT * value);
  }

  /** Moves an agent in every existing ranking after a reputation change. */
  async applyReputation(agentId: string, delta: number): Promise<void> {
    await this.#increment(agentId, delta);
  }

  /**
   * Raises the lock's fencing counter to the highest token PostgreSQL has accepted. Needed
   * when Redis lost the counter (a fresh Redis in front of a persistent database): tokens
   * would start again at 1 and every write would be refused.
   */
  async syncFencingToken(period: Period): Promise<void> {
    const highest = await this.#repo.highestFencingToken(period);
    if (highest === 0) return;
    // The counter key is documented by @tiercache/lock: `${prefix}{${resource}}:fence`.
    await this.#redis.eval(RAISE, 1, `lock:{${lockResource(period)}}:fence`, highest);
  }

  async #readTop(period: Period): Promise<Ranked[] | null> {
    const flat = await within(
      this.#redis.zrevrange(zsetKey(period), 0, LEADERBOARD_SIZE - 1, 'WITHSCORES'),
      READ_TOP_TIMEOUT_MS,
      `ZREVRANGE of the ${period} leaderboard took more than ${READ_TOP_TIMEOUT_MS} ms`,
    );
    if (flat.length === 0) return null;
    const out: Ranked[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      out.push({ rank: i / 2 + 1, agent_id: flat[i]!, score: Number(flat[i + 1]) });
    }
    return out;
  }

  async #stageAndSwap(
    period: Period,
    fencingToken: number,
    scores: readonly { agent_id: string; score: number }[],
  ): Promise<void> {
    const staging = stagingKey(period);
    const pipeline = this.#redis.pipeline().del(staging);
    for (let i = 0; i < scores.length; i += 1000) {
      const args: (string | number)[] = [];
      for (const s of scores.slice(i, i + 1000)) args.push(s.score, s.agent_id);
      pipeline.zadd(staging, ...args);
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    const swapped = await this.#redis.eval(
      SWAP,
      3,
      staging,
      zsetKey(period),
      fenceKey(period),
      fencingToken,
    );
    if (swapped !== 1) {
      this.#log.warn('leaderboard swap refused: a newer recompute already wrote', {
        period,
        fencingToken,
      });
    }
  }

  /**
   * Never fails the write it follows (already committed in PostgreSQL): when Redis cannot
   * apply it, the ranking lags until the next recompute (at most a minute for daily).
   */
  async #increment(agentId: string, delta: number): Promise<void> {
    try {
      await this.#redis.eval(INCREMENT, 2, zsetKey('daily'), zsetKey('weekly'), delta, agentId);
    } catch (error) {
      this.#log.warn('leaderboard increment failed; the next recompute catches up', {
        agentId,
        error,
      });
    }
  }
}
