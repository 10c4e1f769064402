import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { POLICIES } from './cache/policies.js';
import type { Agent, AgentStats, Ranked, Session, Task, TaskList, Vote } from './db/repository.js';
import { StaleFencingTokenError } from './db/repository.js';
import { seededAgentId } from './db/seed.js';
import type { Instance } from './instance.js';
import { lockResource, type RecomputeResult } from './leaderboard.js';
import type { LeaderboardView } from './service.js';
import { type DemoFixture, startDemoFixture, TEST_SIZES } from './test-support/fixture.js';
import { client } from './test-support/http.js';

let fx: DemoFixture;
let a: Instance;
let b: Instance;
let apiA: ReturnType<typeof client>;
let apiB: ReturnType<typeof client>;

beforeAll(async () => {
  fx = await startDemoFixture(['a', 'b']);
  [a, b] = fx.instances as [Instance, Instance];
  apiA = client(a);
  apiB = client(b);
});
afterAll(() => fx?.stop());

const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> =>
  (await a.pool.query(text, params)).rows as T[];

/** The id of the n-th agent by id order (distinct agents keep tests independent). */
const agentAt = async (n: number, where = 'is_active'): Promise<string> =>
  (
    await sql<{ id: string }>(
      `SELECT id FROM agents WHERE ${where} ORDER BY id OFFSET $1 LIMIT 1`,
      [n],
    )
  )[0]!.id;

const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const inL1 = (instance: Instance, key: string) => instance.stack.l1.has(key);

