import { RefreshScheduler, type WarmReport, warm } from '@tiercache/core';
import { TAGS } from './cache/invalidation.js';
import { POLICIES, ttlMs } from './cache/policies.js';
import type { CacheStack } from './cache/stack.js';
import type { Repository } from './db/repository.js';
import type { Leaderboards } from './leaderboard.js';
import type { Logger } from './log.js';

/** Live sessions warmed at most (the guide's `LIMIT 10000`). */
const SESSION_LIMIT = 10_000;

/**
 * The guide's startup warming, with core's `warm()`: active agents and live sessions from one
 * query each, the daily leaderboard, then the hot queries; progress is logged per spec.
 */
export async function warmCache(options: {
  stack: CacheStack;
  repo: Repository;
  leaderboards: Leaderboards;
  log: Logger;
  signal?: AbortSignal;
}): Promise<WarmReport> {
  const { stack, repo, leaderboards, log } = options;
  const agent = POLICIES.get('GET_AGENT');
  const session = POLICIES.get('GET_SESSION');
  const leaderboard = POLICIES.get('GET_LEADERBOARD');
  const popular = POLICIES.get('GET_POPULAR_AGENTS');
  const recent = POLICIES.get('GET_RECENT_TASKS');
  log.info('warming the cache');
  const report = await warm(
    stack.cache,
    [
      {
        name: 'active agents',
        entries: async () => (await repo.activeAgents()).map((a) => [agent.key(a.id), a] as const),
        ttl: ttlMs(agent.ttl),
      },
      {
        name: 'live sessions',
        entries: async () =>
          (await repo.liveSessions(SESSION_LIMIT)).map((s) => [session.key(s.id), s] as const),
        ttl: ttlMs(session.ttl),
      },
      {
        name: 'daily leaderboard',
        keys: [leaderboard.key('daily')],
        load: () => leaderboards.top('daily'),
        ttl: ttlMs(leaderboard.ttl),
        set: { tags: [TAGS.leaderboard] },
      },
      // The guide's hot query results, each with its own TTL.
      {
        name: 'hot query popular-agents',
        keys: [popular.key()],
        load: () => repo.popularAgents(),
        ttl: ttlMs(popular.ttl),
        set: { tags: [TAGS.leaderboard] },
      },
      {
        name: 'hot query recent-tasks',
        keys: [recent.key()],
        load: () => repo.recentTasks(),
        ttl: ttlMs(recent.ttl),
      },
    ],
    {
      concurrency: 8,
      progressEvery: 2_000,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onProgress: (p) => {
        if (p.finished) {
          log.info(`warmed ${p.name}`, {
            stored: p.stored,
            errors: p.errors,
            ms: Math.round(p.durationMs),
          });
        } else {
          log.info(`warming ${p.name}`, { done: p.done });
        }
      },
    },
  );
  log.info('cache warming finished', {
    status: report.status,
    stored: report.stored,
    errors: report.errors,
    ms: Math.round(report.durationMs),
  });
  return report;
}

/**
 * The guide's periodic refresh on core's `RefreshScheduler`: the daily leaderboard every
 * minute and the weekly one every 5 minutes (each run recomputes the Redis ranking under the
 * lock, unless another instance holds it, then caches the top), recent activity every 2.
 */
export function createRefreshScheduler(options: {
  stack: CacheStack;
  repo: Repository;
  leaderboards: Leaderboards;
  log: Logger;
}): RefreshScheduler {
  const { stack, repo, leaderboards, log } = options;
  const leaderboard = POLICIES.get('GET_LEADERBOARD');
  const recent = POLICIES.get('GET_RECENT_TASKS');
  const refreshLeaderboard = async (period: 'daily' | 'weekly') => {
    try {
      await leaderboards.recompute(period, { retries: 0 });
    } catch (error) {
      // Another instance is recomputing (or just did): reading its ranking is enough.
      log.debug('leaderboard recompute skipped', { period, error });
    }
    return leaderboards.top(period);
  };
  const scheduler = new RefreshScheduler({
    cache: stack.cache,
    logger: log,
    jobs: [
      {
        key: leaderboard.key('daily'),
        load: () => refreshLeaderboard('daily'),
        interval: 60_000,
        ttl: ttlMs(leaderboard.ttl),
      },
      {
        key: leaderboard.key('weekly'),
        load: () => refreshLeaderboard('weekly'),
        interval: 300_000,
        ttl: ttlMs(leaderboard.ttl),
      },
      {
        key: recent.key(),
        load: () => repo.recentTasks(),
        interval: 120_000,
        ttl: ttlMs(recent.ttl),
      },
    ],
  });
  scheduler.on('refresh', ({ key, durationMs }) =>
    log.debug('refreshed', { key, ms: Math.round(durationMs) }),
  );
  scheduler.on('refresh:error', ({ key, error, consecutiveFailures }) =>
    log.warn('refresh failed', { key, error, consecutiveFailures }),
  );
  return scheduler;
}
