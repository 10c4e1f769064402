import { randomBytes } from 'node:crypto';
import { type Codec, createCodec } from '@tiercache/compression';
import { type Cluster, Redis } from 'ioredis';
import { CircuitBreaker, type CircuitState, REJECT } from './circuit-breaker.js';
import {
  CommandEngine,
  type Commands,
  DOWN,
  decodeReply,
  existedReply,
  isOutage,
  manyReply,
  type RedisReadResult,
  storedReply,
  type Tracking,
  typedError,
  versionsReply,
  voidReply,
} from './command-engine.js';
import {
  ClearRefusedError,
  InvalidOptionsError,
  InvalidTtlError,
  InvalidValueError,
  L2TimeoutError,
  L2UnavailableError,
} from './errors.js';
import { escapeGlob } from './escape-glob.js';
import { keySlot, slotTag } from './key-slot.js';
import { NodeBreakers } from './node-breakers.js';
import { type RedisTierLogger, type RedisTierOptions, resolveOptions } from './options.js';
import {
  DELETE_VERSIONED,
  FILL,
  type LuaScript,
  runScript,
  SET_VERSIONED,
} from './versioned-scripts.js';

/** Listener of {@link RedisTier.on}('circuit'). */
export type CircuitListener = (state: CircuitState) => void;

const SCAN_COUNT = 1_000;
/** The default codec stores values under this many bytes uncompressed (see `codec`). */
const DEFAULT_COMPRESSION_THRESHOLD = 8 * 1024;

function policyOf(reply: unknown): string {
  // RESP2: ['maxmemory-policy', 'allkeys-lru']; an empty array when the name is unknown.
  if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  return 'unknown';
}

/**
 * The L2 tier: values encoded by a codec, stored in Redis (standalone or Cluster) under a
 * key prefix with a millisecond TTL. Implements `CacheTier` of `@tiercache/core`
 * structurally.
 *
 * Every command is bounded by `commandTimeout`, and a circuit breaker stops calling a Redis
 * that keeps failing, so a Redis outage costs callers milliseconds, not seconds.
 */
export class RedisTier {
  /** Name used in events and metrics. */
  readonly name = 'l2';
  /** Prepended to every key. */
  readonly prefix: string;
  /** The ioredis client in use (yours, or the one created from `connection`). */
  readonly client: Redis | Cluster;

  readonly #engine: CommandEngine;
  readonly #raw: Commands;
  readonly #codec: Codec;
  readonly #owned: boolean;
  readonly #isCluster: boolean;
  readonly #logger: RedisTierLogger;
  readonly #listeners = new Set<CircuitListener>();
  #reportedState: CircuitState = 'closed';
  readonly #versionTtl: number;
  /** New versions are this random nonce and a counter: unique across instances. */
  readonly #nonce = randomBytes(9).toString('base64url');
  #versionCounter = 0;

