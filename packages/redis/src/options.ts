import type { Codec } from '@tiercache/compression';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';

/** Where the tier reports what it cannot throw: circuit changes, config warnings. */
export interface RedisTierLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  debug?(message: string, meta?: Record<string, unknown>): void;
}

/** Circuit breaker settings of {@link RedisTierOptions.circuitBreaker}. */
export interface RedisCircuitBreakerOptions {
  /**
   * Consecutive failed Redis commands (connection errors and timeouts) that open the
   * circuit. A batch of `get`s sent as one `MGET` is one command.
   * @default 5
   */
  failureThreshold?: number;
  /**
   * Milliseconds the circuit stays open; the first call after that is a probe that closes
   * the circuit on success or re-opens it on failure.
   * @default 5000
   */
  resetTimeout?: number;
}

/** Options of {@link redisTier}. Pass exactly one of `client` or `connection`. */
export interface RedisTierOptions {
  /**
   * An existing ioredis `Redis` or `Cluster` client. The tier uses it as it is and never
   * closes it. Give it `enableAutoPipelining: true` (essential on a Cluster) and a small
   * `maxRetriesPerRequest`; see the README.
   * @default undefined
   */
  client?: Redis | Cluster;
  /**
   * Connection options or a `redis://` URL: the tier creates its own standalone client
   * (with `enableAutoPipelining: true` and `maxRetriesPerRequest: 1` unless you set them)
   * and quits it in {@link RedisTier.close}.
   * @default undefined
   */
  connection?: RedisOptions | string;
  /**
   * Prepended to every key. `clear()` deletes only keys under this prefix, and refuses to
   * run when the prefix is empty.
   * @default 'tc:'
   */
  prefix?: string;
  /**
   * Turns values into bytes and back (serializer + compression).
   *
   * The default compresses only values of 8 KiB and more, not the codec's own 1 KiB: every
   * L2 hit pays the decompression, and measured here (BENCHMARKS.md, codec table) gzip
   * halves a 1 KiB agent record but makes its decode ~2.5× slower, while at 10 KiB it cuts
   * the bytes ~5.6× for a ~1.3× slower decode. Pass `createCodec()` to compress from 1 KiB
   * (the guide's rule) when Redis memory matters more than read CPU.
   * @default createCodec({ threshold: 8192 }) from `@tiercache/compression` (JSON, gzip from 8 KiB)
   */
  codec?: Codec;
  /**
   * Milliseconds to wait for Redis to answer one command before rejecting with
   * `L2TimeoutError`. Applies to clients you pass in too.
   * @default 250
   */
  commandTimeout?: number;
  /**
   * Circuit breaker settings, or `false` to disable it.
   * @default { failureThreshold: 5, resetTimeout: 5000 }
   */
  circuitBreaker?: RedisCircuitBreakerOptions | false;
  /**
   * Coalesce `get` calls made in the same tick into `MGET`s, each sent as soon as it holds
   * 16 keys, the last at the end of the tick (standalone Redis only; on a Cluster each `get`
   * is a `GET` and ioredis auto-pipelining groups them per node).
   * @default true
   */
  batch?: boolean;
  /**
   * Call {@link RedisTier.checkEvictionPolicy} once at construction (result logged only).
   * @default false
   */
  checkEvictionPolicyOnStart?: boolean;
  /**
   * With core's `versionedWrites`: how long a key's version outlives its last `delete` or
   * `set`, in ms. A load that started before a delete and runs longer than this may still
   * write its value; keep it above your longest load (`hardTimeout`). Versions live in keys
   * of their own (`{tag}v:<prefix><key>`, in the key's Cluster slot), outside the prefix.
   * @default 60_000
   */
  versionTtl?: number;
  /**
   * Current time in milliseconds, for the circuit breaker. Command timeouts use real timers.
   * @default Date.now
   */
  clock?: () => number;
  /**
   * Receives warnings (circuit opened/closed, `noeviction`) and, when it has `debug`,
   * connection errors of a client the tier created.
   * @default console (warn and error only)
   */
  logger?: RedisTierLogger;
}

