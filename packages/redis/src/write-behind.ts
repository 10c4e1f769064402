import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { typedError } from './command-engine.js';
import { InvalidOptionsError, InvalidValueError } from './errors.js';
import type { RedisTierLogger } from './options.js';

/** One queued write, as the worker hands it to `apply`. */
export interface WriteBehindWrite<T = unknown> {
  /** The stream entry id (`<ms>-<seq>`): unique, and increasing in enqueue order. */
  readonly id: string;
  /**
   * The id as one integer, `ms × 1_000_000 + seq`, increasing in enqueue order (it fits a
   * PostgreSQL `bigint` until the year 2262). Store it with the row and guard the write
   * with it (`… WHERE last_write_seq < $seq`), so a replayed or late write never overwrites
   * a newer one.
   */
  readonly sequence: bigint;
  /** The key given to `enqueue`. */
  readonly key: string;
  /** The value given to `enqueue`, after a round trip through the serializer. */
  readonly value: T;
  /** 1 for the first attempt in this worker, then 2, 3… */
  readonly attempt: number;
}

/**
 * A cache `enqueue` updates at once, e.g. a `CacheManager` of `@tiercache/core` (matched
 * structurally: no dependency on core). `delete` is used when `set` fails.
 */
export interface WriteBehindCache {
  set(key: string, value: unknown): unknown;
  delete?(key: string): unknown;
}

/** Retry schedule: `min(maxDelay, baseDelay × factor^(attempt-1))`, less up to `jitter` of it. */
export interface WriteBehindBackoff {
  /**
   * Delay after the first failed attempt, in ms.
   * @default 100
   */
  readonly baseDelay?: number;
  /**
   * Upper bound of any delay, in ms.
   * @default 30_000
   */
  readonly maxDelay?: number;
  /**
   * Growth per attempt.
   * @default 2
   */
  readonly factor?: number;
  /**
   * Ratio in [0, 1] of random shortening, so failed writes do not retry in lockstep.
   * @default 0.2
   */
  readonly jitter?: number;
}

/** Turns values into stream field text and back. */
export interface WriteBehindSerializer {
  stringify(value: unknown): string;
  parse(text: string): unknown;
}

/** Options of {@link redisWriteBehind}. */
export interface RedisWriteBehindOptions<T = unknown> {
  /**
   * An ioredis `Redis` or `Cluster` client, used as is and never closed. The worker also
   * opens one `duplicate()` of it for its blocking reads (closed by `stop()`).
   */
  readonly client: Redis | Cluster;
  /** The Redis Stream holding the queued writes, e.g. `'wb:agents'`. */
  readonly stream: string;
  /**
   * The consumer group of the workers. Workers of one queue share it.
   * @default 'tiercache-write-behind'
   */
  readonly group?: string;
  /**
   * This worker's name in the group. Give a stable name (a pod name) to have a restarted
   * worker take back its own pending writes at once, instead of after `claimIdleMs`.
   * @default `<hostname>-<pid>-<random hex>`
   */
  readonly consumer?: string;
  /**
   * Writes one entry to the source of truth. Required by `start()`; a producer-only
   * instance (`enqueue`, `flush`) can omit it. Must be idempotent (see the README): an
   * entry can be applied more than once after a crash.
   * @default undefined
   */
  readonly apply?: (write: WriteBehindWrite<T>) => unknown;
  /**
   * Updated by `enqueue` once the write is in the stream, so readers see it before the
   * source of truth does.
   * @default undefined
   */
  readonly cache?: WriteBehindCache;
  /**
   * Failed attempts (not counting transient ones) after which a write goes to the
   * dead-letter stream. `Infinity` retries forever.
   * @default 10
   */
  readonly maxAttempts?: number;
  /**
   * Whether an `apply` error is transient (connection refused, lock timeout, database
   * restarting): such failures are retried with backoff without limit and do not count
   * towards `maxAttempts`, so an outage delays writes but never dead-letters them.
   * @default () => false (every failure counts)
   */
  readonly isTransient?: (error: unknown) => boolean;
  /**
   * Delays between attempts.
   * @default { baseDelay: 100, maxDelay: 30_000, factor: 2, jitter: 0.2 }
   */
  readonly backoff?: WriteBehindBackoff;
  /**
   * Where writes that failed `maxAttempts` times go, with their error.
   * @default `${stream}:dead`
   */
  readonly deadLetterStream?: string;
  /**
   * A write delivered to a worker that has not acknowledged it (nor kept it alive) for this
   * long is claimed by another worker: the recovery time after a crash.
   * @default 30_000
   */
  readonly claimIdleMs?: number;
  /**
   * How often a worker looks for writes to claim, in ms.
   * @default claimIdleMs / 2
   */
  readonly claimInterval?: number;
  /**
   * Entries read per XREADGROUP / XAUTOCLAIM call; at most `2 × batchSize` writes are held
   * by a worker at once.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Keys applied at once by this worker (writes of one key are always applied one at a
   * time, in order).
   * @default 8
   */
  readonly concurrency?: number;
  /**
   * How long one XREADGROUP waits for new writes, in ms.
   * @default 1_000
   */
  readonly blockMs?: number;
  /**
   * Trim acknowledged entries from the stream (`XTRIM MINID ~`), about once a second.
   * Assumes every consumer group of the stream is a write-behind group.
   * @default true
   */
  readonly trim?: boolean;
  /**
   * Value ↔ text.
   * @default JSON
   */
  readonly serializer?: WriteBehindSerializer;
  /**
   * Random source in [0, 1) for backoff jitter.
   * @default Math.random
   */
  readonly random?: () => number;
  /**
   * Where retries, dead letters and Redis failures are logged.
   * @default console (warn, error)
   */
  readonly logger?: RedisTierLogger;
}