  /** Prefer the {@link redisTier} factory. Throws `InvalidOptionsError` for bad options. */
  constructor(options: RedisTierOptions) {
    const o = resolveOptions(options);
    this.prefix = o.prefix;
    this.#codec = o.codec ?? createCodec({ threshold: DEFAULT_COMPRESSION_THRESHOLD });
    this.#logger = o.logger;
    this.#versionTtl = o.versionTtl;
    if (o.client !== undefined) {
      this.client = o.client;
      this.#owned = false;
    } else {
      // Auto-pipelining: many concurrent commands share one socket write. Except MGET: the
      // tier already merges a tick's gets into one, and routing that through the auto-pipeline
      // adds a tick and a Pipeline per batch (-30 % L2 hit throughput, tooling/bench). One retry
      // per request: commands queued across a reconnect fail soon instead of after 20 attempts.
      const defaults = {
        enableAutoPipelining: true,
        autoPipeliningIgnoredCommands: ['mget'],
        maxRetriesPerRequest: 1,
      };
      const connection = o.connection ?? {};
      this.client =
        typeof connection === 'string'
          ? new Redis(connection, defaults)
          : new Redis({ ...defaults, ...connection });
      this.#owned = true;
    }
    this.#raw = this.client as unknown as Commands;
    this.#isCluster = this.#raw.isCluster === true;
    const clientOptions = (this.client as { options?: { enableAutoPipelining?: boolean } }).options;
    if (this.#isCluster && clientOptions?.enableAutoPipelining !== true) {
      this.#logger.debug?.(
        'redisTier: this Cluster client has no enableAutoPipelining; every GET of getMany ' +
          'is then its own socket write. Pass enableAutoPipelining: true for throughput.',
      );
    }
    if (this.#owned) {
      // Without a listener ioredis prints every reconnect error to stderr; the circuit and
      // the typed errors already report outages, so connection noise goes to debug.
      this.#raw.on('error', (error) => {
        this.#logger.debug?.('redisTier: Redis connection error', { error });
      });
    }
    const settings = o.circuitBreaker;
    const breaker = (node: string | undefined) =>
      settings === false
        ? undefined
        : new CircuitBreaker({
            failureThreshold: settings.failureThreshold,
            resetTimeout: settings.resetTimeout,
            clock: o.clock,
            onStateChange: (state, previous) =>
              this.#circuitChanged(state, previous, settings, node),
          });
    const cluster = this.#isCluster ? (this.client as Cluster) : undefined;
    this.#engine = new CommandEngine({
      raw: this.#raw,
      codec: this.#codec,
      timeout: o.commandTimeout,
      batching: o.batch && !this.#isCluster,
      // On a Cluster one circuit per master: a dead master must not send the keys of the
      // healthy ones to the loader (RELIABILITY.md, Cluster failover).
      breaker: cluster === undefined ? breaker(undefined) : undefined,
      nodes:
        cluster === undefined || settings === false
          ? undefined
          : new NodeBreakers(
              (slot) => cluster.slots[slot]?.[0],
              (node) => breaker(node) as CircuitBreaker,
            ),
    });
    if (o.checkEvictionPolicyOnStart) {
      // checkEvictionPolicy never rejects: failures become a warning and 'unknown'.
      void this.checkEvictionPolicy();
    }
  }

  /**
   * The circuit breaker state (`'closed'` when the breaker is disabled). On a Cluster each
   * master has its own circuit and this is the worst of them: `'open'` while any master is
   * cut off (the others still serve); {@link circuitStates} has them one by one.
   */
  get circuitState(): CircuitState {
    return this.#engine.circuitState;
  }

  /**
   * Every circuit's state: `{ tier: state }` on standalone Redis, one entry per master
   * (`host:port`) that has served a key on a Cluster.
   */
  get circuitStates(): Readonly<Record<string, CircuitState>> {
    const nodes = this.#engine.nodes;
    return nodes === undefined ? { tier: this.#engine.circuitState } : nodes.states();
  }

  /**
   * Subscribes to circuit state changes (`'open'`, `'half-open'`, `'closed'`).
   * @returns a function that unsubscribes.
   */
  on(event: 'circuit', listener: CircuitListener): () => void {
    if (event !== 'circuit') {
      throw new InvalidOptionsError(`event: unknown event "${String(event)}", expected 'circuit'`);
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * The value stored under `key`, or `undefined` on a miss. Rejects with the codec's
   * `CorruptPayloadError` (unreadable bytes), `L2TimeoutError`, `L2UnavailableError`,
   * `CircuitOpenError` or `L2CommandError`.
   */
  get(key: string): Promise<unknown> {
    const engine = this.#engine;
    const fullKey = this.prefix + key;
    const gate = engine.gate(fullKey);
    if (gate === REJECT || gate === DOWN) return engine.refuse(gate);
    return engine.get(fullKey, gate);
  }

  /**
   * Reads `keys` in order. On standalone Redis: one MGET, bounded by one `commandTimeout`; a
   * corrupt payload is `{ hit: false, error }` for that key, a Redis failure rejects the
   * whole call. On a Cluster: one GET per key, all sent in the same tick (auto-pipelining
   * groups them per node; MGET across slots would fail with CROSSSLOT), each judged by its
   * master's circuit, and every failure is that key's `{ hit: false, error }`: a dead master
   * costs only the keys it owns.
   */
  getMany(keys: readonly string[]): Promise<RedisReadResult[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const engine = this.#engine;
    const full = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) full[i] = this.prefix + keys[i];
    if (this.#isCluster) {
      return Promise.all(full.map((fullKey) => this.#clusterRead(fullKey)));
    }
    const gate = engine.gate();
    if (gate === REJECT || gate === DOWN) return engine.refuse(gate);
    return engine.send(this.#raw.mgetBuffer(full), 'MGET', manyReply, gate) as Promise<
      RedisReadResult[]
    >;
  }

  /** One key of a Cluster `getMany`: never rejects, a failure is the key's answer. */
  #clusterRead(fullKey: string): Promise<RedisReadResult> {
    const engine = this.#engine;
    const gate = engine.gate(fullKey);
    const value =
      gate === REJECT || gate === DOWN
        ? engine.refuse(gate)
        : engine.send(this.#raw.getBuffer(fullKey), 'GET', decodeReply, gate);
    return value.then(
      (v): RedisReadResult => (v === undefined ? { hit: false } : { hit: true, value: v }),
      (error: unknown): RedisReadResult => ({
        hit: false,
        error: error instanceof Error ? error : new Error(String(error)),
      }),
    );
  }

  /**
   * Stores `value` under `key` for `ttlMs` milliseconds (SET PX). Rejects with
   * `InvalidTtlError` for a TTL that is not a positive integer, `InvalidValueError` for an
   * `undefined` value (nothing is sent in either case), and with the codec's `SerializationError` for a value it
   * cannot encode. Large values are compressed on the threadpool (`encodeAsync`).
   */
  set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const fullKey = this.prefix + key;
    return this.#encodedWrite(fullKey, value, ttlMs, (bytes, gate) => {
      return this.#engine.send(
        this.#raw.set(fullKey, bytes, 'PX', ttlMs),
        'SET',
        voidReply,
        gate,
      ) as Promise<void>;
    });
  }

  /** Removes `key` (UNLINK: memory freed in the background); resolves to whether it existed. */
  delete(key: string): Promise<boolean> {
    const engine = this.#engine;
    const fullKey = this.prefix + key;
    const gate = engine.gate(fullKey);
    if (gate === REJECT || gate === DOWN) return engine.refuse(gate);
    return engine.send(this.#raw.unlink(fullKey), 'UNLINK', existedReply, gate) as Promise<boolean>;
  }

  /**
   * The current version of each key (`''` when it has none), for core's `versionedWrites`:
   * read before a load starts. One MGET of the version keys (one GET each on a Cluster).
   */
  getVersions(keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const engine = this.#engine;
    const gate = engine.gate();
    if (gate === REJECT || gate === DOWN) return engine.refuse(gate);
    const raw = this.#raw;
    const versionKeys = keys.map((key) => this.#versionKey(this.prefix + key));
    const reply = this.#isCluster
      ? Promise.all(versionKeys.map((k) => raw.get(k)))
      : raw.mget(versionKeys);
    return engine.send(reply, 'MGET', versionsReply, gate) as Promise<string[]>;
  }

  /**
   * Stores `value` only if `key`'s version still is `version` (what {@link getVersions}
   * returned before the load); resolves to whether it stored. One Lua script (compare and
   * SET PX), so no delete can slip between the check and the write.
   */
  setIfVersion(key: string, value: unknown, ttlMs: number, version: string): Promise<boolean> {
    return this.#versionedWrite(key, value, ttlMs, FILL, (bytes) => [version, bytes, ttlMs]);
  }

  /** Stores `value` and gives `key` a new version, so loads that started before cannot overwrite it. */
  setVersioned(key: string, value: unknown, ttlMs: number): Promise<void> {
    return this.#versionedWrite(key, value, ttlMs, SET_VERSIONED, (bytes) => [
      this.#newVersion(),
      this.#versionTtl,
      bytes,
      ttlMs,
    ]).then(() => undefined);
  }

  /**
   * Deletes `key` (UNLINK) and gives it a new version in one script, so loads that started
   * before cannot write their value back; resolves to whether the key existed.
   */
  deleteVersioned(key: string): Promise<boolean> {
    const engine = this.#engine;
    const fullKey = this.prefix + key;
    const gate = engine.gate(fullKey);
    if (gate === REJECT || gate === DOWN) return engine.refuse(gate);
    return engine.send(
      runScript(
        this.#raw,
        DELETE_VERSIONED,
        [fullKey, this.#versionKey(fullKey)],
        [this.#newVersion(), this.#versionTtl],
      ),
      'EVALSHA',
      existedReply,
      gate,
    ) as Promise<boolean>;
  }

  /**
   * Deletes every key matching the Redis glob `pattern` under this tier's prefix (the prefix
   * is escaped and prepended: `deleteMatching('user:*')` scans `tc:user:*`) and resolves to
   * how many were deleted: SCAN MATCH COUNT 1000 and batched UNLINK on every master of a
   * Cluster, never KEYS. Each round trip is bounded by `commandTimeout`. Escape user input
   * inside `pattern` (`escapeGlob` from `@tiercache/keys`).
   */
  async deleteMatching(pattern: string): Promise<number> {
    if (typeof pattern !== 'string' || pattern === '') {
      throw new InvalidOptionsError('pattern: expected a non-empty string');
    }
    return this.#deleteAll(`${escapeGlob(this.prefix)}${pattern}`);
  }

  /**
   * Deletes every key under this tier's prefix: SCAN MATCH (the prefix glob-escaped, COUNT
   * 1000) and batched UNLINK, on every master of a Cluster. Never KEYS, never FLUSHDB. Each
   * SCAN and UNLINK round trip is bounded by `commandTimeout`. Rejects with
   * `ClearRefusedError` when the prefix is empty.
   */
  async clear(): Promise<void> {
    if (this.prefix === '') {
      throw new ClearRefusedError(
        'clear() needs a non-empty prefix: with prefix "" it would delete the whole database',
      );
    }
    await this.#deleteAll(`${escapeGlob(this.prefix)}*`);
  }

  /** SCAN + UNLINK of `pattern` (a full-key glob) on every master; how many were deleted. */
  async #deleteAll(pattern: string): Promise<number> {
    const engine = this.#engine;
    const gate = engine.gate();
    if (gate === REJECT || gate === DOWN) return engine.refuse(gate);
    let counts: number[];
    try {
      const nodes = await this.#masters();
      counts = await Promise.all(nodes.map((node) => this.#clearNode(node, pattern)));
    } catch (error) {
      const typed = typedError(error, 'SCAN/UNLINK', engine.timeout);
      engine.record(gate, isOutage(typed));
      throw typed;
    }
    engine.record(gate, false);
    let total = 0;
    for (const count of counts) total += count;
    return total;
  }

  /** Where `fullKey`'s version lives: the same Cluster slot, outside the prefix. */
  #versionKey(fullKey: string): string {
    return `{${slotTag(keySlot(fullKey))}}v:${fullKey}`;
  }

  #newVersion(): string {
    return `${this.#nonce}.${(++this.#versionCounter).toString(36)}`;
  }

  /** Encodes `value`, then runs `lua` on the key and its version key. */
  #versionedWrite(
    key: string,
    value: unknown,
    ttlMs: number,
    lua: LuaScript,
    args: (bytes: Buffer) => Array<string | Buffer | number>,
  ): Promise<boolean> {
    const fullKey = this.prefix + key;
    return this.#encodedWrite(fullKey, value, ttlMs, (bytes, gate) => {
      return this.#engine.send(
        runScript(this.#raw, lua, [fullKey, this.#versionKey(fullKey)], args(bytes)),
        'EVALSHA',
        storedReply,
        gate,
      ) as Promise<boolean>;
    });
  }

  /**
   * The shared front of every write: validates, admits through the circuit, encodes on the
   * threadpool, then hands the bytes to `send`. Nothing is sent for a bad value or TTL.
   */
  #encodedWrite<T>(
    fullKey: string,
    value: unknown,
    ttlMs: number,
    send: (bytes: Buffer, gate: Tracking) => Promise<T>,
  ): Promise<T> {
    const invalid = checkWrite(value, ttlMs);
    if (invalid !== undefined) return Promise.reject(invalid);
    const engine = this.#engine;
    const gate = engine.gate(fullKey);
    if (gate === REJECT || gate === DOWN) return engine.refuse(gate);
    let encoded: Promise<Buffer>;
    try {
      encoded = this.#codec.encodeAsync(value);
    } catch (error) {
      encoded = Promise.reject(error);
    }
    return encoded.then(
      (bytes) => send(bytes, gate),
      (error: unknown) => {
        // Nothing reached Redis: give the probe slot back instead of judging Redis by it.
        engine.abandon(gate);
        throw error;
      },
    );
  }

  /**
   * Reads `maxmemory-policy` (from every master of a Cluster) and warns through the logger
   * when it is `noeviction`: a full Redis then fails cache writes with OOM instead of
   * evicting. Never rejects: when CONFIG is disabled (common on managed Redis) or Redis
   * does not answer, it warns and resolves to `'unknown'`. Masters that disagree resolve to
   * their policies joined by commas.
   */
  async checkEvictionPolicy(): Promise<string> {
    let policies: string[];
    try {
      const nodes = await this.#masters();
      policies = await Promise.all(
        nodes.map(async (node) =>
          policyOf(await this.#engine.timed(node.config('GET', 'maxmemory-policy'), 'CONFIG GET')),
        ),
      );
    } catch (error) {
      this.#logger.warn(
        'redisTier: cannot read maxmemory-policy (CONFIG may be disabled on managed Redis); ' +
          'make sure Redis evicts when full, e.g. allkeys-lru',
        { error },
      );
      return 'unknown';
    }
    const distinct = [...new Set(policies)];
    const policy = distinct.length === 0 ? 'unknown' : distinct.join(',');
    if (distinct.includes('noeviction')) {
      this.#logger.warn(
        "redisTier: Redis maxmemory-policy is 'noeviction': when memory is full, cache writes " +
          'fail with OOM instead of evicting old entries. Use allkeys-lru or allkeys-lfu.',
        { policy },
      );
    }
    return policy;
  }

  /**
   * Quits the client if the tier created it (from `connection`); a client you passed in is
   * left open. `get`s queued in this tick are sent first.
   */
  async close(): Promise<void> {
    this.#engine.flushPending();
    const raw = this.#raw;
    if (!this.#owned || raw.status === 'end') return;
    const ended = this.#ended();
    if (raw.status === 'ready') {
      try {
        // QUIT lets replies to commands already sent arrive first.
        await this.#engine.timed(raw.quit(), 'QUIT');
      } catch {
        raw.disconnect();
      }
    } else {
      raw.disconnect();
    }
    await ended;
    if (raw.status !== 'end') raw.disconnect();
  }

  /** Resolves when the client emits 'end', or after one command timeout at the latest. */
  #ended(): Promise<void> {
    const raw = this.#raw;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        raw.off('end', done);
        resolve();
      };
      const timer = setTimeout(done, this.#engine.timeout);
      raw.once('end', done);
    });
  }

  /** Same as {@link close}, for `await using tier = redisTier(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #masters(): Promise<Commands[]> {
    const raw = this.#raw;
    if (!this.#isCluster || raw.nodes === undefined) return [raw];
    if (raw.status !== 'ready') await this.#clusterReady();
    const masters = raw.nodes('master');
    if (masters.length === 0) throw new L2UnavailableError('Redis Cluster has no known master');
    return masters;
  }

  // A Cluster learns its masters only once connected; admin calls made right after creating
  // the client wait for that, up to ten command timeouts.
  #clusterReady(): Promise<void> {
    const raw = this.#raw;
    if (raw.status !== 'wait' && raw.status !== 'connecting' && raw.status !== 'connect') {
      return Promise.reject(new L2UnavailableError(`Redis Cluster connection is ${raw.status}`));
    }
    const limit = this.#engine.timeout * 10;
    return new Promise((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        raw.off('ready', onReady);
        reject(new L2TimeoutError(`Redis Cluster was not ready within ${limit} ms`));
      }, limit);
      raw.once('ready', onReady);
    });
  }

  async #clearNode(node: Commands, pattern: string): Promise<number> {
    const engine = this.#engine;
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await engine.timed(
        node.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT),
        'SCAN',
      );
      cursor = next.toString();
      if (keys.length === 0) continue;
      if (this.#isCluster) {
        // A multi-key UNLINK must stay within one slot; route each key through the Cluster
        // client (auto-pipelined per node), so a key that just moved still finds its owner.
        const raw = this.#raw;
        const counts = await engine.timed(
          Promise.all(keys.map((key) => raw.unlink(key))),
          'UNLINK',
        );
        for (const count of counts) deleted += count;
      } else {
        deleted += await engine.timed(node.unlink(...keys), 'UNLINK');
      }
    } while (cursor !== '0');
    return deleted;
  }

  #circuitChanged(
    state: CircuitState,
    previous: CircuitState,
    settings: { failureThreshold: number; resetTimeout: number },
    node: string | undefined,
  ): void {
    const meta = node === undefined ? { prefix: this.prefix } : { prefix: this.prefix, node };
    if (state === 'open') {
      this.#logger.warn(
        previous === 'half-open'
          ? `redisTier: Redis probe failed; circuit open again for ${settings.resetTimeout} ms`
          : `redisTier: circuit opened after ${settings.failureThreshold} consecutive Redis failures; L2 calls fail fast for ${settings.resetTimeout} ms`,
        meta,
      );
    } else if (state === 'closed') {
      this.#logger.warn('redisTier: Redis answered the probe; circuit closed', meta);
    } else {
      this.#logger.debug?.('redisTier: circuit half-open; probing Redis', meta);
    }
    // Listeners see the tier's state: on a Cluster the worst master's, told when it changes.
    const tierState = this.#engine.circuitState;
    if (tierState === this.#reportedState) return;
    this.#reportedState = tierState;
    for (const listener of this.#listeners) {
      try {
        listener(tierState);
      } catch (error) {
        this.#logger.error('redisTier: a circuit listener threw', { error });
      }
    }
  }
}

/** `String(value)` that cannot throw: a null-prototype object has no `toString`. */
function show(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Why a write must not be sent (bad TTL, `undefined` value), or `undefined`. */
function checkWrite(value: unknown, ttlMs: number): Error | undefined {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    return new InvalidTtlError(
      `ttlMs must be a positive integer number of milliseconds, got ${show(ttlMs)}`,
    );
  }
  if (value === undefined) {
    return new InvalidValueError('value must not be undefined: a tier never stores undefined');
  }
  return undefined;
}

/**
 * Creates the Redis (L2) tier. Throws `InvalidOptionsError` naming the field for bad
 * options.
 *
 * @example
 * const l2 = redisTier({ connection: 'redis://localhost:6379', prefix: 'app:' });
 * await l2.set('user:1', { name: 'Ada' }, 60_000);
 * await l2.get('user:1'); // { name: 'Ada' }
 */
export function redisTier(options: RedisTierOptions): RedisTier {
  return new RedisTier(options);
}
