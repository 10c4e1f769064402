import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/** Sizes of the generated dataset. */
export interface SeedSizes {
  readonly agents: number;
  readonly tasks: number;
  readonly votes: number;
  readonly sessions: number;
}

/** Everything `pnpm demo` can be told, from the command line or the environment. */
export interface DemoConfig {
  /** HTTP port of the first instance (the next ones take the following ports); 0 = any free. */
  readonly port: number;
  readonly host: string;
  /** An existing PostgreSQL; unset: an embedded one under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** An existing Redis; unset: a local redis-server on a free port. */
  readonly redisUrl: string | undefined;
  /** Where the embedded PostgreSQL keeps its data between runs. */
  readonly dataDir: string;
  readonly seed: SeedSizes;
  /** Skip seeding (use whatever the database holds). */
  readonly noSeed: boolean;
  /** Drop the data and seed again even when the database already holds this dataset. */
  readonly reseed: boolean;
  /** API processes to run against the same PostgreSQL and Redis. */
  readonly instances: number;
  /** Serve every read from PostgreSQL (no L1, no L2, no Bloom filter): the baseline. */
  readonly cacheDisabled: boolean;
  /** Entries kept in each instance's L1. */
  readonly l1Max: number;
  readonly warm: boolean;
  readonly refresh: boolean;
  /** How often the Redis memory monitor samples `INFO`, ms. */
  readonly memoryInterval: number;
}

const defaultDataDir = fileURLToPath(new URL('../.data/postgres', import.meta.url));

const count = z.coerce.number().int().min(0).max(50_000_000);
const flag = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', ''])])
  .transform((v) => v === true || v === '1' || v === 'true' || v === 'yes');

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65_535),
  host: z.string().min(1),
  databaseUrl: z.string().url().optional(),
  redisUrl: z.string().url().optional(),
  dataDir: z.string().min(1),
  agents: count.min(1),
  tasks: count,
  votes: count,
  sessions: count,
  noSeed: flag,
  reseed: flag,
  instances: z.coerce.number().int().min(1).max(16),
  cacheDisabled: flag,
  l1Max: z.coerce.number().int().min(1),
  warm: flag,
  refresh: flag,
  memoryInterval: z.coerce.number().int().min(100),
});

/** The message of the first zod issue, prefixed with its field. */
export function formatZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid input';
  const path = issue.path.map(String).join('.');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

const empty = (v: string | undefined): string | undefined => (v === '' ? undefined : v);

/**
 * Reads the configuration: command-line flags win over environment variables, which win
 * over the defaults.
 * @throws Error naming the offending option.
 */
export function loadConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): DemoConfig {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'database-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'data-dir': { type: 'string' },
      agents: { type: 'string' },
      tasks: { type: 'string' },
      votes: { type: 'string' },
      sessions: { type: 'string' },
      'no-seed': { type: 'boolean' },
      reseed: { type: 'boolean' },
      instances: { type: 'string' },
      'cache-disabled': { type: 'boolean' },
      'l1-max': { type: 'string' },
      'no-warm': { type: 'boolean' },
      'no-refresh': { type: 'boolean' },
    },
  });
  const parsed = schema.safeParse({
    port: values.port ?? empty(env.PORT) ?? 3000,
    host: values.host ?? empty(env.HOST) ?? '127.0.0.1',
    databaseUrl: values['database-url'] ?? empty(env.DATABASE_URL),
    redisUrl: values['redis-url'] ?? empty(env.REDIS_URL),
    dataDir: values['data-dir'] ?? empty(env.DEMO_DATA_DIR) ?? defaultDataDir,
    agents: values.agents ?? empty(env.SEED_AGENTS) ?? 10_000,
    tasks: values.tasks ?? empty(env.SEED_TASKS) ?? 200_000,
    votes: values.votes ?? empty(env.SEED_VOTES) ?? 100_000,
    sessions: values.sessions ?? empty(env.SEED_SESSIONS) ?? 20_000,
    noSeed: values['no-seed'] ?? false,
    reseed: values.reseed ?? env.RESEED ?? false,
    instances: values.instances ?? empty(env.INSTANCES) ?? 1,
    cacheDisabled: values['cache-disabled'] ?? env.CACHE_DISABLED ?? false,
    l1Max: values['l1-max'] ?? empty(env.L1_MAX) ?? 10_000,
    warm: !(values['no-warm'] ?? false),
    refresh: !(values['no-refresh'] ?? false),
    memoryInterval: empty(env.MEMORY_INTERVAL) ?? 5_000,
  });
  if (!parsed.success) throw new Error(`Invalid demo option ${formatZodError(parsed.error)}`);
  const c = parsed.data;
  return {
    port: c.port,
    host: c.host,
    databaseUrl: c.databaseUrl,
    redisUrl: c.redisUrl,
    dataDir: c.dataDir,
    seed: { agents: c.agents, tasks: c.tasks, votes: c.votes, sessions: c.sessions },
    noSeed: c.noSeed,
    reseed: c.reseed,
    instances: c.instances,
    cacheDisabled: c.cacheDisabled,
    l1Max: c.l1Max,
    warm: c.warm,
    refresh: c.refresh,
    memoryInterval: c.memoryInterval,
  };
}
