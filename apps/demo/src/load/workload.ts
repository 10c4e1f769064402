import { randomUUID } from 'node:crypto';
import type { Request } from 'autocannon';

/** Ids the workload draws from. */
export interface WorkloadIds {
  /** Agents, most popular first (drawn with a heavy head: a few agents take most reads). */
  readonly agents: readonly string[];
  /** Pending tasks, completed or failed by the workload (once each; later tries are 409). */
  readonly pendingTasks: readonly string[];
  /** Live sessions (optional: empty when the ids could not be listed). */
  readonly sessions: readonly string[];
}

/** One kind of request and its share of the mix. */
interface Operation {
  readonly name: string;
  readonly weight: number;
  readonly build: () => Request;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const STATUSES = ['all', 'all', 'completed', 'pending', 'failed'] as const;

/**
 * The mixed read/write workload of `pnpm demo:load`: 90 % reads across every cached endpoint
 * (agent ids skewed towards a hot head, as real traffic is), 5 % lookups of ids that do not
 * exist, and 5 % writes that invalidate (votes, new tasks, finished tasks, reputation).
 * `random` is injectable so the mix can be checked.
 */
export function createWorkload(
  ids: WorkloadIds,
  options: {
    random?: () => number;
    headers?: Record<string, string>;
    /** Only the reads (GET) or only the writes (POST) of the mix, in their proportions. */
    only?: 'reads' | 'writes';
  } = {},
): { readonly operations: readonly Operation[]; next(): Request } {
  const random = options.random ?? Math.random;
  const extra = options.headers ?? {};
  // Index density ~ x^(-2/3): the first 1 % of agents take about a fifth of the picks.
  const agent = () => ids.agents[Math.floor(ids.agents.length * random() ** 3)]!;
  const pick = <T>(list: readonly T[]) => list[Math.floor(list.length * random())]!;
  let nextTask = 0;
  const operations: Operation[] = [
    {
      name: 'GET agent',
      weight: 38,
      build: () => ({ method: 'GET', path: `/api/agents/${agent()}` }),
    },
    {
      name: 'GET agent stats',
      weight: 15,
      build: () => ({ method: 'GET', path: `/api/agents/${agent()}/stats` }),
    },
    {
      name: 'GET tasks',
      weight: 12,
      build: () => ({
        method: 'GET',
        path: `/api/tasks?agent_id=${agent()}&status=${pick(STATUSES)}`,
      }),
    },
    {
      name: 'GET leaderboard',
      weight: 10,
      build: () => ({
        method: 'GET',
        path: `/api/leaderboard?period=${random() < 0.7 ? 'daily' : 'weekly'}`,
      }),
    },
    {
      name: 'GET popular agents',
      weight: 5,
      build: () => ({ method: 'GET', path: '/api/agents/popular' }),
    },
    {
      name: 'GET session',
      weight: ids.sessions.length === 0 ? 0 : 10,
      build: () => ({ method: 'GET', path: `/api/sessions/${pick(ids.sessions)}` }),
    },
    {
      name: 'GET unknown agent (404)',
      weight: 5,
      build: () => ({ method: 'GET', path: `/api/agents/${randomUUID()}` }),
    },
    {
      name: 'POST vote',
      weight: 2,
      build: () => ({
        method: 'POST',
        path: `/api/agents/${agent()}/votes`,
        headers: JSON_HEADERS,
        body: JSON.stringify({
          voter: `load-${Math.floor(random() * 1000)}`,
          value: random() < 0.7 ? 1 : -1,
        }),
      }),
    },
    {
      name: 'POST task',
      weight: 1.5,
      build: () => ({
        method: 'POST',
        path: '/api/tasks',
        headers: JSON_HEADERS,
        body: JSON.stringify({ agent_id: agent(), title: 'load test task' }),
      }),
    },
    {
      name: 'POST finish task',
      weight: ids.pendingTasks.length === 0 ? 0 : 1,
      build: () => {
        const task = ids.pendingTasks[nextTask++ % ids.pendingTasks.length]!;
        return {
          method: 'POST',
          path: `/api/tasks/${task}/${random() < 0.8 ? 'complete' : 'fail'}`,
        };
      },
    },
    {
      name: 'POST reputation',
      weight: 0.5,
      build: () => ({
        method: 'POST',
        path: `/api/agents/${agent()}/reputation`,
        headers: JSON_HEADERS,
        body: JSON.stringify({ delta: random() < 0.5 ? 1 : -1 }),
      }),
    },
  ].filter(
    (op) =>
      op.weight > 0 &&
      (options.only === undefined || op.name.startsWith(options.only === 'reads' ? 'GET' : 'POST')),
  );
  const total = operations.reduce((sum, op) => sum + op.weight, 0);
  return {
    operations,
    next() {
      let r = random() * total;
      for (const op of operations) {
        r -= op.weight;
        if (r < 0) {
          const req = op.build();
          return { ...req, headers: { ...extra, ...req.headers } };
        }
      }
      const last = operations.at(-1)!.build();
      return { ...last, headers: { ...extra, ...last.headers } };
    },
  };
}