/** Options of {@link RedisWriteBehind.flush}. */
export interface WriteBehindFlushOptions {
  /** Gives up waiting: `flush` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * How often the stream is checked, in ms.
   * @default 50
   */
  readonly pollInterval?: number;
}

/** Counters of one {@link RedisWriteBehind} instance (this process only). */
export interface WriteBehindStats {
  /** Writes added to the stream by `enqueue`. */
  readonly enqueued: number;
  /** Writes applied and acknowledged by this worker. */
  readonly applied: number;
  /** Failed attempts that were retried. */
  readonly retries: number;
  /** Writes moved to the dead-letter stream. */
  readonly deadLettered: number;
  /** Writes this worker claimed from other (crashed or stalled) consumers. */
  readonly claimed: number;
  /** Writes this worker holds now (read, not yet acknowledged). */
  readonly held: number;
}

/** Events of {@link RedisWriteBehind}. */
export interface WriteBehindEvents {
  /** A write reached the source of truth and was acknowledged. */
  applied: { readonly id: string; readonly key: string; readonly attempt: number };
  /** An attempt failed and will be retried after `delayMs`. */
  retry: {
    readonly id: string;
    readonly key: string;
    readonly attempt: number;
    readonly error: unknown;
    readonly transient: boolean;
    readonly delayMs: number;
  };
  /** A write was moved to the dead-letter stream (`deadId` is its id there). */
  dead: {
    readonly id: string;
    readonly key: string;
    readonly attempts: number;
    readonly error: Error;
    readonly deadId: string;
  };
  /** Writes were claimed from other consumers. */
  claimed: { readonly count: number };
  /** A Redis command of the worker failed; it is retried. */
  error: { readonly operation: string; readonly error: Error };
}

/** A write read from the stream and held by this worker. */
interface Held {
  readonly id: string;
  readonly key: string;
  readonly raw: string | undefined;
  /** Another consumer claimed it while this one was stalled: drop it, do not apply. */
  lost: boolean;
}

type StreamEntry = { id: string; fields: string[] | null };

type Listener<K extends keyof WriteBehindEvents> = (event: WriteBehindEvents[K]) => void;

const noop = (): void => {};

const jsonSerializer: WriteBehindSerializer = {
  stringify: (value) => JSON.stringify(value),
  parse: (text) => JSON.parse(text),
};

const consoleLogger: RedisTierLogger = {
  warn: (message, meta) => console.warn(message, meta ?? ''),
  error: (message, meta) => console.error(message, meta ?? ''),
};

const SEQ_SCALE = 1_000_000n;
const CLAIM_CHUNK = 500;

/**
 * `<ms>-<seq>` → `ms × 1_000_000 + seq`: one integer that orders like the ids, as long as
 * fewer than a million entries share a millisecond (XADD `*` cannot produce that many).
 */
export function streamIdSequence(id: string): bigint {
  const dash = id.indexOf('-');
  if (dash <= 0) throw new InvalidValueError(`Invalid stream id "${id}"`);
  return BigInt(id.slice(0, dash)) * SEQ_SCALE + BigInt(id.slice(dash + 1));
}

/** Compares two stream ids numerically (-1, 0, 1). */
export function compareStreamIds(a: string, b: string): number {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const ma = BigInt(a.slice(0, da));
  const mb = BigInt(b.slice(0, db));
  if (ma !== mb) return ma < mb ? -1 : 1;
  const sa = BigInt(a.slice(da + 1));
  const sb = BigInt(b.slice(db + 1));
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

/** The smallest id greater than `id`. */
function nextStreamId(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}

interface ResolvedBackoff {
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly jitter: number;
}

/**
 * Milliseconds to wait after failed attempt number `failed` (0 for the first):
 * `min(maxDelay, baseDelay × factor^failed)`, less up to `jitter` of it.
 */
export function backoffDelay(
  failed: number,
  backoff: ResolvedBackoff,
  random: () => number,
): number {
  const grown = backoff.baseDelay === 0 ? 0 : backoff.baseDelay * backoff.factor ** failed;
  const capped = Math.min(grown, backoff.maxDelay);
  return Math.round(capped * (1 - backoff.jitter * random()));
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

function codeOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}

/** `[k1, v1, k2, v2…]` → value of `name`. */
function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function parseEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const item of raw) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
    out.push({ id: item[0], fields: Array.isArray(item[1]) ? (item[1] as string[]) : null });
  }
  return out;
}