describe('reads', () => {
  it('GET /api/agents/:id answers the agent, then from L1', async () => {
    const id = await agentAt(0);
    const first = await apiA.get<Agent>(`/api/agents/${id}`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      id,
      name: expect.stringMatching(/^agent-\d{6}$/),
      status: expect.stringMatching(/^(idle|busy|offline)$/),
      is_active: true,
      reputation_score: expect.any(Number),
      last_modified: expect.any(String),
    });
    const l1Hits = a.stack.metrics.l1Hits;
    expect((await apiA.get<Agent>(`/api/agents/${id}`)).body).toEqual(first.body);
    expect(a.stack.metrics.l1Hits).toBe(l1Hits + 1);
  });

  it('GET /api/agents/:id/stats counts the agent’s finished tasks', async () => {
    const id = await agentAt(1);
    const [expected] = await sql<{ completed: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
              count(*) FILTER (WHERE status = 'failed')::int AS failed
       FROM tasks WHERE agent_id = $1`,
      [id],
    );
    const res = await apiA.get<AgentStats>(`/api/agents/${id}/stats`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      agent_id: id,
      tasks_completed: expected!.completed,
      tasks_failed: expected!.failed,
    });
  });

  it.each(['daily', 'weekly'] as const)(
    'GET /api/leaderboard?period=%s ranks active agents by reputation + 10 × votes',
    async (period) => {
      const res = await apiA.get<LeaderboardView>(`/api/leaderboard?period=${period}`);
      expect(res.status).toBe(200);
      const expected = await a.repo.topScores(period);
      expect(res.body.period).toBe(period);
      expect(res.body.entries).toHaveLength(100);
      expect(res.body.entries.map((e) => e.score)).toEqual(expected.map((e) => e.score));
      expect(res.body.entries.map((e) => e.rank)).toEqual(expected.map((e) => e.rank));
      expect(res.body.entries[0]).toEqual({
        rank: 1,
        agent_id: expect.any(String),
        name: expect.any(String),
        reputation_score: expect.any(Number),
        score: expected[0]!.score,
      });
    },
  );

  it('GET /api/leaderboard defaults to the daily board', async () => {
    expect((await apiA.get<LeaderboardView>('/api/leaderboard')).body.period).toBe('daily');
  });

  it('GET /api/tasks?agent_id=&status= lists the agent’s tasks of that status, newest first', async () => {
    const id = await agentAt(2);
    const res = await apiA.get<TaskList>(`/api/tasks?agent_id=${id}&status=completed`);
    expect(res.status).toBe(200);
    const [{ n }] = (await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasks WHERE agent_id = $1 AND status = 'completed'`,
      [id],
    )) as [{ n: number }];
    expect(res.body.tasks).toHaveLength(Math.min(n, 20));
    expect(res.body.tasks.every((t) => t.status === 'completed' && t.agent_id === id)).toBe(true);
    const times = res.body.tasks.map((t) => t.created_at);
    expect(times).toEqual([...times].sort().reverse());
    const all = await apiA.get<TaskList>(`/api/tasks?agent_id=${id}`);
    expect(all.body.status).toBe('all');
  });

  it('GET /api/tasks/:id and /api/tasks/recent answer tasks', async () => {
    const [task] = await sql<{ id: string }>('SELECT id FROM tasks ORDER BY id LIMIT 1');
    expect((await apiA.get<Task>(`/api/tasks/${task!.id}`)).body.id).toBe(task!.id);
    const recent = await apiA.get<{ tasks: Task[] }>('/api/tasks/recent');
    expect(recent.status).toBe(200);
    expect(Array.isArray(recent.body.tasks)).toBe(true);
  });

  it('GET /api/agents/popular lists active agents above 500 reputation, best first', async () => {
    const res = await apiA.get<{ agents: Agent[] }>('/api/agents/popular');
    expect(res.body.agents.length).toBeGreaterThan(0);
    expect(res.body.agents.every((x) => x.reputation_score > 500 && x.is_active)).toBe(true);
  });

  it('GET /api/sessions/:id serves a live session from the cache and refuses an expired one', async () => {
    const [live] = await sql<{ id: string }>(
      'SELECT id FROM sessions WHERE expires_at > now() + $1::interval LIMIT 1',
      ['10 minutes'],
    );
    const res = await apiA.get<Session>(`/api/sessions/${live!.id}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(live!.id);
    // Warming cached every live session: this one is in L1 already.
    expect(inL1(a, POLICIES.get('GET_SESSION').key(live!.id))).toBe(true);
    const [expired] = await sql<{ id: string }>(
      'SELECT id FROM sessions WHERE expires_at < now() LIMIT 1',
    );
    expect((await apiA.get(`/api/sessions/${expired!.id}`)).status).toBe(404);
  });

  it('a session that expires while cached is not served', async () => {
    const [live] = await sql<{ id: string }>(
      `UPDATE sessions SET expires_at = now() + interval '1 hour'
       WHERE id = (SELECT id FROM sessions WHERE expires_at > now() LIMIT 1 OFFSET 5) RETURNING id`,
    );
    expect((await apiA.get(`/api/sessions/${live!.id}`)).status).toBe(200);
    // Expire it behind the cache's back; the cached copy carries its expires_at.
    await a.stack.cache.set(POLICIES.get('GET_SESSION').key(live!.id), {
      ...(await a.repo.getSession(live!.id)),
      expires_at: new Date(Date.now() - 1000).toISOString(),
    });
    expect((await apiA.get(`/api/sessions/${live!.id}`)).status).toBe(404);
  });
});

describe('bad input is 400, unknown ids are 404', () => {
  it.each([
    { method: 'GET', url: '/api/agents/not-a-uuid', message: 'params.id: must be a UUID' },
    { method: 'GET', url: '/api/agents/123/stats', message: 'params.id: must be a UUID' },
    { method: 'GET', url: '/api/leaderboard?period=monthly', message: 'query.period' },
    { method: 'GET', url: '/api/tasks', message: 'query.agent_id' },
    { method: 'GET', url: `/api/tasks?agent_id=${UNKNOWN}&status=done`, message: 'query.status' },
    { method: 'GET', url: `/api/tasks?agent_id=${UNKNOWN}&agentId=1`, message: 'Unrecognized key' },
    {
      method: 'PATCH',
      url: `/api/agents/${UNKNOWN}`,
      payload: {},
      message: 'at least one of name, status, is_active',
    },
    {
      method: 'PATCH',
      url: `/api/agents/${UNKNOWN}`,
      payload: { status: 'asleep' },
      message: 'body.status',
    },
    { method: 'PATCH', url: `/api/agents/${UNKNOWN}`, message: 'body' },
    {
      method: 'POST',
      url: `/api/agents/${UNKNOWN}/votes`,
      payload: { voter: 'u1', value: 2 },
      message: 'body.value: must be 1 or -1',
    },
    {
      method: 'POST',
      url: `/api/agents/${UNKNOWN}/reputation`,
      payload: { delta: 0 },
      message: 'body.delta: must not be 0',
    },
    {
      method: 'POST',
      url: `/api/agents/${UNKNOWN}/reputation`,
      payload: { delta: 1.5 },
      message: 'body.delta',
    },
    { method: 'POST', url: '/api/tasks', payload: { agent_id: UNKNOWN }, message: 'body.title' },
    { method: 'POST', url: '/api/agents', payload: { name: '' }, message: 'body.name' },
  ] as const)('$method $url → 400 “$message”', async (row) => {
    const res = await a.app.inject({
      method: row.method,
      url: row.url,
      ...('payload' in row ? { payload: row.payload } : {}),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(res.json().message).toContain(row.message);
  });

  it('malformed JSON is 400', async () => {
    const res = await a.app.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: { 'content-type': 'application/json' },
      payload: '{"agent_id":',
    });
    expect(res.statusCode).toBe(400);
  });

  it('an unknown agent is 404 without an L2 or database lookup: the Bloom filter says absent', async () => {
    const { misses } = a.stack.metrics;
    const { absent } = a.stack.guard.stats;
    for (const path of [`/api/agents/${UNKNOWN}`, `/api/agents/${UNKNOWN}/stats`]) {
      const res = await apiA.get(path);
      expect(res.status).toBe(404);
      expect(res.body.message).toBe('agent not found');
    }
    expect((await apiA.get(`/api/tasks?agent_id=${UNKNOWN}`)).status).toBe(404);
    expect(a.stack.guard.stats.absent).toBe(absent + 3);
    expect(a.stack.metrics.misses).toBe(misses);
  });

  it('an unknown agent the filter lets through (a false positive) is 404 and cached as null', async () => {
    const ghost = '00000000-0000-4000-8000-00000000beef';
    await a.stack.agentIds.add(ghost);
    const loads = a.stack.metrics.snapshot().loads;
    expect((await apiA.get(`/api/agents/${ghost}`)).status).toBe(404);
    expect(a.stack.metrics.snapshot().loads).toBe(loads + 1);
    expect((await apiA.get(`/api/agents/${ghost}`)).status).toBe(404);
    expect(a.stack.metrics.snapshot().loads).toBe(loads + 1); // the cached null answered
    expect(inL1(a, POLICIES.get('GET_AGENT').key(ghost))).toBe(true);
  });

  it('unknown sessions and tasks are 404 and negative-cached', async () => {
    const loads = a.stack.metrics.snapshot().loads;
    for (const path of [`/api/sessions/${UNKNOWN}`, `/api/tasks/${UNKNOWN}`]) {
      expect((await apiA.get(path)).status).toBe(404);
      expect((await apiA.get(path)).status).toBe(404);
    }
    expect(a.stack.metrics.snapshot().loads).toBe(loads + 2);
  });

  it('an unknown route is 404', async () => {
    expect((await apiA.get('/api/nope')).status).toBe(404);
  });
});

describe('writes invalidate what the guide says, on every instance (bus)', () => {
  it('PATCH /api/agents/:id: the new name on the other instance, whose L1 held the old one', async () => {
    const id = await agentAt(10);
    const key = POLICIES.get('GET_AGENT').key(id);
    await apiB.get(`/api/agents/${id}`);
    await apiB.get(`/api/agents/${id}/stats`);
    expect(inL1(b, key)).toBe(true);
    const res = await apiA.patch<Agent>(`/api/agents/${id}`, {
      name: 'renamed',
      status: 'offline',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'renamed', status: 'offline' });
    await vi.waitFor(async () => {
      expect((await apiB.get<Agent>(`/api/agents/${id}`)).body.name).toBe('renamed');
    });
    // The guide's updateAgent also drops the stats entry.
    expect(inL1(b, POLICIES.get('GET_AGENT_STATS').key(id))).toBe(false);
  });

  it('PATCH of an unknown agent is 404', async () => {
    expect((await apiA.patch(`/api/agents/${UNKNOWN}`, { name: 'x' })).status).toBe(404);
  });

  it('POST /api/tasks: the agent’s task lists show it everywhere; its stats stay cached', async () => {
    const id = await agentAt(11);
    await apiB.get(`/api/tasks?agent_id=${id}`);
    await apiB.get(`/api/tasks?agent_id=${id}&status=pending`);
    await apiB.get(`/api/agents/${id}/stats`);
    const created = await apiA.post<Task>('/api/tasks', {
      agent_id: id,
      title: 'write the report',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ agent_id: id, status: 'pending', completed_at: null });
    for (const status of ['all', 'pending']) {
      await vi.waitFor(async () => {
        const list = await apiB.get<TaskList>(`/api/tasks?agent_id=${id}&status=${status}`);
        expect(list.body.tasks[0]?.id).toBe(created.body.id);
      });
    }
    expect(inL1(b, POLICIES.get('GET_AGENT_STATS').key(id))).toBe(true);
  });

  it('a write reloads what the writing instance was reading: its next read is a hit', async () => {
    const id = await agentAt(14);
    const read = POLICIES.get('GET_TASKS').key(id, 'pending');
    const unread = POLICIES.get('GET_TASKS').key(id, 'completed');
    await apiA.get(`/api/tasks?agent_id=${id}&status=pending`);
    expect(inL1(a, read)).toBe(true);
    expect(inL1(a, unread)).toBe(false);
    const created = await apiA.post<Task>('/api/tasks', { agent_id: id, title: 'reloaded' });
    expect(created.status).toBe(201);
    // The invalidation dropped it before the response; the reload puts it back, unasked.
    await vi.waitFor(() => expect(inL1(a, read)).toBe(true));
    const misses: string[] = [];
    const off = a.stack.cache.on('miss', ({ key }) => misses.push(key));
    try {
      const list = await apiA.get<TaskList>(`/api/tasks?agent_id=${id}&status=pending`);
      expect(list.body.tasks[0]?.id).toBe(created.body.id);
    } finally {
      off();
    }
    expect(misses).toEqual([]);
    // Only what was being read: the completed list was not loaded.
    expect(inL1(a, unread)).toBe(false);
  });

  it('POST /api/tasks for an unknown agent is 404', async () => {
    expect((await apiA.post('/api/tasks', { agent_id: UNKNOWN, title: 't' })).status).toBe(404);
  });

  it.each([
    ['complete', 'completed', 'tasks_completed'],
    ['fail', 'failed', 'tasks_failed'],
  ] as const)(
    'POST /api/tasks/:id/%s: stats, lists and the task move on every instance',
    async (action, status, counter) => {
      const id = await agentAt(action === 'complete' ? 12 : 13);
      const task = (await apiA.post<Task>('/api/tasks', { agent_id: id, title: action })).body;
      const before = (await apiB.get<AgentStats>(`/api/agents/${id}/stats`)).body;
      await apiB.get(`/api/tasks/${task.id}`);
      await apiB.get(`/api/tasks?agent_id=${id}&status=${status}`);
      const res = await apiA.post<Task>(`/api/tasks/${task.id}/${action}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status, completed_at: expect.any(String) });
      await vi.waitFor(async () => {
        const after = (await apiB.get<AgentStats>(`/api/agents/${id}/stats`)).body;
        expect(after[counter]).toBe(before[counter] + 1);
      });
      await vi.waitFor(async () => {
        expect((await apiB.get<Task>(`/api/tasks/${task.id}`)).body.status).toBe(status);
        const list = await apiB.get<TaskList>(`/api/tasks?agent_id=${id}&status=${status}`);
        expect(list.body.tasks.map((t) => t.id)).toContain(task.id);
      });
      const again = await apiA.post(`/api/tasks/${task.id}/${action}`);
      expect(again.status).toBe(409);
      expect(again.body.message).toBe(`task is already ${status}`);
    },
  );

  it('finishing an unknown task is 404', async () => {
    expect((await apiA.post(`/api/tasks/${UNKNOWN}/complete`)).status).toBe(404);
  });

  it('POST /api/agents/:id/votes: the agent moves up 10 points on every leaderboard, everywhere', async () => {
    const board = (await apiB.get<LeaderboardView>('/api/leaderboard?period=weekly')).body;
    const entry = board.entries[20]!;
    await apiB.get('/api/leaderboard?period=daily');
    const agentKey = POLICIES.get('GET_AGENT').key(entry.agent_id);
    const vote = await apiA.post<Vote>(`/api/agents/${entry.agent_id}/votes`, {
      voter: 'user-test',
      value: 1,
    });
    expect(vote.status).toBe(201);
    expect(vote.body).toMatchObject({ agent_id: entry.agent_id, voter: 'user-test', value: 1 });
    await vi.waitFor(async () => {
      const after = (await apiB.get<LeaderboardView>('/api/leaderboard?period=weekly')).body;
      expect(after.entries.find((e) => e.agent_id === entry.agent_id)?.score).toBe(
        entry.score + 10,
      );
    });
    // Only the leaderboards: the agent's own entry is untouched.
    expect(inL1(b, agentKey)).toBe(true);
  });

  it('a vote for an unknown agent is 404', async () => {
    const res = await apiA.post(`/api/agents/${UNKNOWN}/votes`, { voter: 'u', value: -1 });
    expect(res.status).toBe(404);
  });

  it('POST /api/agents/:id/reputation invalidates by tag: agent, stats, leaderboards, popular', async () => {
    const popular = (await apiB.get<{ agents: Agent[] }>('/api/agents/popular')).body.agents;
    const target = popular[3]!;
    await apiB.get(`/api/agents/${target.id}/stats`);
    await apiB.get<LeaderboardView>('/api/leaderboard?period=daily');
    const res = await apiA.post<Agent>(`/api/agents/${target.id}/reputation`, { delta: 1000 });
    expect(res.status).toBe(200);
    const reputation = target.reputation_score + 1000;
    expect(res.body.reputation_score).toBe(reputation);
    await vi.waitFor(async () => {
      expect((await apiB.get<Agent>(`/api/agents/${target.id}`)).body.reputation_score).toBe(
        reputation,
      );
      expect(
        (await apiB.get<AgentStats>(`/api/agents/${target.id}/stats`)).body.reputation_score,
      ).toBe(reputation);
      const board = (await apiB.get<LeaderboardView>('/api/leaderboard?period=daily')).body;
      expect(board.entries[0]).toMatchObject({ agent_id: target.id, reputation_score: reputation });
      const top = (await apiB.get<{ agents: Agent[] }>('/api/agents/popular')).body.agents[0];
      expect(top).toMatchObject({ id: target.id, reputation_score: reputation });
    });
  });

  it('POST /api/agents: a new agent is found on every instance (shared Bloom filter)', async () => {
    const created = await apiA.post<Agent>('/api/agents', { name: 'newcomer' });
    expect(created.status).toBe(201);
    const found = await apiB.get<Agent>(`/api/agents/${created.body.id}`);
    expect(found.status).toBe(200);
    expect(found.body.name).toBe('newcomer');
    expect((await apiB.get<TaskList>(`/api/tasks?agent_id=${created.body.id}`)).body.tasks).toEqual(
      [],
    );
  });
});

