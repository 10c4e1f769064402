import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { SeedSizes } from '../config.js';
import type { Logger } from '../log.js';
import type { Progress } from './progress.js';

/**
 * The id of seeded agent number `n` (1-based), as SQL: an MD5 of `agent:<n>` shaped into a
 * version-4 UUID. Deterministic, so tasks, votes and sessions can point at agents without a
 * lookup, and a reseed gives the same ids.
 */
const agentIdSql = (n: string) =>
  `overlay(overlay(md5('agent:' || (${n})) placing '4' from 13) placing '8' from 17)::uuid`;

/** The id of seeded agent number `n`, computed as the seeder does. */
export function seededAgentId(n: number): string {
  const hex = createHash('md5').update(`agent:${n}`).digest('hex');
  const h = `${hex.slice(0, 12)}4${hex.slice(13, 16)}8${hex.slice(17)}`;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Popular agents get more work and more votes: agent n is picked with density ~ 1/sqrt(n).
const skewedAgent = (agents: string) => `1 + floor(${agents} * power(random(), 2))::int`;

const STEPS = {
  agents: `
    INSERT INTO agents (id, name, status, is_active, reputation_score, created_at, last_modified)
    SELECT ${agentIdSql('g')},
           'agent-' || lpad(g::text, 6, '0'),
           (ARRAY['idle', 'busy', 'offline'])[1 + floor(random() * 3)::int],
           random() < 0.9,
           floor(1000 * power(random(), 2))::int,
           c,
           c + (now() - c) * random()
    FROM (SELECT g, now() - random() * interval '365 days' AS c
          FROM generate_series($1::int, $2::int) AS g) s`,
  tasks: `
    INSERT INTO tasks (agent_id, title, status, created_at, completed_at)
    SELECT ${agentIdSql('a')},
           'task #' || g,
           st,
           c,
           CASE WHEN st = 'pending' THEN NULL
                ELSE least(now(), c + random() * interval '2 hours') END
    FROM (SELECT g,
                 ${skewedAgent('$3::int')} AS a,
                 CASE WHEN r < 0.6 THEN 'completed' WHEN r < 0.75 THEN 'failed'
                      ELSE 'pending' END AS st,
                 now() - random() * interval '30 days' AS c
          FROM (SELECT g, random() AS r FROM generate_series($1::int, $2::int) AS g) x) y`,
  votes: `
    INSERT INTO votes (agent_id, voter, value, created_at)
    SELECT ${agentIdSql('a')},
           'user-' || (1 + floor(random() * 5000)::int),
           CASE WHEN random() < 0.7 THEN 1 ELSE -1 END,
           now() - random() * interval '30 days'
    FROM (SELECT g, ${skewedAgent('$3::int')} AS a
          FROM generate_series($1::int, $2::int) AS g) s`,
  // Expiring between an hour ago and two hours from now: about two thirds are live.
  sessions: `
    INSERT INTO sessions (user_id, agent_id, data, created_at, expires_at)
    SELECT 'user-' || (1 + floor(random() * 5000)::int),
           ${agentIdSql(skewedAgent('$3::int'))},
           jsonb_build_object('theme', (ARRAY['light', 'dark'])[1 + floor(random() * 2)::int],
                              'locale', (ARRAY['en', 'fr', 'de', 'ja'])[1 + floor(random() * 4)::int]),
           e - interval '2 hours',
           e
    FROM (SELECT g, now() + (random() * 3 - 1) * interval '1 hour' AS e
          FROM generate_series($1::int, $2::int) AS g) s`,
} as const;

const CHUNK = 25_000;

/** What {@link seed} did. */
export interface SeedResult {
  readonly status: 'seeded' | 'already-seeded';
  readonly sizes: SeedSizes;
  readonly durationMs: number;
}

/**
 * Fills the database with a generated dataset of `sizes`, all in one transaction (a seed that
 * fails or is interrupted leaves the previous data). Idempotent: a database already seeded
 * with these sizes is left alone unless `reseed`; other sizes replace the data.
 * Rows are generated inside PostgreSQL (`generate_series`), in chunks so that `progress`
 * moves: about 2 s for the default 10k agents, 200k tasks, 100k votes on a laptop.
 */
export async function seed(
  pool: pg.Pool,
  options: { sizes: SeedSizes; reseed?: boolean; progress: Progress; log: Logger },
): Promise<SeedResult> {
  const { sizes, progress, log } = options;
  const started = Date.now();
  const { rows } = await pool.query<{ sizes: SeedSizes }>('SELECT sizes FROM seed_state');
  const previous = rows[0]?.sizes;
  if (previous !== undefined && sameSizes(previous, sizes) && options.reseed !== true) {
    log.info('database already seeded', { ...sizes });
    return { status: 'already-seeded', sizes, durationMs: Date.now() - started };
  }
  log.info(previous === undefined ? 'seeding' : 'reseeding', { ...sizes });
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      'TRUNCATE leaderboard_entries, sessions, votes, tasks, agents, seed_state RESTART IDENTITY',
    );
    for (const step of ['agents', 'tasks', 'votes', 'sessions'] as const) {
      const total = sizes[step];
      progress.update(step, 0, total);
      for (let from = 1; from <= total; from += CHUNK) {
        const to = Math.min(total, from + CHUNK - 1);
        const params = step === 'agents' ? [from, to] : [from, to, sizes.agents];
        await client.query(STEPS[step], params);
        progress.update(step, to, total);
      }
    }
    await client.query(
      'INSERT INTO seed_state (id, sizes, completed_at) VALUES (1, $1::jsonb, now())',
      [JSON.stringify(sizes)],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  // Fresh statistics, or the planner guesses row counts of empty tables.
  await pool.query('ANALYZE agents, tasks, votes, sessions');
  const total = sizes.agents + sizes.tasks + sizes.votes + sizes.sessions;
  progress.finish(`seeded ${total.toLocaleString('en')} rows`);
  return { status: 'seeded', sizes, durationMs: Date.now() - started };
}

function sameSizes(a: SeedSizes, b: SeedSizes): boolean {
  return (
    a.agents === b.agents && a.tasks === b.tasks && a.votes === b.votes && a.sessions === b.sessions
  );
}
