import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type PostgresServer, startPostgres } from './postgres-server.js';

const servers: PostgresServer[] = [];

async function server(options?: Parameters<typeof startPostgres>[0]): Promise<PostgresServer> {
  const started = await startPostgres(options);
  servers.push(started);
  return started;
}

async function query<T extends pg.QueryResultRow>(
  connectionString: string,
  sql: string,
  values?: unknown[],
): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

function probe(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('startPostgres', () => {
  it('gives a database that answers SELECT 1', async () => {
    const started = await server();

    expect(await query(started.connectionString, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(started.database).toMatch(/^tc_test_[0-9a-f]+$/);
  });

  it('gives each call a different database', async () => {
    const [a, b] = await Promise.all([server(), server()]);

    const names = await Promise.all(
      [a!, b!].map(
        async (s) =>
          (await query(s.connectionString, 'SELECT current_database() AS name'))[0]?.name,
      ),
    );

    expect(names).toEqual([a?.database, b?.database]);
    expect(a?.database).not.toBe(b?.database);
  });

  describe('embedded', () => {
    it('restart() ends open sessions, keeps the data and port, and accepts connections again', async () => {
      const started = await server();
      await query(
        started.connectionString,
        'CREATE TABLE t (v text); INSERT INTO t VALUES ($$kept$$)',
      );
      const open = new pg.Client({ connectionString: started.connectionString });
      const ended = new Promise<string | undefined>((resolve) =>
        open.on('error', (error) => resolve((error as { code?: string }).code)),
      );
      await open.connect();

      await started.restart();

      expect(await ended).toBe('57P01');
      await open.end().catch(() => {});
      expect(await query(started.connectionString, 'SELECT v FROM t')).toEqual([{ v: 'kept' }]);
    });

    it('restart() refuses a server given by URL', async () => {
      const host = await server({ databaseUrl: '' });
      const adminUrl = host.connectionString.replace(/\/[^/]+$/, '/postgres');
      const external = await startPostgres({ databaseUrl: adminUrl });

      await expect(external.restart()).rejects.toThrow(/only an embedded/);
      await external.stop();
    });

    it('stops its server and deletes its data directory on stop()', async () => {
      const started = await server({ databaseUrl: '' });
      const [{ dir } = { dir: '' }] = await query<{ dir: string }>(
        started.connectionString,
        'SELECT current_setting($1) AS dir',
        ['data_directory'],
      );
      const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      expect(probe(pid)).toBeUndefined();

      await started.stop();

      expect(probe(pid)).toBe('ESRCH');
      expect(existsSync(dir)).toBe(false);
    });

    it('keeps a persistent data directory and reuses it', async () => {
      const parent = await mkdtemp(join(tmpdir(), 'tc-pg-test-'));
      // As root, PostgreSQL runs as the postgres user, which must be able to reach the dir.
      await chmod(parent, 0o755);
      const dataDir = join(parent, 'data');
      try {
        const first = await startPostgres({ databaseUrl: '', dataDir, database: 'demo' });
        await query(first.connectionString, 'CREATE TABLE t (v text)');
        await query(first.connectionString, 'INSERT INTO t VALUES ($1)', ['kept']);
        await first.stop();

        const second = await server({ databaseUrl: '', dataDir, database: 'demo' });

        expect(await query(second.connectionString, 'SELECT v FROM t')).toEqual([{ v: 'kept' }]);
      } finally {
        await Promise.all(servers.splice(0).map((s) => s.stop()));
        await rm(parent, { recursive: true, force: true });
      }
    });
  });

  describe('with a database URL', () => {
    it('creates a fresh database on that server and drops it on stop()', async () => {
      const host = await server({ databaseUrl: '' });
      const adminUrl = host.connectionString.replace(/\/[^/]+$/, '/postgres');
      const started = await startPostgres({ databaseUrl: adminUrl });
      const exists = async (): Promise<boolean> =>
        (await query(adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [started.database]))
          .length === 1;

      expect(started.port).toBe(host.port);
      expect(await query(started.connectionString, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(await exists()).toBe(true);

      await started.stop();

      expect(await exists()).toBe(false);
    });
  });
});