describe('leaderboard recompute: locked and fenced', () => {
  it('POST /api/leaderboard/recompute stores the snapshot with a newer fencing token each time', async () => {
    const first = await apiA.post<RecomputeResult>('/api/leaderboard/recompute?period=daily');
    const second = await apiB.post<RecomputeResult>('/api/leaderboard/recompute?period=daily');
    expect(first.status).toBe(200);
    expect(second.body.fencingToken).toBeGreaterThan(first.body.fencingToken);
    expect(await a.repo.highestFencingToken('daily')).toBe(second.body.fencingToken);
    const stored = await a.repo.savedLeaderboard('daily');
    expect(stored.map((e) => e.agent_id)).toEqual(second.body.top.map((e) => e.agent_id));
  });

  it('a holder whose lock expired is refused by the database once a newer holder wrote', async () => {
    const stale = await a.stack.locks.acquire(lockResource('weekly'), {
      ttl: 300,
      autoExtend: false,
    });
    // The next holder gets the lock once the stale one's expires, with a higher token.
    const fresh = await b.stack.locks.acquire(lockResource('weekly'), {
      retry: { retries: 50, baseDelay: 50, maxDelay: 100 },
    });
    expect(fresh.fencingToken).toBeGreaterThan(stale.fencingToken);
    const top: Ranked[] = [{ rank: 1, agent_id: await agentAt(30), score: 1 }];
    await b.repo.saveLeaderboard('weekly', fresh.fencingToken, top);
    await fresh.release();
    const write = a.repo.saveLeaderboard('weekly', stale.fencingToken, [
      { rank: 1, agent_id: await agentAt(31), score: 2 },
    ]);
    await expect(write).rejects.toBeInstanceOf(StaleFencingTokenError);
    expect(await a.repo.savedLeaderboard('weekly')).toEqual(top);
  });

  it('a recompute while another instance holds the lock is 409', async () => {
    const held = await a.stack.locks.acquire(lockResource('daily'));
    try {
      const res = await apiB.post('/api/leaderboard/recompute?period=daily');
      expect(res.status).toBe(409);
    } finally {
      await held.release();
    }
  });
});

