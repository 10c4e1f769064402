import type pg from 'pg';

/** Task states; `pending` tasks finish as `completed` or `failed`. */
export const TASK_STATUSES = ['pending', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const AGENT_STATUSES = ['idle', 'busy', 'offline'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];
export const PERIODS = ['daily', 'weekly'] as const;
export type Period = (typeof PERIODS)[number];

/** `GET /api/agents/:id`. Times are ISO strings, so a value reads the same from every tier. */
export interface Agent {
  readonly id: string;
  readonly name: string;
  readonly status: AgentStatus;
  readonly is_active: boolean;
  readonly reputation_score: number;
  readonly last_modified: string;
}

/**
 * `GET /api/agents/:id/stats`: finished tasks only, so creating a task does not change it
 * (the guide invalidates stats on TASK_COMPLETED and TASK_FAILED, not TASK_CREATED).
 */
export interface AgentStats {
  readonly agent_id: string;
  readonly reputation_score: number;
  readonly tasks_completed: number;
  readonly tasks_failed: number;
  /** completed / (completed + failed); null before the first finished task. */
  readonly success_rate: number | null;
  readonly avg_duration_seconds: number | null;
  readonly last_finished_at: string | null;
}

export interface Task {
  readonly id: string;
  readonly agent_id: string;
  readonly title: string;
  readonly status: TaskStatus;
  readonly created_at: string;
  readonly completed_at: string | null;
}

/** `GET /api/tasks?agent_id=&status=`: an agent's latest tasks, optionally of one status. */
export interface TaskList {
  readonly agent_id: string;
  readonly status: TaskStatus | 'all';
  readonly tasks: readonly Task[];
}

export interface Session {
  readonly id: string;
  readonly user_id: string;
  readonly agent_id: string | null;
  readonly data: unknown;
  readonly created_at: string;
  readonly expires_at: string;
}

export interface Vote {
  readonly id: number;
  readonly agent_id: string;
  readonly voter: string;
  readonly value: number;
  readonly created_at: string;
}

/** One ranked agent: the leaderboard as stored in Redis (ids and scores only). */
export interface Ranked {
  readonly rank: number;
  readonly agent_id: string;
  readonly score: number;
}

/** An agent's score for a period: reputation + 10 × the sum of its votes in the period. */
export interface Scored {
  readonly agent_id: string;
  readonly score: number;
}

/** A write carrying an older fencing token than one the database already accepted. */
export class StaleFencingTokenError extends Error {
  static readonly code = 'E_STALE_FENCING_TOKEN';
  readonly code = StaleFencingTokenError.code;
  override readonly name = 'StaleFencingTokenError';
  constructor(
    readonly period: Period,
    readonly fencingToken: number,
    readonly highestToken: number,
  ) {
    super(
      `leaderboard ${period}: fencing token ${fencingToken} refused, the database already accepted ${highestToken}`,
    );
  }
}

const PERIOD_INTERVAL: Record<Period, string> = { daily: '1 day', weekly: '7 days' };
/** How many votes count in a period score, relative to reputation. */
export const VOTE_WEIGHT = 10;
/** Entries kept in a period's snapshot and returned by the leaderboard. */
export const LEADERBOARD_SIZE = 100;
const TASK_PAGE = 20;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

interface AgentRow {
  id: string;
  name: string;
  status: AgentStatus;
  is_active: boolean;
  reputation_score: number;
  last_modified: Date;
}
const toAgent = (r: AgentRow): Agent => ({
  id: r.id,
  name: r.name,
  status: r.status,
  is_active: r.is_active,
  reputation_score: r.reputation_score,
  last_modified: r.last_modified.toISOString(),
});

interface TaskRow {
  id: string;
  agent_id: string;
  title: string;
  status: TaskStatus;
  created_at: Date;
  completed_at: Date | null;
}
const toTask = (r: TaskRow): Task => ({
  id: r.id,
  agent_id: r.agent_id,
  title: r.title,
  status: r.status,
  created_at: r.created_at.toISOString(),
  completed_at: iso(r.completed_at),
});

interface SessionRow {
  id: string;
  user_id: string;
  agent_id: string | null;
  data: unknown;
  created_at: Date;
  expires_at: Date;
}
const toSession = (r: SessionRow): Session => ({
  id: r.id,
  user_id: r.user_id,
  agent_id: r.agent_id,
  data: r.data,
  created_at: r.created_at.toISOString(),
  expires_at: r.expires_at.toISOString(),
});

const AGENT_COLUMNS = 'id, name, status, is_active, reputation_score, last_modified';
const TASK_COLUMNS = 'id, agent_id, title, status, created_at, completed_at';

const scoresSql = `
  SELECT a.id AS agent_id, a.reputation_score + ${VOTE_WEIGHT} * coalesce(v.total, 0) AS score
  FROM agents a
  LEFT JOIN (SELECT agent_id, sum(value) AS total FROM votes
             WHERE created_at > now() - $1::interval GROUP BY agent_id) v
    ON v.agent_id = a.id
  WHERE a.is_active`;

/**
 * The source of truth (L3): every query of the demo, parameterized. Values come back as plain
 * JSON-ready objects.
 */
export class Repository {
  constructor(readonly pool: pg.Pool) {}

  async getAgent(id: string): Promise<Agent | null> {
    const { rows } = await this.pool.query<AgentRow>(
      `SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1`,
      [id],
    );
    return rows[0] === undefined ? null : toAgent(rows[0]);
  }

  /** Agents by id, for the ids that exist. */
  async getAgents(ids: readonly string[]): Promise<Agent[]> {
    const { rows } = await this.pool.query<AgentRow>(
      `SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map(toAgent);
  }

  /** A page of agent ids in id order (keyset pagination), e.g. for the Bloom filter. */
  async agentIds(after: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      'SELECT id FROM agents WHERE ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id LIMIT $2',
      [after, limit],
    );
    return rows.map((r) => r.id);
  }

  async listAgents(after: string | null, limit: number): Promise<Agent[]> {
    const { rows } = await this.pool.query<AgentRow>(
      `SELECT ${AGENT_COLUMNS} FROM agents WHERE ($1::uuid IS NULL OR id > $1::uuid)
       ORDER BY id LIMIT $2`,
      [after, limit],
    );
    return rows.map(toAgent);
  }

  /** The guide's warming query: every active agent. */
  async activeAgents(): Promise<Agent[]> {
    const { rows } = await this.pool.query<AgentRow>(
      `SELECT ${AGENT_COLUMNS} FROM agents WHERE is_active`,
    );
    return rows.map(toAgent);
  }

  /** The guide's hot query `popular-agents`. */
  async popularAgents(): Promise<Agent[]> {
    const { rows } = await this.pool.query<AgentRow>(
      `SELECT ${AGENT_COLUMNS} FROM agents WHERE reputation_score > $1 AND is_active
       ORDER BY reputation_score DESC, id LIMIT $2`,
      [500, 50],
    );
    return rows.map(toAgent);
  }

  async createAgent(input: { name: string; status?: AgentStatus | undefined }): Promise<Agent> {
    const { rows } = await this.pool.query<AgentRow>(
      `INSERT INTO agents (name, status) VALUES ($1, coalesce($2, 'idle'))
       RETURNING ${AGENT_COLUMNS}`,
      [input.name, input.status ?? null],
    );
    return toAgent(rows[0]!);
  }

  /** Changes the given fields; null when the agent does not exist. */
  async updateAgent(
    id: string,
    patch: {
      name?: string | undefined;
      status?: AgentStatus | undefined;
      is_active?: boolean | undefined;
    },
  ): Promise<Agent | null> {
    const { rows } = await this.pool.query<AgentRow>(
      `UPDATE agents SET name = coalesce($2, name), status = coalesce($3, status),
              is_active = coalesce($4, is_active), last_modified = now()
       WHERE id = $1 RETURNING ${AGENT_COLUMNS}`,
      [id, patch.name ?? null, patch.status ?? null, patch.is_active ?? null],
    );
    return rows[0] === undefined ? null : toAgent(rows[0]);
  }

  /** Adds `delta` to the agent's reputation; null when the agent does not exist. */
  async changeReputation(id: string, delta: number): Promise<Agent | null> {
    const { rows } = await this.pool.query<AgentRow>(
      `UPDATE agents SET reputation_score = reputation_score + $2, last_modified = now()
       WHERE id = $1 RETURNING ${AGENT_COLUMNS}`,
      [id, delta],
    );
    return rows[0] === undefined ? null : toAgent(rows[0]);
  }

  async getAgentStats(id: string): Promise<AgentStats | null> {
    const { rows } = await this.pool.query<{
      reputation_score: number;
      completed: number;
      failed: number;
      avg_duration: number | null;
      last_finished_at: Date | null;
    }>(
      `SELECT a.reputation_score,
              count(*) FILTER (WHERE t.status = 'completed')::int AS completed,
              count(*) FILTER (WHERE t.status = 'failed')::int AS failed,
              (avg(extract(epoch FROM t.completed_at - t.created_at))
                 FILTER (WHERE t.status = 'completed'))::float8 AS avg_duration,
              max(t.completed_at) AS last_finished_at
       FROM agents a
       LEFT JOIN tasks t ON t.agent_id = a.id AND t.status IN ('completed', 'failed')
       WHERE a.id = $1
       GROUP BY a.id`,
      [id],
    );
    const r = rows[0];
    if (r === undefined) return null;
    const finished = r.completed + r.failed;
    return {
      agent_id: id,
      reputation_score: r.reputation_score,
      tasks_completed: r.completed,
      tasks_failed: r.failed,
      success_rate: finished === 0 ? null : Math.round((r.completed / finished) * 10_000) / 10_000,
      avg_duration_seconds: r.avg_duration === null ? null : Math.round(r.avg_duration * 10) / 10,
      last_finished_at: iso(r.last_finished_at),
    };
  }

  /** The agent's latest tasks; null when the agent does not exist. */
  async listTasks(agentId: string, status: TaskStatus | 'all'): Promise<TaskList | null> {
    const { rows } = await this.pool.query<TaskRow & { found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM agents WHERE id = $1) AS found, t.*
       FROM (SELECT 1) one
       LEFT JOIN LATERAL (
         SELECT ${TASK_COLUMNS} FROM tasks
         WHERE agent_id = $1 AND ($2::text IS NULL OR status = $2::text)
         ORDER BY created_at DESC LIMIT $3
       ) t ON true`,
      [agentId, status === 'all' ? null : status, TASK_PAGE],
    );
    if (rows[0]?.found !== true) return null;
    const tasks = rows.filter((r) => r.id !== null).map(toTask);
    return { agent_id: agentId, status, tasks };
  }

  async getTask(id: string): Promise<Task | null> {
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1`,
      [id],
    );
    return rows[0] === undefined ? null : toTask(rows[0]);
  }

  /** The guide's hot query `recent-tasks`: the last hour's tasks. */
  async recentTasks(): Promise<Task[]> {
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks WHERE created_at > now() - interval '1 hour'
       ORDER BY created_at DESC LIMIT 100`,
    );
    return rows.map(toTask);
  }

  /** Null when the agent does not exist. */
  async createTask(agentId: string, title: string): Promise<Task | null> {
    try {
      const { rows } = await this.pool.query<TaskRow>(
        `INSERT INTO tasks (agent_id, title) VALUES ($1, $2) RETURNING ${TASK_COLUMNS}`,
        [agentId, title],
      );
      return toTask(rows[0]!);
    } catch (error) {
      if ((error as { code?: string }).code === '23503') return null; // foreign key: no agent
      throw error;
    }
  }

  /**
   * Moves a pending task to `completed` or `failed`. `'not-found'`: no such task;
   * `'not-pending'`: it had already finished (the current task is returned too).
   */
  async finishTask(
    id: string,
    status: 'completed' | 'failed',
  ): Promise<
    | { result: 'finished'; task: Task }
    | { result: 'not-pending'; task: Task }
    | { result: 'not-found' }
  > {
    const { rows } = await this.pool.query<TaskRow>(
      `UPDATE tasks SET status = $2, completed_at = now() WHERE id = $1 AND status = 'pending'
       RETURNING ${TASK_COLUMNS}`,
      [id, status],
    );
    if (rows[0] !== undefined) return { result: 'finished', task: toTask(rows[0]) };
    const task = await this.getTask(id);
    return task === null ? { result: 'not-found' } : { result: 'not-pending', task };
  }

  /** Null when the agent does not exist. */
  async submitVote(agentId: string, voter: string, value: 1 | -1): Promise<Vote | null> {
    try {
      const { rows } = await this.pool.query<{
        id: string;
        agent_id: string;
        voter: string;
        value: number;
        created_at: Date;
      }>(
        `INSERT INTO votes (agent_id, voter, value) VALUES ($1, $2, $3)
         RETURNING id, agent_id, voter, value, created_at`,
        [agentId, voter, value],
      );
      const r = rows[0]!;
      return { ...r, id: Number(r.id), created_at: r.created_at.toISOString() };
    } catch (error) {
      if ((error as { code?: string }).code === '23503') return null;
      throw error;
    }
  }

  /** A live session; null when it does not exist or has expired. */
  async getSession(id: string): Promise<Session | null> {
    const { rows } = await this.pool.query<SessionRow>(
      `SELECT id, user_id, agent_id, data, created_at, expires_at FROM sessions
       WHERE id = $1 AND expires_at > now()`,
      [id],
    );
    return rows[0] === undefined ? null : toSession(rows[0]);
  }

  /** The guide's warming query: live sessions, at most `limit`. */
  async liveSessions(limit: number): Promise<Session[]> {
    const { rows } = await this.pool.query<SessionRow>(
      `SELECT id, user_id, agent_id, data, created_at, expires_at FROM sessions
       WHERE expires_at > now() ORDER BY expires_at DESC LIMIT $1`,
      [limit],
    );
    return rows.map(toSession);
  }

  /** Every active agent's score for the period (the full ranking, for the Redis ZSET). */
  async periodScores(period: Period): Promise<Scored[]> {
    const { rows } = await this.pool.query<{ agent_id: string; score: string }>(scoresSql, [
      PERIOD_INTERVAL[period],
    ]);
    return rows.map((r) => ({ agent_id: r.agent_id, score: Number(r.score) }));
  }

  /** The top of the ranking computed on the spot (what an uncached leaderboard costs). */
  async topScores(period: Period, limit = LEADERBOARD_SIZE): Promise<Ranked[]> {
    const { rows } = await this.pool.query<{ agent_id: string; score: string }>(
      `${scoresSql} ORDER BY score DESC, agent_id LIMIT $2`,
      [PERIOD_INTERVAL[period], limit],
    );
    return rows.map((r, i) => ({ rank: i + 1, agent_id: r.agent_id, score: Number(r.score) }));
  }

  /**
   * Stores a period's top entries, fenced: the write goes through only if `fencingToken` is
   * higher than every token that wrote this period before (checked by the UPDATE's WHERE, in
   * the same transaction), so a recompute whose lock expired mid-way cannot overwrite a newer
   * one.
   * @throws {StaleFencingTokenError} a newer token has already written.
   */
  async saveLeaderboard(
    period: Period,
    fencingToken: number,
    top: readonly Ranked[],
  ): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const fenced = await client.query(
        `UPDATE leaderboard_fences SET fencing_token = $2, computed_at = now()
         WHERE period = $1 AND fencing_token < $2`,
        [period, fencingToken],
      );
      if (fenced.rowCount !== 1) {
        await client.query('ROLLBACK');
        throw new StaleFencingTokenError(
          period,
          fencingToken,
          await this.highestFencingToken(period),
        );
      }
      await client.query('DELETE FROM leaderboard_entries WHERE period = $1', [period]);
      await client.query(
        `INSERT INTO leaderboard_entries (period, rank, agent_id, score)
         SELECT $1, e.rank, e.agent_id, e.score
         FROM unnest($2::int[], $3::uuid[], $4::bigint[]) AS e (rank, agent_id, score)`,
        [period, top.map((e) => e.rank), top.map((e) => e.agent_id), top.map((e) => e.score)],
      );
      await client.query('COMMIT');
    } catch (error) {
      if (!(error instanceof StaleFencingTokenError))
        await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async highestFencingToken(period: Period): Promise<number> {
    const { rows } = await this.pool.query<{ fencing_token: string }>(
      'SELECT fencing_token FROM leaderboard_fences WHERE period = $1',
      [period],
    );
    return Number(rows[0]?.fencing_token ?? 0);
  }

  /** The last stored snapshot of a period (a fallback when Redis has no ranking). */
  async savedLeaderboard(period: Period): Promise<Ranked[]> {
    const { rows } = await this.pool.query<{ rank: number; agent_id: string; score: string }>(
      'SELECT rank, agent_id, score FROM leaderboard_entries WHERE period = $1 ORDER BY rank',
      [period],
    );
    return rows.map((r) => ({ rank: r.rank, agent_id: r.agent_id, score: Number(r.score) }));
  }
}