/** XREADGROUP reply → the entries of `stream`. */
function parseRead(reply: unknown, stream: string): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  for (const item of reply) {
    if (Array.isArray(item) && String(item[0]) === stream) return parseEntries(item[1]);
  }
  return [];
}

/** A flat `[name, value, …]` info reply → a record. */
function record(reply: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}

const fnSchema = z.custom<(...args: never[]) => unknown>(
  (v) => typeof v === 'function',
  'expected a function',
);
const name = z.string().min(1);
const ms = z.number().int().positive();

const optionsSchema = z
  .strictObject({
    client: z.custom<Redis | Cluster>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as Redis).xadd === 'function' &&
        typeof (v as Redis).duplicate === 'function',
      'expected an ioredis Redis or Cluster client',
    ),
    stream: name,
    group: name.optional(),
    consumer: name.optional(),
    apply: fnSchema.optional(),
    cache: z
      .custom<WriteBehindCache>(
        (v) =>
          typeof v === 'object' && v !== null && typeof (v as WriteBehindCache).set === 'function',
        'expected an object with a set(key, value) method',
      )
      .optional(),
    maxAttempts: z.union([z.number().int().min(1), z.literal(Number.POSITIVE_INFINITY)]).optional(),
    isTransient: fnSchema.optional(),
    backoff: z
      .strictObject({
        baseDelay: z.number().min(0).finite().optional(),
        maxDelay: z.number().positive().finite().optional(),
        factor: z.number().min(1).finite().optional(),
        jitter: z.number().min(0).max(1).optional(),
      })
      .optional(),
    deadLetterStream: name.optional(),
    claimIdleMs: ms.optional(),
    claimInterval: ms.optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
    concurrency: z.number().int().min(1).optional(),
    blockMs: ms.optional(),
    trim: z.boolean().optional(),
    serializer: z
      .custom<WriteBehindSerializer>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as WriteBehindSerializer).stringify === 'function' &&
          typeof (v as WriteBehindSerializer).parse === 'function',
        'expected { stringify, parse }',
      )
      .optional(),
    random: fnSchema.optional(),
    logger: z
      .custom<RedisTierLogger>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as RedisTierLogger).warn === 'function' &&
          typeof (v as RedisTierLogger).error === 'function',
        'expected a logger with warn and error methods',
      )
      .optional(),
  })
  .superRefine((o, ctx) => {
    if (o.deadLetterStream !== undefined && o.deadLetterStream === o.stream) {
      ctx.addIssue({
        code: 'custom',
        path: ['deadLetterStream'],
        message: 'must differ from stream',
      });
    }
  });

function parseOptions<T>(options: RedisWriteBehindOptions<T>): RedisWriteBehindOptions<T> {
  const result = optionsSchema.safeParse(options);
  if (result.success) return options;
  const issue = result.error.issues[0];
  let where = issue?.path.map(String).join('.') ?? '';
  if (issue?.code === 'unrecognized_keys') where = issue.keys.join(', ');
  throw new InvalidOptionsError(
    `Invalid redisWriteBehind options: ${where === '' ? 'options' : where}: ${issue?.message}`,
    { cause: result.error },
  );
}

/**
 * A durable write-behind queue on a Redis Stream: `enqueue` updates the cache at once and
 * appends the write to the stream; workers (a consumer group, in any number of processes)
 * apply the writes to the source of truth, in order per key, with retries and backoff,
 * acknowledge each one only after it succeeded, move writes that keep failing to a
 * dead-letter stream, and take over the writes of a crashed worker.
 *
 * Delivery is at least once: `apply` must be idempotent (see the README).
 */
export class RedisWriteBehind<T = unknown> {
  /** The stream name. */
  readonly stream: string;
  /** The consumer group name. */
  readonly group: string;
  /** This worker's consumer name. */
  readonly consumer: string;
  /** The dead-letter stream name. */
  readonly deadLetterStream: string;

