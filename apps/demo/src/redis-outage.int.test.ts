import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { POLICIES } from './cache/policies.js';
import type { Agent } from './db/repository.js';
import type { Instance } from './instance.js';
import type { LeaderboardView } from './service.js';
import { type DemoFixture, startDemoFixture } from './test-support/fixture.js';
import { client } from './test-support/http.js';

// With Redis gone, reads and writes that PostgreSQL can serve still succeed (found by the
// chaos suite, tooling/chaos: the leaderboard answered 500, and votes 500 after committing).

let fx: DemoFixture;
let api: ReturnType<typeof client>;
let instance: Instance;
let other: ReturnType<typeof client>;

beforeAll(async () => {
  fx = await startDemoFixture(['a', 'b']);
  instance = fx.instances[0]!;
  api = client(instance);
  other = client(fx.instances[1]!);
});
afterAll(() => fx?.stop());

it('ranks from PostgreSQL and accepts votes while Redis is down', async () => {
  const before = await api.get<LeaderboardView>('/api/leaderboard?period=weekly');
  const agent = before.body.entries[3]!;
  await fx.redis.kill();

  const vote = await api.post(`/api/agents/${agent.agent_id}/votes`, { voter: 'outage', value: 1 });
  const board = await api.get<LeaderboardView>('/api/leaderboard?period=daily');

  expect(vote.status).toBe(201);
  expect(board.status).toBe(200);
  expect(board.body.entries.length).toBeGreaterThan(0);
  const { rows } = await instance.pool.query(
    'SELECT count(*)::int AS n FROM votes WHERE voter = $1',
    ['outage'],
  );
  expect(rows[0].n).toBe(1);
  await fx.redis.restart();
});

it('a rename whose L2 delete was refused (circuit open) is not served stale once Redis is back', async () => {
  // After the previous test's outage: wait until an L2 read finds the circuit closed again.
  await vi.waitFor(
    async () => {
      await instance.stack.l2.get('probe').catch(() => {});
      expect(instance.stack.l2.circuitState).toBe('closed');
    },
    { timeout: 20_000, interval: 250 },
  );
  const board = await api.get<LeaderboardView>('/api/leaderboard?period=weekly');
  const [target, ...others] = board.body.entries.slice(10, 16).map((e) => e.agent_id);
  // Cached everywhere: L2, and the other instance's L1.
  expect((await other.get<Agent>(`/api/agents/${target}`)).status).toBe(200);
  fx.redis.pause();
  try {
    // Five L2 timeouts open the circuit: the rename's L2 delete is then refused, not sent.
    await Promise.all(others.map((id) => api.get(`/api/agents/${id}/stats`)));
    expect(instance.stack.l2.circuitState).toBe('open');
    expect(
      (await api.patch<Agent>(`/api/agents/${target}`, { name: 'renamed in the dark' })).status,
    ).toBe(200);
  } finally {
    fx.redis.resume();
  }

  // The circuit closes within its reset timeout (5 s); the refused delete is done again.
  await vi.waitFor(
    async () => {
      expect((await other.get<Agent>(`/api/agents/${target}`)).body.name).toBe(
        'renamed in the dark',
      );
      expect((await api.get<Agent>(`/api/agents/${target}`)).body.name).toBe('renamed in the dark');
    },
    { timeout: 20_000, interval: 250 },
  );
});

it('ranks from PostgreSQL, without waiting for the pause to end, while Redis is hung', async () => {
  // Not cached: the ranking entry is dropped, so the read goes to the sorted set.
  await instance.stack.cache.delete(POLICIES.get('GET_LEADERBOARD').key('weekly'));
  fx.redis.pause();
  let board: Awaited<ReturnType<typeof api.get<LeaderboardView>>>;
  const started = performance.now();
  try {
    board = await api.get<LeaderboardView>('/api/leaderboard?period=weekly');
  } finally {
    fx.redis.resume();
  }
  const ms = performance.now() - started;

  expect(board.status).toBe(200);
  expect(board.body.entries.length).toBeGreaterThan(0);
  // The Redis calls on the way (L2, tag versions, the stampede lock, the sorted set) give up
  // after 250 ms to 1 s each; before the sorted set read had a timeout, this read waited for
  // the resume, here until the 10 s hardTimeout failed it.
  expect(ms).toBeLessThan(5_000);
});
