// No secret in logs or errors: the demo started with `redis://demo:<secret>@…` and
// `postgres://demo_user:<secret>@…` URLs, when everything works, when a password is wrong,
// when a server is unreachable and when an option is invalid. Every log line (debug level
// included), every error message and stack, and every HTTP body is checked for the secret.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getFreePort,
  type PostgresServer,
  type RedisServer,
  startPostgres,
  startRedis,
} from '@tiercache/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { noProgress } from './db/progress.js';
import { createInstance } from './instance.js';
import { createLogger, redactCredentials, redactUrl } from './log.js';
import { prepareDatabase, startBacking } from './setup.js';
import { TEST_SIZES } from './test-support/fixture.js';

const SECRET = 's3cret';
const REDIS_PASSWORD = `redis-${SECRET}-pw`;
const PG_PASSWORD = `pg-${SECRET}-pw`;
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));

let redis: RedisServer;
let postgres: PostgresServer;
let redisUrl: string;
let databaseUrl: string;

/** Everything the demo said, and a way to check it for the secret. */
function capture() {
  const lines: string[] = [];
  const log = createLogger('t', { debug: true, write: (line) => lines.push(line) });
  const seen: string[] = [];
  return {
    log,
    lines,
    /** Records an error (message, stack, and its causes) or any text. */
    see(value: unknown): void {
      let current: unknown = value;
      for (let depth = 0; current !== undefined && depth < 5; depth++) {
        if (current instanceof Error) {
          seen.push(current.message, current.stack ?? '');
          current = current.cause;
        } else {
          seen.push(typeof current === 'string' ? current : JSON.stringify(current));
          current = undefined;
        }
      }
    },
    /** Asserts the secret appears nowhere, and that something was captured. */
    expectClean(): void {
      const all = [...lines, ...seen].join('\n');
      expect(all.length).toBeGreaterThan(0);
      expect(all).not.toContain(SECRET);
    },
  };
}

const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (error: unknown) => error ?? new Error('rejected without a reason'),
  );