/** Options after validation, with defaults applied. */
export interface ResolvedOptions {
  readonly client: Redis | Cluster | undefined;
  readonly connection: RedisOptions | string | undefined;
  readonly prefix: string;
  readonly codec: Codec | undefined;
  readonly commandTimeout: number;
  readonly circuitBreaker: { failureThreshold: number; resetTimeout: number } | false;
  readonly batch: boolean;
  readonly checkEvictionPolicyOnStart: boolean;
  readonly versionTtl: number;
  readonly clock: () => number;
  readonly logger: RedisTierLogger;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const hasFunctions = (value: unknown, names: readonly string[]): boolean =>
  isObject(value) && names.every((name) => typeof value[name] === 'function');

// Duck-typed rather than `instanceof`, so a client from another copy of ioredis still works.
const isClient = (value: unknown): value is Redis | Cluster =>
  hasFunctions(value, ['getBuffer', 'mgetBuffer', 'set', 'unlink', 'scanBuffer']);

const positiveMs = z.int().positive().max(2_147_483_647);

const schema = z
  .strictObject({
    client: z
      .custom<Redis | Cluster>(isClient, 'expected an ioredis Redis or Cluster instance')
      .optional(),
    connection: z
      .union([z.string().min(1), z.custom<RedisOptions>(isObject)], {
        error: 'expected a redis:// URL or an ioredis RedisOptions object',
      })
      .optional(),
    prefix: z.string().optional(),
    codec: z
      .custom<Codec>(
        (value) => hasFunctions(value, ['encode', 'decode', 'encodeAsync', 'decodeAsync']),
        'expected a codec with encode, decode, encodeAsync and decodeAsync',
      )
      .optional(),
    commandTimeout: positiveMs.optional(),
    circuitBreaker: z
      .union(
        [
          z.literal(false),
          z.strictObject({
            failureThreshold: z.int().positive().optional(),
            resetTimeout: positiveMs.optional(),
          }),
        ],
        { error: 'expected false or { failureThreshold?, resetTimeout? }' },
      )
      .optional(),
    batch: z.boolean().optional(),
    checkEvictionPolicyOnStart: z.boolean().optional(),
    versionTtl: positiveMs.optional(),
    clock: z
      .custom<() => number>((value) => typeof value === 'function', 'expected a function')
      .optional(),
    logger: z
      .custom<RedisTierLogger>(
        (value) => hasFunctions(value, ['warn', 'error']),
        'expected a logger with warn and error methods',
      )
      .optional(),
  })
  .superRefine((options, ctx) => {
    if (options.client !== undefined && options.connection !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['connection'],
        message: 'pass either client or connection, not both',
      });
    } else if (options.client === undefined && options.connection === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['client'],
        message: 'pass an ioredis client, or connection options for the tier to create one',
      });
    }
  });

const consoleLogger: RedisTierLogger = {
  warn: (message, meta) => console.warn(message, meta ?? ''),
  error: (message, meta) => console.error(message, meta ?? ''),
};

function describeIssue(issue: z.core.$ZodIssue): string {
  const where =
    issue.path.length > 0
      ? issue.path.map(String).join('.')
      : issue.code === 'unrecognized_keys'
        ? issue.keys.join(', ')
        : 'options';
  return `${where}: ${issue.message}`;
}

/** Validates `redisTier` options and applies defaults; throws {@link InvalidOptionsError}. */
export function resolveOptions(options: RedisTierOptions): ResolvedOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const detail = issue === undefined ? parsed.error.message : describeIssue(issue);
    throw new InvalidOptionsError(`Invalid redisTier options: ${detail}`, { cause: parsed.error });
  }
  const o = parsed.data;
  return {
    client: o.client,
    connection: o.connection,
    prefix: o.prefix ?? 'tc:',
    codec: o.codec,
    commandTimeout: o.commandTimeout ?? 250,
    circuitBreaker:
      o.circuitBreaker === false
        ? false
        : {
            failureThreshold: o.circuitBreaker?.failureThreshold ?? 5,
            resetTimeout: o.circuitBreaker?.resetTimeout ?? 5_000,
          },
    batch: o.batch ?? true,
    checkEvictionPolicyOnStart: o.checkEvictionPolicyOnStart ?? false,
    versionTtl: o.versionTtl ?? 60_000,
    clock: o.clock ?? Date.now,
    logger: o.logger ?? consoleLogger,
  };
}
