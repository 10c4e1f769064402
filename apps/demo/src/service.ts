import type { DomainEvent, DomainEvents, Invalidations } from './cache/invalidation.js';
import { TAGS } from './cache/invalidation.js';
import { POLICIES } from './cache/policies.js';
import type { CacheStack } from './cache/stack.js';
import {
  type Agent,
  type AgentStats,
  type AgentStatus,
  type Period,
  type Repository,
  type Session,
  TASK_STATUSES,
  type Task,
  type TaskList,
  type TaskStatus,
  type Vote,
} from './db/repository.js';
import type { Leaderboards, RecomputeResult } from './leaderboard.js';
import type { Logger } from './log.js';

/** One row of `GET /api/leaderboard`. */
export interface LeaderboardEntry {
  readonly rank: number;
  readonly agent_id: string;
  readonly name: string;
  readonly reputation_score: number;
  /** reputation + 10 × the period's votes */
  readonly score: number;
}

export interface LeaderboardView {
  readonly period: Period;
  readonly entries: readonly LeaderboardEntry[];
}

/** Everything the service needs; one per instance. */
export interface ServiceDeps {
  readonly repo: Repository;
  readonly stack: CacheStack;
  readonly leaderboards: Leaderboards;
  readonly invalidations: Invalidations;
  readonly log: Logger;
}

const GET_AGENT = POLICIES.get('GET_AGENT');
const GET_AGENT_STATS = POLICIES.get('GET_AGENT_STATS');
const GET_LEADERBOARD = POLICIES.get('GET_LEADERBOARD');
const GET_TASKS = POLICIES.get('GET_TASKS');
const GET_TASK = POLICIES.get('GET_TASK');
const GET_SESSION = POLICIES.get('GET_SESSION');
const GET_POPULAR_AGENTS = POLICIES.get('GET_POPULAR_AGENTS');
const GET_RECENT_TASKS = POLICIES.get('GET_RECENT_TASKS');

/**
 * The demo's reads and writes. Reads go L1 → L2 → PostgreSQL through the `CacheManager`
 * (or straight to PostgreSQL with `bypass`, the baseline of the load test); writes go to
 * PostgreSQL first, then emit the domain event that invalidates what the guide says.
 */
export class DemoService {
  readonly #repo: Repository;
  readonly #stack: CacheStack;
  readonly #leaderboards: Leaderboards;
  readonly #invalidations: Invalidations;
  readonly #log: Logger;

  constructor(deps: ServiceDeps) {
    this.#repo = deps.repo;
    this.#stack = deps.stack;
    this.#leaderboards = deps.leaderboards;
    this.#invalidations = deps.invalidations;
    this.#log = deps.log;
  }

  /**
   * Whether the agent may exist. An id this instance holds in L1 is checked no further (no
   * Redis round trip on the hot path); otherwise the shared Bloom filter answers, and an id it
   * has never seen is not looked up in L2 or PostgreSQL at all.
   */
  async #mightExist(agentId: string): Promise<boolean> {
    if (this.#stack.l1.has(GET_AGENT.key(agentId))) return true;
    return this.#stack.guard.mightExist(agentId);
  }

  /** A page of agents in id order, straight from PostgreSQL (not cached: used to list ids). */
  listAgents(after: string | null, limit: number): Promise<Agent[]> {
    return this.#repo.listAgents(after, limit);
  }

