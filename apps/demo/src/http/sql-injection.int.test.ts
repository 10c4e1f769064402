// Injection strings through every endpoint and repository method that takes user input:
// each answer is a 4xx or a normal result (strings stored and read back verbatim), never a
// 5xx, and the tables keep their rows. Queries are parameterized (`$n`; see
// db/sql-source.test.ts), so the strings are data, never SQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../db/repository.js';
import type { Instance } from '../instance.js';
import { type DemoFixture, startDemoFixture } from '../test-support/fixture.js';

const INJECTIONS = [
  "'; DROP TABLE agents; --",
  '1 OR 1=1',
  "' OR '1'='1",
  '$1',
  '$1::text); DELETE FROM votes; --',
  '\u2019; DROP TABLE tasks; --', // unicode right single quote
  '\u02bc OR 1=1 --', // modifier letter apostrophe
  'a\u0000b', // NUL: PostgreSQL text cannot hold it
  '\\x27; SELECT pg_sleep(5); --',
  "'); INSERT INTO votes (agent_id, voter, value) SELECT id, 'x', 1 FROM agents; --",
  '%27%20OR%201%3D1',
  '"; DROP TABLE sessions; --',
  '\ud800', // lone surrogate
];
const TABLES = ['agents', 'tasks', 'votes', 'sessions', 'leaderboard_entries'];

let fx: DemoFixture;
let app: Instance['app'];
let instance: Instance;
let agentId: string;
let taskId: string;

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await instance.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table}`,
    );
    out[table] = rows[0]!.n;
  }
  return out;
}

beforeAll(async () => {
  fx = await startDemoFixture(['a']);
  instance = fx.instances[0]!;
  app = instance.app;
  agentId = (await instance.pool.query<{ id: string }>('SELECT id FROM agents LIMIT 1')).rows[0]!
    .id;
  taskId = (
    await instance.pool.query<{ id: string }>(
      "SELECT id FROM tasks WHERE status = 'pending' LIMIT 1",
    )
  ).rows[0]!.id;
});
afterAll(() => fx?.stop());

describe('injection strings', () => {
  it('in ids, query parameters and path segments: 4xx, tables intact', async () => {
    const before = await counts();
    const statuses = new Map<number, number>();
    for (const s of INJECTIONS) {
      // A lone surrogate cannot be percent-encoded: send its raw (invalid UTF-8) bytes instead.
      const e = /[\ud800-\udfff]/.test(s) ? '%ED%A0%80' : encodeURIComponent(s);
      for (const url of [
        `/api/agents/${e}`,
        `/api/agents/${e}/stats`,
        `/api/tasks/${e}`,
        `/api/sessions/${e}`,
        `/api/tasks?agent_id=${e}`,
        `/api/tasks?agent_id=${agentId}&status=${e}`,
        `/api/agents?after=${e}`,
        `/api/agents?limit=${e}`,
        `/api/leaderboard?period=${e}`,
      ]) {
        const res = await app.inject({ method: 'GET', url });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, url).toBeLessThan(500);
      }
    }
    expect(await counts()).toEqual(before);
  });

  it('in string fields: stored and read back verbatim, or refused with a 400 (NUL)', async () => {
    const before = await counts();
    let created = 0;
    for (const s of INJECTIONS) {
      const res = await app.inject({ method: 'POST', url: '/api/agents', payload: { name: s } });
      expect(res.statusCode, JSON.stringify(s)).toBeLessThan(500);
      if (s.includes('\u0000')) {
        expect(res.statusCode).toBe(400);
        expect(res.json().message).toMatch(/NUL/);
        continue;
      }
      expect(res.statusCode).toBe(201);
      created++;
      const agent = res.json<Agent>();
      // A lone surrogate is not valid UTF-8: it travels as U+FFFD.
      expect(agent.name).toBe(s.trim().replace(/[\ud800-\udfff]/g, '\ufffd'));
      const read = await app.inject({ method: 'GET', url: `/api/agents/${agent.id}` });
      expect(read.json<Agent>().name).toBe(agent.name);

      const patch = await app.inject({
        method: 'PATCH',
        url: `/api/agents/${agentId}`,
        payload: { name: s },
      });
      expect(patch.statusCode).toBe(200);
      const task = await app.inject({
        method: 'POST',
        url: '/api/tasks',
        payload: { agent_id: agentId, title: s },
      });
      expect(task.statusCode).toBe(201);
      const vote = await app.inject({
        method: 'POST',
        url: `/api/agents/${agentId}/votes`,
        payload: { voter: s.slice(0, 64), value: 1 },
      });
      expect(vote.statusCode).toBe(201);
    }
    const after = await counts();
    expect(after).toEqual({
      ...before,
      agents: before.agents! + created,
      tasks: before.tasks! + created,
      votes: before.votes! + created,
    });
  });

  it('in every repository method directly: data, or a typed PostgreSQL refusal', async () => {
    const repo = instance.repo;
    const before = await counts();
    for (const s of INJECTIONS) {
      // uuid columns refuse anything that is not a uuid (22P02), text cannot hold NUL (22021).
      for (const call of [
        () => repo.getAgent(s),
        () => repo.getAgentStats(s),
        () => repo.getTask(s),
        () => repo.getSession(s),
        () => repo.listTasks(s, 'all'),
        () => repo.changeReputation(s, 1),
        () => repo.finishTask(s, 'completed'),
        () => repo.agentIds(s, 1),
        () => repo.getAgents([s]),
      ]) {
        const outcome = await call().then(
          (value) => ({ value }),
          (error: { code?: string }) => ({ code: error.code }),
        );
        if ('code' in outcome) expect(['22P02', '22021']).toContain(outcome.code);
        else expect([null, []]).toContainEqual(outcome.value);
      }
    }
    expect(await counts()).toEqual(before);
    expect((await repo.getAgent(agentId))?.id).toBe(agentId);
    expect((await repo.getTask(taskId))?.id).toBe(taskId);
  });
});