describe('observability', () => {
  it('GET /metrics/cache has the guide’s shape', async () => {
    const res = await apiA.get<Record<string, unknown>>('/metrics/cache');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      hits: expect.any(Number),
      misses: expect.any(Number),
      l1Hits: expect.any(Number),
      l2Hits: expect.any(Number),
      evictions: expect.any(Number),
      hitRate: expect.stringMatching(/^\d+\.\d\d%$/),
      l1HitPercent: expect.stringMatching(/^\d+\.\d\d%$/),
      l2HitPercent: expect.stringMatching(/^\d+\.\d\d%$/),
      avgHitRate: expect.stringMatching(/ hits\/min$/),
      avgMissRate: expect.stringMatching(/ misses\/min$/),
      latency: { http: { p50Ms: expect.any(Number), p99Ms: expect.any(Number) } },
      circuit: 'closed',
    });
  });

  it('GET /metrics/analysis has the guide’s per-operation shape', async () => {
    const res = await apiA.get<Record<string, Record<string, unknown>>>('/metrics/analysis');
    expect(res.body.GET_AGENT).toEqual({
      total: expect.any(Number),
      hits: expect.any(Number),
      misses: expect.any(Number),
      hitRate: expect.stringMatching(/%$/),
      recommendation: expect.any(String),
    });
    expect(Object.keys(res.body)).toEqual(
      expect.arrayContaining(['GET_AGENT', 'GET_AGENT_STATS', 'GET_LEADERBOARD', 'GET_TASKS']),
    );
  });

  it('GET /metrics serves Prometheus text', async () => {
    const res = await apiA.get<string>('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/^tiercache_hits_total\{tier="l1"\} \d+$/m);
    expect(res.body).toMatch(
      /^tiercache_operation_requests_total\{operation="GET_AGENT",result="hit"\} \d+$/m,
    );
    expect(res.body).toMatch(/^tiercache_bus_messages_total\{direction="received"\} [1-9]\d*$/m);
  });

  it('GET /health reports PostgreSQL, Redis, the circuit and Redis memory', async () => {
    await a.stack.memory.check();
    const res = await apiA.get<Record<string, unknown>>('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      postgres: { ok: true, latencyMs: expect.any(Number) },
      redis: { ok: true },
      circuit: 'closed',
      memory: { usedBytes: expect.any(Number), policy: 'volatile-lru' },
      cache: { status: expect.any(String) },
    });
  });

  it('x-cache-bypass: 1 reads PostgreSQL without touching the cache', async () => {
    const id = await agentAt(40);
    const before = a.stack.metrics.hits + a.stack.metrics.misses;
    const res = await apiA.get<Agent>(`/api/agents/${id}`, { 'x-cache-bypass': '1' });
    expect(res.status).toBe(200);
    const board = await apiA.get<LeaderboardView>('/api/leaderboard', { 'x-cache-bypass': '1' });
    expect(board.body.entries).toHaveLength(100);
    expect(a.stack.metrics.hits + a.stack.metrics.misses).toBe(before);
  });

  it('an instance started with CACHE_DISABLED answers from PostgreSQL alone', async () => {
    const c = await fx.addInstance('c', { cacheDisabled: true });
    const id = await agentAt(41);
    expect((await client(c).get<Agent>(`/api/agents/${id}`)).body.id).toBe(id);
    expect(c.stack.metrics.hits + c.stack.metrics.misses).toBe(0);
    expect(c.stack.l1.size).toBe(0);
  });

  it('every response names its instance', async () => {
    expect((await apiB.get('/health')).headers['x-instance']).toBe('b');
  });
});

it('seeded agent ids are deterministic: agent n is seededAgentId(n)', async () => {
  const [row] = await sql<{ id: string }>('SELECT id FROM agents WHERE name = $1', [
    'agent-000001',
  ]);
  expect(row!.id).toBe(seededAgentId(1));
});

it('the seed has the requested sizes', async () => {
  const [counts] = await sql<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM tasks WHERE title LIKE 'task #%') AS tasks,
            (SELECT count(*)::int FROM sessions) AS sessions`,
  );
  expect(counts).toEqual({ tasks: TEST_SIZES.tasks, sessions: TEST_SIZES.sessions });
});
