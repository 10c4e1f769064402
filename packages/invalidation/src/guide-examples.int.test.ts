import { EventEmitter, once } from 'node:events';
import { CacheManager } from '@tiercache/core';
import { CACHE_KEYS, globMatcher } from '@tiercache/keys';
import { memoryTier } from '@tiercache/l1';
import { redisTier } from '@tiercache/redis';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { GUIDE_ENDPOINT_POLICIES, TTL_PRESETS } from '@tiercache/ttl';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { invalidationRegistry } from './event-registry.js';
import { glob } from './glob.js';
import { createInvalidator, type Invalidator } from './invalidator.js';
import { type RedisBus, redisBus } from './redis-bus.js';
import { redisTagVersions } from './redis-tag-versions.js';

// The guide's "Cache Invalidation" examples (Strategy 2, 3 and 4), each rewritten against
// this package, run by two instances sharing one Redis: what one invalidates, the other
// stops serving. The "database" is an in-memory map standing in for PostgreSQL.

type Agent = { id: string; name: string; reputation: number };
type Task = { id: string; agentId: string; status: 'open' | 'done' };

/** The guide's events, typed. */
type GuideEvents = {
  'agent:updated': { agentId: string };
  'task:created': { taskId: string; agentId: string };
  'task:completed': { taskId: string; agentId: string };
  // The names GUIDE_ENDPOINT_POLICIES lists in invalidateOn.
  AGENT_UPDATED: { agentId: string };
  AGENT_DELETED: { agentId: string };
  TASK_COMPLETED: { taskId: string; agentId: string };
  TASK_FAILED: { taskId: string; agentId: string };
  VOTE_SUBMITTED: { agentId: string };
  AGENT_REPUTATION_CHANGED: { agentId: string };
  TASK_CREATED: { taskId: string; agentId: string };
  TASK_STATUS_CHANGED: { taskId: string; agentId: string };
};

const quiet = { warn() {}, error() {}, debug() {} };
const PERIODS = ['daily', 'weekly'];
const STATUSES = ['open', 'done'] as const;

/** What each event invalidates: the guide's explicit deletes plus the ENDPOINT_CACHE_CONFIG policies. */
const registry = invalidationRegistry<GuideEvents>()
  .fromPolicies(GUIDE_ENDPOINT_POLICIES, {
    AGENT_UPDATED: { GET_AGENT: (e, { key }) => key(e.agentId) },
    AGENT_DELETED: { GET_AGENT: (e, { key }) => key(e.agentId) },
    TASK_COMPLETED: { GET_AGENT_STATS: (e, { key }) => key(e.agentId) },
    TASK_FAILED: { GET_AGENT_STATS: (e, { key }) => key(e.agentId) },
    VOTE_SUBMITTED: { GET_LEADERBOARD: (_, { key }) => PERIODS.map((p) => key(p)) },
    AGENT_REPUTATION_CHANGED: { GET_LEADERBOARD: (_, { key }) => PERIODS.map((p) => key(p)) },
    TASK_CREATED: { GET_TASKS: (e, { key }) => STATUSES.map((s) => key(e.agentId, s)) },
    TASK_STATUS_CHANGED: { GET_TASKS: (e, { key }) => STATUSES.map((s) => key(e.agentId, s)) },
  })
  // updateAgent: AGENT, AGENT_STATS and every period of AGENT_METRICS (the guide's
  // `del(AGENT_METRICS(agentId))` names no period and deletes nothing: a pattern does).
  .on('agent:updated', ({ agentId }) => ({
    keys: [CACHE_KEYS.AGENT(agentId), CACHE_KEYS.AGENT_STATS(agentId)],
    patterns: [glob`metrics:agent:${agentId}:*`],
  }))
  // createTask: the agent's task lists (all statuses: GET_TASKS keys carry one) and the
  // daily leaderboard.
  .on('task:created', ({ agentId, taskId }) => ({
    keys: [CACHE_KEYS.LEADERBOARD('daily')],
    patterns: [glob`tasks:agent:${agentId}:*`],
    tags: [`task:${taskId}`],
  }))
  // The task:completed listener.
  .on('task:completed', ({ taskId, agentId }) => ({
    keys: [
      CACHE_KEYS.TASK(taskId),
      CACHE_KEYS.AGENT_STATS(agentId),
      CACHE_KEYS.LEADERBOARD('daily'),
    ],
  }));

let server: RedisServer;
let client: Redis;

interface Instance {
  cache: CacheManager;
  bus: RedisBus;
  invalidator: Invalidator<GuideEvents>;
}
let a: Instance;
let b: Instance;
let db: { agents: Map<string, Agent>; tasks: Map<string, Task>; reads: number };