  readonly #client: Redis | Cluster;
  readonly #apply: ((write: WriteBehindWrite<T>) => unknown) | undefined;
  readonly #cache: WriteBehindCache | undefined;
  readonly #maxAttempts: number;
  readonly #isTransient: (error: unknown) => boolean;
  readonly #backoff: ResolvedBackoff;
  readonly #claimIdleMs: number;
  readonly #claimInterval: number;
  readonly #batchSize: number;
  readonly #maxHeld: number;
  readonly #concurrency: number;
  readonly #blockMs: number;
  readonly #trim: boolean;
  readonly #serializer: WriteBehindSerializer;
  readonly #random: () => number;
  readonly #logger: RedisTierLogger;
  readonly #listeners: { [K in keyof WriteBehindEvents]: Listener<K>[] } = {
    applied: [],
    retry: [],
    dead: [],
    claimed: [],
    error: [],
  };

  // Worker state.
  #reader: Redis | Cluster | undefined;
  #loop: Promise<void> | undefined;
  #starting: Promise<void> | undefined;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  /** Every write held, by id: dedupes claims, drives the heartbeat and the release on stop. */
  readonly #held = new Map<string, Held>();
  /** Per key, the writes waiting to be applied, in stream order. */
  readonly #lanes = new Map<string, Held[]>();
  /** Keys with a lane waiting for a free slot (more than `concurrency` keys busy). */
  #ready: string[] = [];
  #activeLanes = 0;
  readonly #lanePromises = new Set<Promise<void>>();
  #capacityWaiters: Array<() => void> = [];
  readonly #sleepers = new Set<{
    timer: ReturnType<typeof setTimeout>;
    resolve: (v: boolean) => void;
  }>();
  #maintenanceTimer: ReturnType<typeof setTimeout> | undefined;
  #maintenance: Promise<void> | undefined;
  #lastHeartbeat = 0;
  #lastTrim = 0;
  #acksSinceTrim = 0;

  // Counters.
  #enqueued = 0;
  #applied = 0;
  #retries = 0;
  #deadLettered = 0;
  #claimed = 0;

  /** @throws {InvalidOptionsError} naming the offending field. */
  constructor(options: RedisWriteBehindOptions<T>) {
    const o = parseOptions(options);
    this.#client = o.client;
    this.stream = o.stream;
    this.group = o.group ?? 'tiercache-write-behind';
    this.consumer = o.consumer ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.deadLetterStream = o.deadLetterStream ?? `${o.stream}:dead`;
    this.#apply = o.apply;
    this.#cache = o.cache;
    this.#maxAttempts = o.maxAttempts ?? 10;
    this.#isTransient = o.isTransient ?? (() => false);
    this.#backoff = {
      baseDelay: o.backoff?.baseDelay ?? 100,
      maxDelay: o.backoff?.maxDelay ?? 30_000,
      factor: o.backoff?.factor ?? 2,
      jitter: o.backoff?.jitter ?? 0.2,
    };
    this.#claimIdleMs = o.claimIdleMs ?? 30_000;
    this.#claimInterval = o.claimInterval ?? Math.max(1, Math.floor(this.#claimIdleMs / 2));
    this.#batchSize = o.batchSize ?? 100;
    this.#maxHeld = this.#batchSize * 2;
    this.#concurrency = o.concurrency ?? 8;
    this.#blockMs = o.blockMs ?? 1_000;
    this.#trim = o.trim ?? true;
    this.#serializer = o.serializer ?? jsonSerializer;
    this.#random = o.random ?? Math.random;
    this.#logger = o.logger ?? consoleLogger;
  }

  /** Whether the worker is running (`start()` called, `stop()` not finished). */
  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** Counters of this instance. */
  get stats(): WriteBehindStats {
    return {
      enqueued: this.#enqueued,
      applied: this.#applied,
      retries: this.#retries,
      deadLettered: this.#deadLettered,
      claimed: this.#claimed,
      held: this.#held.size,
    };
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof WriteBehindEvents>(event: K, listener: Listener<K>): () => void {
    if (!Object.hasOwn(this.#listeners, event)) {
      throw new InvalidOptionsError(`Unknown redisWriteBehind event "${String(event)}"`);
    }
    (this.#listeners[event] as Listener<K>[]).push(listener);
    return () => {
      const list = this.#listeners[event] as Listener<K>[];
      const i = list.indexOf(listener);
      if (i !== -1) list.splice(i, 1);
    };
  }

  /**
   * Queues a write of `value` under `key`: appends it to the stream (XADD; durable once
   * this resolves, as durable as your Redis persistence), then updates the cache, if one
   * was given (on failure the key is deleted from the cache instead). Resolves with the
   * entry id. Rejects, without touching the cache, when Redis does not take the write.
   *
   * @throws {InvalidValueError} an empty key, `undefined`, or a value the serializer rejects.
   * @throws {L2UnavailableError | L2TimeoutError | L2CommandError} Redis did not take it.
   */
  async enqueue(key: string, value: T): Promise<string> {
    if (typeof key !== 'string' || key === '') {
      throw new InvalidValueError('enqueue: key must be a non-empty string');
    }
    if (value === undefined) {
      throw new InvalidValueError('enqueue: value must not be undefined');
    }
    let raw: unknown;
    try {
      raw = this.#serializer.stringify(value);
    } catch (error) {
      throw new InvalidValueError(`enqueue: cannot serialize the value of "${key}"`, {
        cause: error,
      });
    }
    if (typeof raw !== 'string') {
      throw new InvalidValueError(`enqueue: the value of "${key}" does not serialize to text`);
    }
    let id: string | null;
    try {
      id = await this.#client.xadd(this.stream, '*', 'k', key, 'v', raw);
    } catch (error) {
      throw typedError(error, 'XADD', this.#commandTimeout());
    }
    this.#enqueued++;
    if (this.#cache !== undefined) await this.#updateCache(key, value);
    return id as string;
  }

  /**
   * Creates the consumer group if needed (from the start of the stream, so writes queued
   * before any worker existed are applied) and starts the worker. Resolves once it runs.
   *
   * @throws {InvalidOptionsError} no `apply` was given.
   */
  async start(): Promise<void> {
    if (this.#apply === undefined) {
      throw new InvalidOptionsError(
        'Invalid redisWriteBehind options: apply: required to start a worker',
      );
    }
    if (this.#stopped !== undefined) await this.#stopped;
    if (this.#loop !== undefined) return;
    // Concurrent start() calls share one start-up: never two read loops.
    this.#starting ??= this.#begin().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #begin(): Promise<void> {
    await this.#ensureGroup();
    this.#stopping = false;
    const reader = this.#duplicate();
    reader.on('error', (error: unknown) =>
      this.#logger.debug?.('redisWriteBehind: reader connection error', { error }),
    );
    this.#reader = reader;
    this.#lastHeartbeat = Date.now();
    this.#loop = this.#run(reader);
    this.#scheduleMaintenance();
  }

  /**
   * Stops the worker: no new reads, backoff waits are cut short, `apply` calls in flight
   * are awaited (and acknowledged). Writes it held but had not started are handed back
   * (made claimable by other workers at once). The reader connection is closed; the
   * client you passed stays open. Idempotent.
   */
  stop(): Promise<void> {
    if (this.#loop === undefined) return Promise.resolve();
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  /** Same as `stop()`, for `await using wb = redisWriteBehind(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Resolves once every write enqueued (by any producer) before the call has been handled
   * by the workers: applied or dead-lettered, and acknowledged. Works from any process;
   * it only reads the stream and group state (XINFO, XPENDING).
   */
  async flush(options: WriteBehindFlushOptions = {}): Promise<void> {
    const { signal } = options;
    const poll = options.pollInterval ?? 50;
    signal?.throwIfAborted();
    let info: Record<string, unknown>;
    try {
      info = record(await this.#client.call('XINFO', 'STREAM', this.stream));
    } catch (error) {
      if (/no such key/i.test(asError(error).message)) return;
      throw typedError(error, 'XINFO', this.#commandTimeout());
    }
    const target = String(info['last-generated-id'] ?? '0-0');
    if (target === '0-0') return;
    for (;;) {
      signal?.throwIfAborted();
      if (await this.#drainedUpTo(target)) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(done, poll);
        function done(): void {
          signal?.removeEventListener('abort', aborted);
          resolve();
        }
        function aborted(): void {
          clearTimeout(timer);
          reject(signal?.reason);
        }
        signal?.addEventListener('abort', aborted, { once: true });
      });
    }
  }

  async #drainedUpTo(target: string): Promise<boolean> {
    let groups: unknown;
    try {
      groups = await this.#client.call('XINFO', 'GROUPS', this.stream);
    } catch (error) {
      throw typedError(error, 'XINFO', this.#commandTimeout());
    }
    const ours = (Array.isArray(groups) ? groups : [])
      .map(record)
      .find((g) => String(g.name) === this.group);
    if (ours === undefined) return false;
    if (compareStreamIds(String(ours['last-delivered-id']), target) < 0) return false;
    const pending = await this.#client.call('XPENDING', this.stream, this.group, '-', target, 1);
    return Array.isArray(pending) && pending.length === 0;
  }

  #commandTimeout(): number {
    const options = (this.#client as { options?: { commandTimeout?: number } }).options;
    return options?.commandTimeout ?? 0;
  }

  async #updateCache(key: string, value: T): Promise<void> {
    const cache = this.#cache as WriteBehindCache;
    try {
      await cache.set(key, value);
    } catch (error) {
      this.#logger.warn(
        `redisWriteBehind: the write of "${key}" is queued but the cache update failed; invalidating`,
        { key, error },
      );
      try {
        await cache.delete?.(key);
      } catch {
        // Nothing more to do: the cache serves its old value until its TTL.
      }
    }
  }

  async #ensureGroup(): Promise<void> {
    try {
      await this.#client.call('XGROUP', 'CREATE', this.stream, this.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!/BUSYGROUP/.test(asError(error).message)) {
        throw typedError(error, 'XGROUP CREATE', this.#commandTimeout());
      }
    }
  }

  #duplicate(): Redis | Cluster {
    // The reader blocks for up to blockMs per call: it gets its own connection so the
    // caller's client (auto-pipelined, shared) never waits behind it.
    const timeout = this.#blockMs + 10_000;
    const client = this.#client;
    if ((client as Cluster).isCluster) {
      const cluster = client as Cluster;
      return cluster.duplicate([], {
        enableAutoPipelining: false,
        redisOptions: { ...cluster.options.redisOptions, commandTimeout: timeout },
      });
    }
    return (client as Redis).duplicate({ enableAutoPipelining: false, commandTimeout: timeout });
  }

  async #run(reader: Redis | Cluster): Promise<void> {
    let failures = 0;
    // First the writes this consumer name already holds (a restart under a stable name),
    // then claims and new writes.
    let history: string | undefined = '0';
    let nextClaim = 0;
    while (!this.#stopping) {
      try {
        await this.#waitForCapacity();
        if (this.#stopping) break;
        if (history !== undefined) {
          const entries = await this.#read(reader, history, false);
          history = entries.length === 0 ? undefined : (entries.at(-1) as StreamEntry).id;
          this.#accept(entries, false);
        } else if (Date.now() >= nextClaim) {
          await this.#claim(reader);
          nextClaim = Date.now() + this.#claimInterval;
        } else {
          this.#accept(await this.#read(reader, '>', true), false);
        }
        failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        const typed = typedError(error, 'XREADGROUP', this.#blockMs);
        if (/NOGROUP/.test(asError(error).message)) {
          // The stream or group was deleted under us: recreate it (empty) and go on.
          await this.#ensureGroup().catch(noop);
        }
        this.#reportError('XREADGROUP', typed);
        await this.#sleep(backoffDelay(failures++, this.#backoff, this.#random));
      }
    }
  }

  #capacity(): number {
    return this.#maxHeld - this.#held.size;
  }

  async #read(reader: Redis | Cluster, from: string, block: boolean): Promise<StreamEntry[]> {
    const count = Math.max(1, Math.min(this.#batchSize, this.#capacity()));
    const args: Array<string | number> = ['GROUP', this.group, this.consumer, 'COUNT', count];
    if (block) args.push('BLOCK', this.#blockMs);
    args.push('STREAMS', this.stream, from);
    return parseRead(await reader.call('XREADGROUP', ...args), this.stream);
  }

  async #claim(reader: Redis | Cluster): Promise<void> {
    let cursor = '0-0';
    let claimed = 0;
    do {
      const capacity = this.#capacity();
      if (capacity <= 0 || this.#stopping) break;
      const reply = (await reader.call(
        'XAUTOCLAIM',
        this.stream,
        this.group,
        this.consumer,
        this.#claimIdleMs,
        cursor,
        'COUNT',
        Math.min(this.#batchSize, capacity),
      )) as [string, unknown, unknown?];
      cursor = String(reply[0]);
      claimed += this.#accept(parseEntries(reply[1]), true);
      // Redis 7 lists the ids of pending entries that were trimmed away: nothing to apply.
      const deleted = Array.isArray(reply[2]) ? (reply[2] as string[]) : [];
      if (deleted.length > 0) await this.#acknowledgeMissing(deleted);
    } while (cursor !== '0-0');
    if (claimed > 0) {
      this.#claimed += claimed;
      this.#logger.warn(
        `redisWriteBehind: claimed ${claimed} writes left pending by another consumer`,
        { stream: this.stream, consumer: this.consumer },
      );
      this.#emit('claimed', { count: claimed });
    }
  }

  /** Takes entries into lanes; returns how many were new to this worker. */
  #accept(entries: StreamEntry[], claimed: boolean): number {
    let accepted = 0;
    const missing: string[] = [];
    for (const entry of entries) {
      if (this.#held.has(entry.id)) continue;
      if (entry.fields === null) {
        missing.push(entry.id);
        continue;
      }
      const held: Held = {
        id: entry.id,
        key: field(entry.fields, 'k') ?? '',
        raw: field(entry.fields, 'v'),
        lost: false,
      };
      accepted++;
      this.#held.set(held.id, held);
      const lane = this.#lanes.get(held.key);
      if (lane !== undefined) {
        lane.push(held);
      } else {
        this.#lanes.set(held.key, [held]);
        if (this.#activeLanes < this.#concurrency) this.#startLane(held.key);
        else this.#ready.push(held.key);
      }
    }
    if (missing.length > 0) void this.#acknowledgeMissing(missing);
    return claimed ? accepted : 0;
  }

  async #acknowledgeMissing(ids: string[]): Promise<void> {
    this.#logger.warn(
      `redisWriteBehind: ${ids.length} pending writes were trimmed from the stream before being applied; acknowledging them`,
      { stream: this.stream, ids },
    );
    try {
      await this.#client.xack(this.stream, this.group, ...ids);
    } catch (error) {
      this.#reportError('XACK', asError(error));
    }
  }

  #startLane(key: string): void {
    this.#activeLanes++;
    const promise = this.#runLane(key);
    this.#lanePromises.add(promise);
    void promise.then(() => this.#lanePromises.delete(promise));
  }

  async #runLane(key: string): Promise<void> {
    const lane = this.#lanes.get(key) as Held[];
    try {
      while (lane.length > 0 && !this.#stopping) {
        const held = lane[0] as Held;
        if (!(await this.#process(held))) break;
        lane.shift();
        this.#held.delete(held.id);
        this.#wakeCapacity();
      }
    } finally {
      if (lane.length === 0) this.#lanes.delete(key);
      this.#activeLanes--;
      if (!this.#stopping) {
        const next = this.#ready.shift();
        if (next !== undefined) this.#startLane(next);
      }
    }
  }

  /** Applies one write with retries; `true` once it is done with (applied or dead), `false` if stopped first. */
  async #process(held: Held): Promise<boolean> {
    let value: unknown;
    try {
      if (held.key === '' || held.raw === undefined) {
        throw new InvalidValueError(
          `stream entry ${held.id} is not a write-behind write (fields k and v expected)`,
        );
      }
      value = this.#serializer.parse(held.raw);
    } catch (error) {
      return this.#deadLetter(held, asError(error), 0);
    }
    const apply = this.#apply as (write: WriteBehindWrite<T>) => unknown;
    const sequence = streamIdSequence(held.id);
    let counted = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.#stopping) return false;
      if (held.lost) return true;
      try {
        await apply({ id: held.id, sequence, key: held.key, value: value as T, attempt });
      } catch (error) {
        let transient = false;
        try {
          transient = this.#isTransient(error) === true;
        } catch {
          // A throwing classifier counts the failure, the conservative choice.
        }
        if (!transient) counted++;
        if (!transient && counted >= this.#maxAttempts) {
          return this.#deadLetter(held, asError(error), attempt);
        }
        const delayMs = backoffDelay(attempt - 1, this.#backoff, this.#random);
        this.#retries++;
        this.#emit('retry', { id: held.id, key: held.key, attempt, error, transient, delayMs });
        if (!(await this.#sleep(delayMs))) return false;
        continue;
      }
      this.#applied++;
      await this.#ack(held.id);
      this.#emit('applied', { id: held.id, key: held.key, attempt });
      return true;
    }
  }

  /** XACK, retried until it succeeds or the worker stops (then the entry is re-applied later). */
  async #ack(id: string): Promise<void> {
    for (let failed = 0; ; failed++) {
      try {
        await this.#client.xack(this.stream, this.group, id);
        this.#acksSinceTrim++;
        return;
      } catch (error) {
        this.#reportError('XACK', typedError(error, 'XACK', this.#commandTimeout()));
        if (!(await this.#sleep(backoffDelay(failed, this.#backoff, this.#random)))) return;
      }
    }
  }

  async #deadLetter(held: Held, error: Error, attempts: number): Promise<boolean> {
    let deadId: string | null = null;
    for (let failed = 0; deadId === null; failed++) {
      try {
        deadId = await this.#client.xadd(
          this.deadLetterStream,
          '*',
          'id',
          held.id,
          'k',
          held.key,
          'v',
          held.raw ?? '',
          'error',
          error.message,
          'code',
          codeOf(error),
          'attempts',
          String(attempts),
          'stream',
          this.stream,
          'consumer',
          this.consumer,
        );
      } catch (redisError) {
        this.#reportError('XADD', typedError(redisError, 'XADD', this.#commandTimeout()));
        if (!(await this.#sleep(backoffDelay(failed, this.#backoff, this.#random)))) return false;
      }
    }
    this.#deadLettered++;
    this.#logger.error(
      `redisWriteBehind: write ${held.id} of "${held.key}" moved to ${this.deadLetterStream} after ${attempts} attempts`,
      { id: held.id, key: held.key, error },
    );
    await this.#ack(held.id);
    this.#emit('dead', { id: held.id, key: held.key, attempts, error, deadId });
    return true;
  }

  #waitForCapacity(): Promise<void> {
    if (this.#capacity() > 0 || this.#stopping) return Promise.resolve();
    return new Promise((resolve) => this.#capacityWaiters.push(resolve));
  }

  #wakeCapacity(): void {
    if (this.#capacityWaiters.length === 0) return;
    const waiters = this.#capacityWaiters;
    this.#capacityWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves `true` after `ms`, or `false` at once when the worker stops. */
  #sleep(ms: number): Promise<boolean> {
    if (this.#stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.#sleepers.delete(sleeper);
          resolve(true);
        }, ms),
        resolve,
      };
      this.#sleepers.add(sleeper);
    });
  }

  #scheduleMaintenance(): void {
    if (this.#stopping) return;
    const every = Math.max(20, Math.min(1_000, Math.floor(this.#claimIdleMs / 3)));
    this.#maintenanceTimer = setTimeout(() => {
      this.#maintenanceTimer = undefined;
      this.#maintenance = this.#maintain(every).finally(() => {
        this.#maintenance = undefined;
        this.#scheduleMaintenance();
      });
    }, every);
    this.#maintenanceTimer.unref?.();
  }

  async #maintain(every: number): Promise<void> {
    const now = Date.now();
    try {
      if (this.#held.size > 0 && now - this.#lastHeartbeat >= every) {
        this.#lastHeartbeat = now;
        await this.#heartbeat();
      }
      if (this.#trim && this.#acksSinceTrim > 0 && now - this.#lastTrim >= 1_000) {
        this.#lastTrim = now;
        this.#acksSinceTrim = 0;
        await this.#trimStream();
      }
    } catch (error) {
      this.#reportError('maintenance', typedError(error, 'XPENDING/XCLAIM/XTRIM', 0));
    }
  }

  /**
   * Keeps the writes this worker holds from being claimed by others while they wait their
   * turn (a long retry during an outage): resets their idle time. Writes that another
   * consumer took over meanwhile (this worker stalled past claimIdleMs) are dropped here.
   */
  async #heartbeat(): Promise<void> {
    // Only writes held before the XPENDING call are judged: one read or claimed meanwhile
    // may be missing from its answer without being lost.
    const snapshot = [...this.#held.values()];
    let min: string | undefined;
    let max: string | undefined;
    for (const { id } of snapshot) {
      if (min === undefined || compareStreamIds(id, min) < 0) min = id;
      if (max === undefined || compareStreamIds(id, max) > 0) max = id;
    }
    if (min === undefined || max === undefined) return;
    const reply = await this.#client.call(
      'XPENDING',
      this.stream,
      this.group,
      min,
      max,
      snapshot.length * 2 + 1_000,
      this.consumer,
    );
    const owned = new Set<string>();
    if (Array.isArray(reply)) {
      for (const row of reply) if (Array.isArray(row)) owned.add(String(row[0]));
    }
    const keep: string[] = [];
    for (const held of snapshot) {
      if (owned.has(held.id)) keep.push(held.id);
      else if (this.#held.has(held.id)) held.lost = true;
    }
    for (let i = 0; i < keep.length; i += CLAIM_CHUNK) {
      await this.#client.call(
        'XCLAIM',
        this.stream,
        this.group,
        this.consumer,
        0,
        ...keep.slice(i, i + CLAIM_CHUNK),
        'JUSTID',
      );
    }
  }

  /**
   * XTRIM MINID ~ below the oldest entry any group still needs: its oldest pending entry, or
   * the first entry it has not been delivered yet. The group's last-delivered id is read
   * before its pending list, so an entry delivered in between is never trimmed.
   */
  async #trimStream(): Promise<void> {
    const groups = await this.#client.call('XINFO', 'GROUPS', this.stream);
    if (!Array.isArray(groups) || groups.length === 0) return;
    let boundary: string | undefined;
    for (const group of groups.map(record)) {
      let limit = nextStreamId(String(group['last-delivered-id'] ?? '0-0'));
      if (Number(group.pending ?? 0) > 0) {
        const summary = await this.#client.call('XPENDING', this.stream, String(group.name));
        const oldest = Array.isArray(summary) ? summary[1] : null;
        if (typeof oldest === 'string' && compareStreamIds(oldest, limit) < 0) limit = oldest;
      }
      if (boundary === undefined || compareStreamIds(limit, boundary) < 0) boundary = limit;
    }
    if (boundary !== undefined) {
      await this.#client.call('XTRIM', this.stream, 'MINID', '~', boundary);
    }
  }

  async #shutdown(): Promise<void> {
    this.#stopping = true;
    if (this.#maintenanceTimer !== undefined) clearTimeout(this.#maintenanceTimer);
    this.#maintenanceTimer = undefined;
    for (const sleeper of this.#sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.resolve(false);
    }
    this.#sleepers.clear();
    this.#wakeCapacity();
    // Cuts a blocked XREADGROUP short. Entries Redis delivered to it at that very moment stay
    // pending under this consumer: claimed by another worker after claimIdleMs, or read back
    // by a restart with the same consumer name.
    this.#reader?.disconnect();
    await this.#loop;
    await Promise.all([...this.#lanePromises]);
    await this.#maintenance;
    const leftover = [...this.#held.values()].filter((h) => !h.lost).map((h) => h.id);
    try {
      // Hand back what was read but not started: IDLE claimIdleMs makes it claimable now.
      for (let i = 0; i < leftover.length; i += CLAIM_CHUNK) {
        await this.#client.call(
          'XCLAIM',
          this.stream,
          this.group,
          this.consumer,
          0,
          ...leftover.slice(i, i + CLAIM_CHUNK),
          'IDLE',
          this.#claimIdleMs,
          'JUSTID',
        );
      }
      if (this.#trim && this.#acksSinceTrim > 0) {
        this.#acksSinceTrim = 0;
        await this.#trimStream();
      }
    } catch (error) {
      this.#reportError('stop', typedError(error, 'XCLAIM/XTRIM', this.#commandTimeout()));
    }
    this.#held.clear();
    this.#lanes.clear();
    this.#ready = [];
    this.#reader = undefined;
    this.#loop = undefined;
    this.#stopped = undefined;
  }

  #reportError(operation: string, error: Error): void {
    this.#logger.warn(`redisWriteBehind: ${operation} failed (${codeOf(error)}); retrying`, {
      stream: this.stream,
      error,
    });
    this.#emit('error', { operation, error });
  }

  #emit<K extends keyof WriteBehindEvents>(event: K, payload: WriteBehindEvents[K]): void {
    for (const listener of [...(this.#listeners[event] as Listener<K>[])]) {
      try {
        listener(payload);
      } catch (error) {
        this.#logger.error(`redisWriteBehind: a "${event}" listener threw`, { error });
      }
    }
  }
}

/**
 * Creates a durable write-behind queue on a Redis Stream. Call `enqueue` from the
 * application; call `start()` in the processes that apply writes (it can be the same one).
 *
 * @example
 * ```ts
 * const queue = redisWriteBehind<{ score: number }>({
 *   client: redis,
 *   stream: 'wb:agents',
 *   cache,
 *   apply: ({ key, value, sequence }) =>
 *     pool.query(
 *       'UPDATE agents SET score = $2, last_write_seq = $3 WHERE id = $1 AND last_write_seq < $3',
 *       [key, value.score, sequence],
 *     ),
 *   isTransient: (error) => !/^2[23]/.test(String((error as { code?: string }).code)),
 * });
 * await queue.start();
 * await queue.enqueue('agent:42', { score: 7 });
 * ```
 */
export function redisWriteBehind<T = unknown>(
  options: RedisWriteBehindOptions<T>,
): RedisWriteBehind<T> {
  return new RedisWriteBehind(options);
}
