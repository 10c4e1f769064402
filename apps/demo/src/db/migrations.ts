import type pg from 'pg';
import type { Logger } from '../log.js';

/** One schema change, applied once, in order of `version`. */
interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The schema of the guide's AI-agent platform. Append new migrations; never edit one that
 * has shipped (databases that applied it would not see the change).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents, tasks, votes, sessions',
    sql: `
      CREATE TABLE agents (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        status text NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'busy', 'offline')),
        is_active boolean NOT NULL DEFAULT true,
        reputation_score integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_modified timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX agents_active_reputation ON agents (reputation_score DESC) WHERE is_active;

      CREATE TABLE tasks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        agent_id uuid NOT NULL REFERENCES agents (id),
        title text NOT NULL,
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'completed', 'failed')),
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        CHECK ((status = 'pending') = (completed_at IS NULL))
      );
      CREATE INDEX tasks_agent_created ON tasks (agent_id, created_at DESC);
      CREATE INDEX tasks_agent_status_created ON tasks (agent_id, status, created_at DESC);
      CREATE INDEX tasks_created ON tasks (created_at DESC);

      CREATE TABLE votes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        agent_id uuid NOT NULL REFERENCES agents (id),
        voter text NOT NULL,
        value smallint NOT NULL CHECK (value IN (-1, 1)),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX votes_created ON votes (created_at) INCLUDE (agent_id, value);
      CREATE INDEX votes_agent ON votes (agent_id);

      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id text NOT NULL,
        agent_id uuid REFERENCES agents (id),
        data jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX sessions_expires ON sessions (expires_at);
    `,
  },
  {
    version: 2,
    name: 'leaderboard snapshots with fencing tokens',
    sql: `
      -- The highest fencing token that wrote each period's snapshot: a recompute holding an
      -- older token (its lock expired while it ran) is refused by the UPDATE's WHERE.
      CREATE TABLE leaderboard_fences (
        period text PRIMARY KEY,
        fencing_token bigint NOT NULL DEFAULT 0,
        computed_at timestamptz
      );
      INSERT INTO leaderboard_fences (period) VALUES ('daily'), ('weekly');

      CREATE TABLE leaderboard_entries (
        period text NOT NULL REFERENCES leaderboard_fences (period),
        rank integer NOT NULL,
        agent_id uuid NOT NULL REFERENCES agents (id),
        score bigint NOT NULL,
        PRIMARY KEY (period, rank)
      );
    `,
  },
  {
    version: 3,
    name: 'seed state',
    sql: `
      CREATE TABLE seed_state (
        id integer PRIMARY KEY CHECK (id = 1),
        sizes jsonb NOT NULL,
        completed_at timestamptz NOT NULL
      );
    `,
  },
];

// Any constant works; it only has to be the same in every process running migrations.
const MIGRATION_LOCK = 7_340_110;

/**
 * Applies the migrations this database has not seen, each in its own transaction, under a
 * PostgreSQL advisory lock so that instances starting together do not race.
 * @returns the versions applied now.
 */
export async function migrate(pool: pg.Pool, log: Logger): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations',
    );
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      log.info(`migrating: ${m.version} ${m.name}`);
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.version} (${m.name}) failed`, { cause: error });
      }
      applied.push(m.version);
    }
    if (applied.length === 0) log.info('schema up to date');
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