function withPassword(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

beforeAll(async () => {
  [redis, postgres] = await Promise.all([
    startRedis({
      users: [{ name: 'demo', password: REDIS_PASSWORD }],
      maxmemory: '64mb',
      maxmemoryPolicy: 'volatile-lru',
    }),
    startPostgres(),
  ]);
  const admin = new pg.Client({ connectionString: postgres.connectionString });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE demo_user LOGIN PASSWORD '${PG_PASSWORD}'`);
    await admin.query(`GRANT ALL ON DATABASE "${postgres.database}" TO demo_user`);
    await admin.query('GRANT ALL ON SCHEMA public TO demo_user');
  } finally {
    await admin.end();
  }
  redisUrl = withPassword(redis.url, 'demo', REDIS_PASSWORD);
  databaseUrl = withPassword(postgres.connectionString, 'demo_user', PG_PASSWORD);
  await prepareDatabase(databaseUrl, {
    sizes: TEST_SIZES,
    reseed: false,
    noSeed: false,
    progress: noProgress,
    log: createLogger('seed', { quiet: true, write: () => {} }),
  });
});

afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
  // The role outlives a DATABASE_URL database; dropping it keeps a shared server clean.
  const admin = new pg.Client({ connectionString: postgres.connectionString });
  await admin.connect().then(
    () => admin.query('DROP OWNED BY demo_user; DROP ROLE IF EXISTS demo_user').catch(() => {}),
    () => {},
  );
  await admin.end().catch(() => {});
});

describe('redactUrl', () => {
  it('masks the password of a URL and of every URL in a text', () => {
    expect(redactUrl('redis://demo:p%40ss@127.0.0.1:6379/0')).toBe(
      'redis://demo:***@127.0.0.1:6379/0',
    );
    expect(redactUrl('rediss://:pw@h:1')).toBe('rediss://:***@h:1');
    expect(redactCredentials('a postgres://u:x@h/db and redis://v:y@h')).toBe(
      'a postgres://u:***@h/db and redis://v:***@h',
    );
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
  });

  it('is applied to every log line, whatever the caller passed', () => {
    const c = capture();

    c.log.warn(`connecting to ${redisUrl}`, { url: databaseUrl, nested: { url: redisUrl } });

    c.expectClean();
    expect(c.lines[0]).toContain('redis://demo:***@');
  });
});

describe('the demo with secret-bearing URLs', () => {
  it('says nothing secret when it starts, serves, reports health and stops', async () => {
    const c = capture();
    const backing = await startBacking({ databaseUrl, redisUrl, dataDir: '/nonexistent' }, c.log);
    const instance = createInstance({
      databaseUrl: backing.databaseUrl,
      redisUrl: backing.redisUrl,
      name: 'ok',
      log: c.log,
      processMetrics: false,
    });
    try {
      await instance.start({ refresh: false });
      for (const url of ['/health', '/metrics/cache', '/metrics', '/api/agents?limit=2', '/nope']) {
        const res = await instance.app.inject({ method: 'GET', url });
        expect(res.statusCode).toBeLessThan(500);
        c.see(res.body);
      }
    } finally {
      await instance.close();
      await backing.stop();
    }
    c.expectClean();
  });

  it('says nothing secret with a wrong Redis password: health, logs and reads', async () => {
    const c = capture();
    const instance = createInstance({
      databaseUrl,
      redisUrl: withPassword(redis.url, 'demo', `wrong-${SECRET}`),
      name: 'bad-redis',
      log: c.log,
      processMetrics: false,
    });
    try {
      // The bus never subscribes without a valid password: start() waits for it.
      await Promise.race([
        failure(instance.start({ refresh: false, warm: false })),
        new Promise((resolve) => setTimeout(resolve, 1_500)),
      ]).then((error) => c.see(error));
      const health = await instance.app.inject({ method: 'GET', url: '/health' });
      c.see(health.body);
      expect(health.json()).toMatchObject({ redis: { ok: false } });
      const agents = await instance.app.inject({ method: 'GET', url: '/api/agents?limit=1' });
      expect(agents.statusCode).toBe(200);
      c.see(await failure(instance.redis.ping()));
    } finally {
      await instance.close();
    }
    c.expectClean();
  });

  it('says nothing secret with a wrong PostgreSQL password: migrate, health and reads', async () => {
    const c = capture();
    const badDb = withPassword(postgres.connectionString, 'demo_user', `wrong-${SECRET}`);
    const error = await failure(
      prepareDatabase(badDb, {
        sizes: TEST_SIZES,
        reseed: false,
        noSeed: true,
        progress: noProgress,
        log: c.log,
      }),
    );
    expect(error).toBeInstanceOf(Error);
    c.see(error);
    const instance = createInstance({
      databaseUrl: badDb,
      redisUrl,
      name: 'bad-pg',
      log: c.log,
      processMetrics: false,
    });
    try {
      // start() reads the fencing tokens from PostgreSQL: it fails, and says why.
      c.see(await failure(instance.start({ refresh: false, warm: false, rebuildBloom: false })));
      const health = await instance.app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      c.see(health.body);
      const read = await instance.app.inject({ method: 'GET', url: '/api/agents?limit=1' });
      expect(read.statusCode).toBe(500);
      c.see(read.body);
    } finally {
      await instance.close();
    }
    expect(c.lines.some((l) => l.includes('request failed'))).toBe(true);
    c.expectClean();
  });

  it('says nothing secret when the servers are unreachable', async () => {
    const c = capture();
    const closed = await getFreePort('127.0.0.1');
    const error = await failure(
      prepareDatabase(`postgres://demo_user:${SECRET}@127.0.0.1:${closed}/db`, {
        sizes: TEST_SIZES,
        reseed: false,
        noSeed: true,
        progress: noProgress,
        log: c.log,
      }),
    );
    c.see(error);
    const instance = createInstance({
      databaseUrl: `postgres://demo_user:${SECRET}@127.0.0.1:${closed}/db`,
      redisUrl: `redis://demo:${SECRET}@127.0.0.1:${closed}`,
      name: 'unreachable',
      log: c.log,
      processMetrics: false,
    });
    try {
      const health = await instance.app.inject({ method: 'GET', url: '/health' });
      c.see(health.body);
    } finally {
      await instance.close();
    }
    c.expectClean();
  });

  it('keeps secrets out of the error of an invalid option', () => {
    const c = capture();
    for (const argv of [
      ['--database-url', `postgres://u:${SECRET}@host:notaport/db`],
      ['--redis-url', `not a url ${SECRET}`],
      ['--port', SECRET],
      ['--instances', `${SECRET}`],
    ]) {
      let thrown: unknown;
      try {
        loadConfig(argv, {});
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      c.see(thrown);
    }
    c.expectClean();
  });

  it('prints nothing secret when `pnpm demo` fails to start (main.ts, whole output)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tc-demo-redaction-'));
    try {
      const child = spawn(process.execPath, ['--import', TSX, MAIN, '--no-warm'], {
        env: {
          ...process.env,
          DATABASE_URL: withPassword(postgres.connectionString, 'demo_user', `wrong-${SECRET}`),
          REDIS_URL: redisUrl,
          DEMO_DATA_DIR: dataDir,
          PORT: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

      expect(code).toBe(1);
      expect(output).toMatch(/startup failed/);
      expect(output).not.toContain(SECRET);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
