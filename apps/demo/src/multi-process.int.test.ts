import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Agent, AgentStats } from './db/repository.js';
import type { LeaderboardView } from './service.js';
import { type DemoFixture, startDemoFixture } from './test-support/fixture.js';

// Two API processes as `pnpm demo --instances 2` runs them (worker.ts), on the fixture's
// PostgreSQL and Redis, spoken to over real HTTP. tsx runs them from the TypeScript sources
// (the root tsconfig maps @tiercache/* to packages/*/src), so no build is needed.
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

let fx: DemoFixture;
const children: ChildProcess[] = [];
let one: string;
let two: string;

function startWorker(name: string): Promise<string> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: TSCONFIG,
      DATABASE_URL: fx.postgres.connectionString,
      REDIS_URL: fx.redis.url,
      PORT: '0',
      INSTANCE_NAME: name,
      INSTANCES: '2',
      // Errors only: the workers' startup lines would clutter the test output.
      DEMO_QUIET: '1',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited during startup (${code})`)));
    child.on('message', (m: { type?: string; url?: string }) => {
      if (m.type === 'ready' && typeof m.url === 'string') resolve(m.url);
    });
  });
}

beforeAll(async () => {
  // The fixture's own instance only rebuilds the Bloom filter; the workers do the rest.
  fx = await startDemoFixture(['setup']);
  [one, two] = await Promise.all([startWorker('api-1'), startWorker('api-2')]);
});

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await fx?.stop();
});

const json = async <T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as T };
};
const send = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

it('a write on one process is read on the other, whose L1 held the old value', async () => {
  const board = await json<LeaderboardView>(`${two}/api/leaderboard?period=daily`);
  const id = board.body.entries[7]!.agent_id;
  const before = await json<Agent>(`${two}/api/agents/${id}`);
  await json(`${two}/api/agents/${id}/stats`);

  const renamed = await json<Agent>(`${one}/api/agents/${id}`, send('PATCH', { name: 'across' }));
  expect(renamed.status).toBe(200);
  await vi.waitFor(async () => {
    expect((await json<Agent>(`${two}/api/agents/${id}`)).body.name).toBe('across');
  });

  const bumped = await json<Agent>(
    `${one}/api/agents/${id}/reputation`,
    send('POST', { delta: 7 }),
  );
  expect(bumped.body.reputation_score).toBe(before.body.reputation_score + 7);
  await vi.waitFor(async () => {
    const stats = await json<AgentStats>(`${two}/api/agents/${id}/stats`);
    expect(stats.body.reputation_score).toBe(before.body.reputation_score + 7);
    const after = await json<LeaderboardView>(`${two}/api/leaderboard?period=daily`);
    expect(after.body.entries.find((e) => e.agent_id === id)).toMatchObject({
      name: 'across',
      score: board.body.entries[7]!.score + 7,
    });
  });
  const metrics = await json<{ busMessages: { received: number } }>(`${two}/metrics/cache`);
  expect(metrics.body.busMessages.received).toBeGreaterThan(0);
});

it('an agent created on one process is found on the other (shared Bloom filter)', async () => {
  const created = await json<Agent>(`${one}/api/agents`, send('POST', { name: 'fresh' }));
  expect(created.status).toBe(201);
  expect((await json<Agent>(`${two}/api/agents/${created.body.id}`)).body.name).toBe('fresh');
});
