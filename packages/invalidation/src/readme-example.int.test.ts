import { CacheManager } from '@tiercache/core';
import { CACHE_KEYS, globMatcher } from '@tiercache/keys';
import { memoryTier } from '@tiercache/l1';
import { redisTier } from '@tiercache/redis';
import { startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import {
  createInvalidator,
  glob,
  invalidationRegistry,
  redisBus,
  redisTagVersions,
} from './index.js';

// The README's example, as written there (REDIS_URL pointed at a test server).
it('the README example runs', async () => {
  await using server = await startRedis();
  const redis = new Redis(server.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });

  const bus = redisBus({ client: redis, channel: 'updates:agents-api' });
  const cache = new CacheManager({
    l1: memoryTier({ max: 10_000 }),
    l2: redisTier({ client: redis, prefix: 'api:' }),
    bus,
    tagVersions: redisTagVersions({ client: redis, prefix: 'api:tag:' }),
    matchPattern: globMatcher,
    versionedWrites: true,
  });

  type Events = {
    'agent.updated': { agentId: string };
    'task.completed': { taskId: string; agentId: string };
  };
  const events = invalidationRegistry<Events>()
    .on('agent.updated', ({ agentId }) => ({
      keys: [CACHE_KEYS.AGENT(agentId), CACHE_KEYS.AGENT_STATS(agentId)],
      patterns: [glob`metrics:agent:${agentId}:*`],
    }))
    .on('task.completed', ({ taskId, agentId }) => ({
      keys: [CACHE_KEYS.TASK(taskId)],
      tags: [`agent:${agentId}`, 'leaderboard'],
    }));
  const invalidator = createInvalidator({ cache, events });

  const stats = await cache.get(CACHE_KEYS.AGENT_STATS('42'), () => ({ tasksDone: 17 }), {
    tags: ['agent:42', 'leaderboard'],
  });
  expect(stats).toEqual({ tasksDone: 17 });

  await invalidator.emit('task.completed', { taskId: 't1', agentId: '42' });
  await invalidator.invalidateTag('leaderboard');
  await invalidator.invalidatePattern(glob`tasks:agent:${'42'}:*`);
  await invalidator.clearTenant('acme');
  expect(
    await cache.get(CACHE_KEYS.AGENT_STATS('42'), () => ({ tasksDone: 18 }), {
      tags: ['agent:42', 'leaderboard'],
    }),
  ).toEqual({ tasksDone: 18 });

  await cache.close();
  await bus.close();
  redis.disconnect();
});