function instance(): Instance {
  const bus = redisBus({ client, channel: 'updates:guide', logger: quiet });
  const cache = new CacheManager({
    l1: memoryTier({ max: 10_000 }),
    l2: redisTier({ client, prefix: 'guide:', logger: quiet }),
    bus,
    tagVersions: redisTagVersions({ client, prefix: 'guide:tag:' }),
    matchPattern: globMatcher,
    versionedWrites: true,
    jitter: 0,
    earlyRefresh: false,
    logger: quiet,
  });
  return { cache, bus, invalidator: createInvalidator({ cache, events: registry }) };
}

beforeAll(async () => {
  server = await startRedis();
  client = new Redis({ ...server.options(), enableAutoPipelining: true });
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  await client.flushall();
  db = {
    agents: new Map([['a1', { id: 'a1', name: 'Ada', reputation: 10 }]]),
    tasks: new Map(),
    reads: 0,
  };
  a = instance();
  b = instance();
  await Promise.all([a.bus.ready(), b.bus.ready()]);
});

afterEach(async () => {
  for (const x of [a, b]) {
    await x.cache.close();
    await x.bus.close();
  }
});

/** Resolves once `x` has received `n` bus messages (the other instance's invalidations). */
function messages(x: Instance, n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const off = x.bus.on('received', () => {
      if (++seen === n) {
        off();
        resolve();
      }
    });
  });
}

// Reads through the cache, as the guide's data layer does.
const getAgent = (x: Instance, id: string) =>
  x.cache.get(
    CACHE_KEYS.AGENT(id),
    () => {
      db.reads++;
      return structuredClone(db.agents.get(id) ?? null);
    },
    { policy: GUIDE_ENDPOINT_POLICIES.get('GET_AGENT') },
  );
const agentStats = (x: Instance, id: string) =>
  x.cache.get(
    CACHE_KEYS.AGENT_STATS(id),
    () => {
      db.reads++;
      return { tasks: [...db.tasks.values()].filter((t) => t.agentId === id).length };
    },
    { tags: [`agent:${id}`, `stats:agent:${id}`, 'leaderboard', 'metrics', 'agent:all'] },
  );
const tasksOf = (x: Instance, agentId: string, status: 'open' | 'done') =>
  x.cache.get(GUIDE_ENDPOINT_POLICIES.get('GET_TASKS').key(agentId, status), () => {
    db.reads++;
    return [...db.tasks.values()].filter((t) => t.agentId === agentId && t.status === status);
  });