  async getAgent(id: string, bypass = false): Promise<Agent | null> {
    if (bypass) return this.#repo.getAgent(id);
    if (!(await this.#mightExist(id))) return null;
    return this.#cachedAgent(id);
  }

  #cachedAgent(id: string): Promise<Agent | null> {
    return this.#stack.cache.get(GET_AGENT.key(id), () => this.#repo.getAgent(id), {
      policy: GET_AGENT,
      tags: [TAGS.agent(id)],
    });
  }

  async getAgentStats(id: string, bypass = false): Promise<AgentStats | null> {
    if (bypass) return this.#repo.getAgentStats(id);
    if (!(await this.#mightExist(id))) return null;
    return this.#cachedStats(id);
  }

  #cachedStats(id: string): Promise<AgentStats | null> {
    return this.#stack.cache.get(GET_AGENT_STATS.key(id), () => this.#repo.getAgentStats(id), {
      policy: GET_AGENT_STATS,
      tags: [TAGS.agent(id)],
    });
  }

  async getTasks(
    agentId: string,
    status: TaskStatus | 'all',
    bypass = false,
  ): Promise<TaskList | null> {
    if (bypass) return this.#repo.listTasks(agentId, status);
    if (!(await this.#mightExist(agentId))) return null;
    return this.#cachedTasks(agentId, status);
  }

  #cachedTasks(agentId: string, status: TaskStatus | 'all'): Promise<TaskList | null> {
    return this.#stack.cache.get(
      GET_TASKS.key(agentId, status),
      () => this.#repo.listTasks(agentId, status),
      { policy: GET_TASKS },
    );
  }

  async getTask(id: string, bypass = false): Promise<Task | null> {
    if (bypass) return this.#repo.getTask(id);
    return this.#cachedTask(id);
  }

  #cachedTask(id: string): Promise<Task | null> {
    return this.#stack.cache.get(GET_TASK.key(id), () => this.#repo.getTask(id), {
      policy: GET_TASK,
    });
  }

  async popularAgents(bypass = false): Promise<readonly Agent[]> {
    if (bypass) return this.#repo.popularAgents();
    return this.#cachedPopular();
  }

  #cachedPopular(): Promise<readonly Agent[]> {
    return this.#stack.cache.get(GET_POPULAR_AGENTS.key(), () => this.#repo.popularAgents(), {
      policy: GET_POPULAR_AGENTS,
      tags: [TAGS.leaderboard],
    });
  }

  async recentTasks(bypass = false): Promise<readonly Task[]> {
    if (bypass) return this.#repo.recentTasks();
    return this.#stack.cache.get(GET_RECENT_TASKS.key(), () => this.#repo.recentTasks(), {
      policy: GET_RECENT_TASKS,
    });
  }

  /**
   * A live session. Cached for the guide's SESSION TTL (30 minutes), and checked against its
   * `expires_at` on every read, so a session is never served after it expired.
   */
  async getSession(id: string, bypass = false): Promise<Session | null> {
    if (bypass) return this.#repo.getSession(id);
    const key = GET_SESSION.key(id);
    const session = await this.#stack.cache.get(key, () => this.#repo.getSession(id), {
      policy: GET_SESSION,
    });
    if (session !== null && Date.parse(session.expires_at) <= Date.now()) {
      void this.#stack.cache.invalidate(key);
      return null;
    }
    return session;
  }

  /**
   * The period's top 100: ranks and scores from the Redis sorted set (cached as one entry for
   * the policy's 60 s), names from the agent entries (one `getMany`), so a renamed agent shows
   * its new name at once. Agents deactivated since the last recompute are left out.
   */
  async getLeaderboard(period: Period, bypass = false): Promise<LeaderboardView> {
    const ranked = bypass ? await this.#repo.topScores(period) : await this.#cachedRanking(period);
    const agents = await this.#agentsById(
      ranked.map((r) => r.agent_id),
      bypass,
    );
    const entries: LeaderboardEntry[] = [];
    for (const r of ranked) {
      const agent = agents.get(r.agent_id);
      if (agent === undefined || !agent.is_active) continue;
      entries.push({
        rank: entries.length + 1,
        agent_id: r.agent_id,
        name: agent.name,
        reputation_score: agent.reputation_score,
        score: r.score,
      });
    }
    return { period, entries };
  }

  #cachedRanking(period: Period) {
    return this.#stack.cache.get(
      GET_LEADERBOARD.key(period),
      () => this.#leaderboards.top(period),
      { policy: GET_LEADERBOARD, tags: [TAGS.leaderboard] },
    );
  }

  async #agentsById(ids: readonly string[], bypass: boolean): Promise<Map<string, Agent>> {
    if (bypass) return new Map((await this.#repo.getAgents(ids)).map((a) => [a.id, a]));
    const idOf = new Map(ids.map((id) => [GET_AGENT.key(id), id]));
    const found = await this.#stack.cache.getMany<Agent>(
      [...idOf.keys()],
      async (missing) => {
        const rows = await this.#repo.getAgents(missing.map((k) => idOf.get(k)!));
        return new Map(rows.map((a) => [GET_AGENT.key(a.id), a]));
      },
      { policy: GET_AGENT },
    );
    const out = new Map<string, Agent>();
    for (const agent of found.values()) if (agent !== null) out.set(agent.id, agent);
    return out;
  }

  // ---- writes: PostgreSQL first, then the invalidations of the event -------------------

  /**
   * Emits `event` (its invalidations: L2, this L1, the other instances' L1 through the bus),
   * then reloads in the background the entries it invalidated that this instance held in L1 —
   * entries that are being read, whose next read would otherwise be a miss waiting for
   * PostgreSQL. A reload is an ordinary cache load started after the delete: it reads what
   * the write committed, joins nothing older, and with versioned writes its L2 write is
   * dropped if a later invalidation of the key came first. Other instances read the reloaded
   * value from L2. A failed reload is logged; the next read loads as usual.
   */
  async #emit<E extends DomainEvent>(event: E, payload: DomainEvents[E]): Promise<void> {
    const l1 = this.#stack.l1;
    const hot = this.#reloadsAfter(event, payload).filter(([key]) => l1.has(key));
    await this.#invalidations.emit(event, payload);
    for (const [key, reload] of hot) {
      reload().catch((error: unknown) => {
        this.#log.warn('reload after a write failed; the next read loads it', { key, error });
      });
    }
  }

  /** The entries `event` invalidates that can be reloaded at once, with how to load each. */
  #reloadsAfter<E extends DomainEvent>(
    event: E,
    payload: DomainEvents[E],
  ): Array<readonly [string, () => Promise<unknown>]> {
    const agentId = (payload as { agentId?: string }).agentId;
    const taskId = (payload as { taskId?: string }).taskId;
    const out: Array<readonly [string, () => Promise<unknown>]> = [];
    const agent = (id: string) => out.push([GET_AGENT.key(id), () => this.#cachedAgent(id)]);
    const stats = (id: string) => out.push([GET_AGENT_STATS.key(id), () => this.#cachedStats(id)]);
    const lists = (id: string) => {
      for (const status of ['all', ...TASK_STATUSES] as const) {
        out.push([GET_TASKS.key(id, status), () => this.#cachedTasks(id, status)]);
      }
    };
    const rankings = () => {
      for (const period of ['daily', 'weekly'] as const) {
        out.push([GET_LEADERBOARD.key(period), () => this.#cachedRanking(period)]);
      }
    };
    const popular = () => out.push([GET_POPULAR_AGENTS.key(), () => this.#cachedPopular()]);
    switch (event) {
      case 'AGENT_UPDATED':
        if (agentId !== undefined) {
          agent(agentId);
          stats(agentId);
        }
        popular();
        break;
      case 'AGENT_REPUTATION_CHANGED':
        if (agentId !== undefined) {
          agent(agentId);
          stats(agentId);
        }
        rankings();
        popular();
        break;
      case 'TASK_CREATED':
        if (agentId !== undefined) lists(agentId);
        break;
      case 'TASK_COMPLETED':
      case 'TASK_FAILED':
        if (agentId !== undefined) stats(agentId);
        break;
      case 'TASK_STATUS_CHANGED':
        if (agentId !== undefined) lists(agentId);
        if (taskId !== undefined) out.push([GET_TASK.key(taskId), () => this.#cachedTask(taskId)]);
        break;
      case 'VOTE_SUBMITTED':
        rankings();
        break;
      default:
        break;
    }
    return out;
  }

  async createAgent(input: { name: string; status?: AgentStatus | undefined }): Promise<Agent> {
    const agent = await this.#repo.createAgent(input);
    // Into the shared filter before anyone can be told the id: every instance sees it.
    await this.#stack.agentIds.add(agent.id).catch((error: unknown) => {
      this.#log.warn('bloom add failed; the filter is rebuilt at the next start', { error });
    });
    await this.#invalidations.emit('AGENT_CREATED', { agentId: agent.id });
    return agent;
  }

  async updateAgent(
    id: string,
    patch: {
      name?: string | undefined;
      status?: AgentStatus | undefined;
      is_active?: boolean | undefined;
    },
  ): Promise<Agent | null> {
    const agent = await this.#repo.updateAgent(id, patch);
    if (agent !== null) await this.#emit('AGENT_UPDATED', { agentId: id });
    return agent;
  }

  async changeReputation(id: string, delta: number): Promise<Agent | null> {
    const agent = await this.#repo.changeReputation(id, delta);
    if (agent === null) return null;
    await this.#leaderboards.applyReputation(id, delta);
    await this.#emit('AGENT_REPUTATION_CHANGED', { agentId: id });
    return agent;
  }

  async createTask(agentId: string, title: string): Promise<Task | null> {
    const task = await this.#repo.createTask(agentId, title);
    if (task !== null) {
      await this.#emit('TASK_CREATED', { agentId, taskId: task.id });
    }
    return task;
  }

  async finishTask(
    id: string,
    status: 'completed' | 'failed',
  ): ReturnType<Repository['finishTask']> {
    const outcome = await this.#repo.finishTask(id, status);
    if (outcome.result === 'finished') {
      const payload = { agentId: outcome.task.agent_id, taskId: id };
      await Promise.all([
        this.#emit(status === 'completed' ? 'TASK_COMPLETED' : 'TASK_FAILED', payload),
        this.#emit('TASK_STATUS_CHANGED', payload),
      ]);
    }
    return outcome;
  }

  async submitVote(agentId: string, voter: string, value: 1 | -1): Promise<Vote | null> {
    const vote = await this.#repo.submitVote(agentId, voter, value);
    if (vote === null) return null;
    await this.#leaderboards.applyVote(agentId, value);
    await this.#emit('VOTE_SUBMITTED', { agentId });
    return vote;
  }

  /** Recomputes now; a recompute already running elsewhere is not waited for (409). */
  recomputeLeaderboard(period: Period): Promise<RecomputeResult> {
    return this.#leaderboards.recompute(period, { retries: 0 });
  }
}
