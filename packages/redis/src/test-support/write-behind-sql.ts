// The PostgreSQL side of the write-behind tests: one table, one idempotent, ordered upsert.

/** `value` must be >= 0, so a negative value is a poison write the database rejects. */
export const CREATE_TABLE_SQL = `CREATE TABLE wb_items (
  key text PRIMARY KEY,
  value int NOT NULL CHECK (value >= 0),
  last_seq bigint NOT NULL
)`;

/**
 * Applies a write unless a newer one (by stream sequence) is already there: replays after a
 * crash and writes that arrive out of order are no-ops. `$1` key, `$2` value, `$3` sequence.
 */
export const APPLY_SQL = `INSERT INTO wb_items (key, value, last_seq) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, last_seq = EXCLUDED.last_seq
WHERE wb_items.last_seq < EXCLUDED.last_seq`;

/**
 * Data (22xxx) and integrity (23xxx) errors are the write's fault: retrying cannot help.
 * Everything else (connection refused or terminated, database not accepting connections,
 * lock and statement timeouts) is the database's state: retry until it is back.
 */
export function isTransientPgError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && /^2[23]/.test(code));
}