describe('the guide’s examples, on two instances', () => {
  it('updateAgent: the agent, its stats and all its metrics periods are dropped everywhere', async () => {
    await getAgent(b, 'a1');
    await agentStats(b, 'a1');
    await b.cache.get(CACHE_KEYS.AGENT_METRICS('a1', 'daily'), () => ({ calls: 1 }));

    // async updateAgent(agentId, updates)
    const updateAgent = async (agentId: string, updates: Partial<Agent>) => {
      const agent = { ...db.agents.get(agentId)!, ...updates };
      db.agents.set(agentId, agent);
      await a.invalidator.emit('agent:updated', { agentId });
      return agent;
    };
    const heard = messages(b, 2); // keys, then pattern
    await updateAgent('a1', { name: 'Ada Lovelace' });
    await heard;

    expect((await getAgent(b, 'a1'))?.name).toBe('Ada Lovelace');
    expect(
      await b.cache.get(CACHE_KEYS.AGENT_METRICS('a1', 'daily'), () => ({ calls: 2 })),
    ).toEqual({ calls: 2 });
  });

  it('createTask: the agent’s task lists (every status) and the daily leaderboard', async () => {
    expect(await tasksOf(b, 'a1', 'open')).toEqual([]);
    await b.cache.get(CACHE_KEYS.LEADERBOARD('daily'), () => ['a1']);

    // async createTask(task)
    const createTask = async (task: Task) => {
      db.tasks.set(task.id, task);
      await a.invalidator.emit('task:created', { taskId: task.id, agentId: task.agentId });
      // And the policies' own event: GET_TASKS keys for every status.
      await a.invalidator.emit('TASK_CREATED', { taskId: task.id, agentId: task.agentId });
      return task;
    };
    const heard = messages(b, 4); // keys + pattern + tags, then keys
    await createTask({ id: 't1', agentId: 'a1', status: 'open' });
    await heard;

    expect(await tasksOf(b, 'a1', 'open')).toEqual([{ id: 't1', agentId: 'a1', status: 'open' }]);
    expect(await b.cache.get(CACHE_KEYS.LEADERBOARD('daily'), () => ['a1', 'new'])).toEqual([
      'a1',
      'new',
    ]);
  });

  it('the task:completed listener invalidates the task, the agent stats and the leaderboard', async () => {
    db.tasks.set('t1', { id: 't1', agentId: 'a1', status: 'open' });
    await b.cache.get(CACHE_KEYS.TASK('t1'), () => db.tasks.get('t1'));
    await agentStats(b, 'a1');
    const events = new EventEmitter();
    // eventEmitter.on('task:completed', …)
    events.on('task:completed', (event: GuideEvents['task:completed']) => {
      void a.invalidator.emit('task:completed', event).then(() => events.emit('invalidated'));
    });

    const heard = messages(b, 1);
    db.tasks.set('t1', { id: 't1', agentId: 'a1', status: 'done' });
    events.emit('task:completed', { taskId: 't1', agentId: 'a1' });
    await once(events, 'invalidated');
    await heard;

    expect(await b.cache.get(CACHE_KEYS.TASK('t1'), () => db.tasks.get('t1'))).toMatchObject({
      status: 'done',
    });
  });

  it('updateAgentReputation: invalidateTag of the agent, leaderboard and metrics drops every tagged entry', async () => {
    const before = await agentStats(b, 'a1'); // cacheAgentStats: five tags
    expect(before).toEqual({ tasks: 0 });
    db.tasks.set('t9', { id: 't9', agentId: 'a1', status: 'done' });

    // async updateAgentReputation(agentId, newScore)
    const updateAgentReputation = async (agentId: string, newScore: number) => {
      db.agents.get(agentId)!.reputation = newScore;
      await a.invalidator.invalidateTags([`agent:${agentId}`, 'leaderboard', 'metrics']);
    };
    const heard = messages(b, 1);
    await updateAgentReputation('a1', 99);
    await heard;

    expect(await agentStats(b, 'a1')).toEqual({ tasks: 1 });
    expect(await agentStats(a, 'a1')).toEqual({ tasks: 1 });
  });

  it('cacheAgentStats: a value set with five tags and a TTL is served until one of its tags goes', async () => {
    // async cacheAgentStats(agentId, stats)
    const cacheAgentStats = (agentId: string, stats: object) =>
      a.cache.set(CACHE_KEYS.AGENT_STATS(agentId), stats, {
        ttl: TTL_PRESETS.AGENT_STATS * 1000,
        tags: [`agent:${agentId}`, `stats:agent:${agentId}`, 'leaderboard', 'metrics', 'agent:all'],
      });
    await cacheAgentStats('a1', { wins: 3 });
    expect(await b.cache.get(CACHE_KEYS.AGENT_STATS('a1'), () => ({ wins: -1 }))).toEqual({
      wins: 3,
    });
    expect(await client.pttl(`guide:${CACHE_KEYS.AGENT_STATS('a1')}`)).toBeGreaterThan(290_000);

    const heard = messages(b, 1);
    await a.invalidator.invalidateTag('agent:all');
    await heard;

    expect(await b.cache.get(CACHE_KEYS.AGENT_STATS('a1'), () => ({ wins: 4 }))).toEqual({
      wins: 4,
    });
  });

  it('invalidateByPattern: tasks:agent:<id>:*, leaderboard:* and metrics:agent:* (SCAN, never KEYS)', async () => {
    for (const s of STATUSES) await tasksOf(b, 'a1', s);
    await tasksOf(b, 'a10', 'open');
    for (const p of PERIODS) await b.cache.get(CACHE_KEYS.LEADERBOARD(p), () => [p]);
    await b.cache.get(CACHE_KEYS.AGENT_METRICS('a1', 'daily'), () => 1);
    await b.cache.get(CACHE_KEYS.AGENT_METRICS('a2', 'weekly'), () => 2);
    await expect.poll(() => client.dbsize()).toBeGreaterThanOrEqual(7);
    const commands: string[] = [];
    const monitor = await new Redis(server.options()).monitor();
    monitor.on('monitor', (_time, args: string[]) => commands.push(String(args[0]).toLowerCase()));

    const heard = messages(b, 3);
    const deleted = [
      await a.invalidator.invalidatePattern(glob`tasks:agent:${'a1'}:*`),
      await a.invalidator.invalidatePattern('leaderboard:*'),
      await a.invalidator.invalidatePattern('metrics:agent:*'),
    ];
    await heard;
    monitor.disconnect();

    expect(deleted).toEqual([2, 2, 2]);
    expect(commands).toContain('scan');
    expect(commands).not.toContain('keys');
    expect(await tasksOf(b, 'a10', 'open')).toEqual([]); // untouched, still cached
    const reads = db.reads;
    db.tasks.set('t2', { id: 't2', agentId: 'a1', status: 'open' });
    expect(await tasksOf(b, 'a1', 'open')).toHaveLength(1);
    expect(db.reads).toBe(reads + 1);
  });
});
