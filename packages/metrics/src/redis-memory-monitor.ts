import { z } from 'zod';
import { InvalidOptionsError, MemoryCheckError } from './errors.js';
import { infoNumber, parseRedisInfo } from './redis-info.js';
import { fn, parseOptions, withMethods } from './validate.js';

/**
 * What the monitor needs of a Redis client: `info(section)` resolving to the reply text. An
 * ioredis `Redis` fits. For a Cluster, monitor each master (`cluster.nodes('master')`).
 */
export interface RedisInfoClient {
  info(section: string): Promise<string>;
}

/** Timer functions, injectable for tests; the handle's `unref()` is called when it has one. */
export interface TimerProvider {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Options of {@link RedisMemoryMonitor}. */
export interface RedisMemoryMonitorOptions {
  /** The Redis client to ask (not closed by the monitor). */
  readonly client: RedisInfoClient;
  /**
   * Milliseconds between checks once `start()`ed.
   * @default 30_000
   */
  readonly interval?: number;
  /**
   * Usage ratio (used / maxmemory) above which `'warning'` is emitted. Never fires when
   * maxmemory is 0 (unlimited).
   * @default 0.85
   */
  readonly threshold?: number;
  /**
   * Current time in milliseconds, stamped on each sample.
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * Where `start()` gets its interval timer.
   * @default globalThis.setInterval / clearInterval
   */
  readonly timers?: TimerProvider;
}

/** One reading of Redis memory (`INFO memory` and `INFO stats`). */
export interface RedisMemorySample {
  /** `clock()` when the reply arrived. */
  readonly time: number;
  /** `used_memory`: bytes allocated by Redis. */
  readonly usedBytes: number;
  /** `used_memory_rss`: bytes the OS sees; `null` if not reported. */
  readonly rssBytes: number | null;
  /** `used_memory_peak`; `null` if not reported. */
  readonly peakBytes: number | null;
  /** `maxmemory`; `null` when it is 0, i.e. unlimited. */
  readonly maxBytes: number | null;
  /** usedBytes / maxBytes; `null` when unlimited (never `Infinity` or `NaN`). */
  readonly usageRatio: number | null;
  /** `mem_fragmentation_ratio` (rss / used); `null` if not reported. Meaningless on tiny datasets. */
  readonly fragmentation: number | null;
  /** `evicted_keys` since the server started (or `CONFIG RESETSTAT`). */
  readonly evictedKeys: number;
  /**
   * Keys evicted since the previous sample of this monitor (0 for the first one; the whole
   * `evictedKeys` when the server's counter went back, after a restart).
   */
  readonly evictedDelta: number;
  /** `maxmemory_policy`, e.g. `'allkeys-lru'`; `'unknown'` if not reported. */
  readonly policy: string;
  /** usageRatio > threshold. */
  readonly aboveThreshold: boolean;
}

/** Events of {@link RedisMemoryMonitor}, by name. */
export interface RedisMemoryMonitorEvents {
  /** Every successful check. */
  sample: RedisMemorySample;
  /** A check found usage above `threshold`. */
  warning: RedisMemorySample;
  /** A check found keys evicted since the previous one (`evictedDelta > 0`). */
  evictions: RedisMemorySample;
  /** A check failed (a {@link MemoryCheckError}); emitted, never thrown from the timer. */
  error: MemoryCheckError;
}

/** Event names of {@link RedisMemoryMonitor.on}. */
export type RedisMemoryMonitorEvent = keyof RedisMemoryMonitorEvents;

type Listener = (payload: never) => void;

const schema = z.strictObject({
  client: withMethods<RedisInfoClient>('info'),
  // setInterval fires every 1 ms for longer delays, which would run INFO continuously.
  interval: z.number().int().positive().max(2_147_483_647).optional(),
  threshold: z.number().gt(0).max(1).optional(),
  clock: fn<() => number>().optional(),
  timers: withMethods<TimerProvider>('setInterval', 'clearInterval').optional(),
});

const defaultTimers: TimerProvider = {
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

/**
 * Watches Redis memory: `used_memory` against `maxmemory` (a `'warning'` above `threshold`),
 * keys evicted since the last check (`'evictions'`), fragmentation and the eviction policy.
 * Unlike the guide's monitor, `maxmemory 0` (unlimited) gives `usageRatio: null`, not
 * `Infinity`, and evictions alert even when usage looks fine.
 *
 * ```ts
 * const monitor = new RedisMemoryMonitor({ client: redis, interval: 30_000 });
 * monitor.on('warning', (s) => log.warn('Redis memory high', s));
 * monitor.on('evictions', (s) => log.warn(`${s.evictedDelta} keys evicted`, s));
 * monitor.on('error', (e) => log.error('memory check failed', e));
 * monitor.start();
 * ```
 */
export class RedisMemoryMonitor {
  /** Usage ratio above which `'warning'` fires. */
  readonly threshold: number;
  /** Milliseconds between checks. */
  readonly interval: number;
  readonly #client: RedisInfoClient;
  readonly #clock: () => number;
  readonly #timers: TimerProvider;
  readonly #listeners: { [K in RedisMemoryMonitorEvent]: readonly Listener[] } = {
    sample: [],
    warning: [],
    evictions: [],
    error: [],
  };
  #handle: unknown;
  #running = false;
  #checking = false;
  #lastEvicted: number | undefined;
  #last: RedisMemorySample | undefined;
  #failures = 0;

  /** Throws {@link InvalidOptionsError} for a bad option. Starts nothing. */
  constructor(options: RedisMemoryMonitorOptions) {
    const o = parseOptions(schema, options);
    this.#client = o.client;
    this.interval = o.interval ?? 30_000;
    this.threshold = o.threshold ?? 0.85;
    this.#clock = o.clock ?? Date.now;
    this.#timers = o.timers ?? defaultTimers;
  }

  /** The latest successful sample, if any. */
  get lastSample(): RedisMemorySample | undefined {
    return this.#last;
  }

  /** Checks that failed so far (each also emitted as `'error'` when from the timer). */
  get failures(): number {
    return this.#failures;
  }

  /** Whether `start()` was called and `stop()` not since. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Subscribes to `'sample'`, `'warning'`, `'evictions'` or `'error'`; returns a function that
   * unsubscribes.
   */
  on<E extends RedisMemoryMonitorEvent>(
    event: E,
    listener: (payload: RedisMemoryMonitorEvents[E]) => void,
  ): () => void {
    if (!Object.hasOwn(this.#listeners, event)) {
      throw new InvalidOptionsError(
        `event: unknown event "${String(event)}"; expected 'sample', 'warning', 'evictions' or 'error'`,
      );
    }
    const added = listener as Listener;
    this.#listeners[event] = [...this.#listeners[event], added];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list = [...this.#listeners[event]];
      list.splice(list.indexOf(added), 1);
      this.#listeners[event] = list;
    };
  }

  /**
   * Reads `INFO memory` and `INFO stats` once, emits `'sample'` (and `'warning'`,
   * `'evictions'` when due) and resolves to the sample. Rejects with {@link MemoryCheckError}
   * (the client's error as `cause`) without emitting `'error'`: the caller has the rejection.
   */
  async check(): Promise<RedisMemorySample> {
    try {
      return await this.#check();
    } catch (error) {
      this.#failures++;
      throw error;
    }
  }

  /**
   * Checks now, then every `interval` ms, on an unref'd timer (it never keeps the process
   * alive). Failures are emitted as `'error'`. A check still running when the next is due is
   * not overlapped. Calling `start()` again while running does nothing.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const handle = this.#timers.setInterval(() => this.#tick(), this.interval);
    (handle as { unref?: () => void } | null)?.unref?.();
    this.#handle = handle;
    this.#tick();
  }

  /** Stops the timer; a check in flight finishes but emits nothing. Idempotent. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#timers.clearInterval(this.#handle);
    this.#handle = undefined;
  }

  /** `stop()`, for `using monitor = …`. */
  [Symbol.dispose](): void {
    this.stop();
  }

  #tick(): void {
    if (this.#checking) return;
    this.#checking = true;
    this.#check(true).then(
      () => {
        this.#checking = false;
      },
      (error: unknown) => {
        this.#checking = false;
        this.#failures++;
        if (this.#running) this.#emit('error', error as MemoryCheckError);
      },
    );
  }

  async #check(fromTimer = false): Promise<RedisMemorySample> {
    let memory: string;
    let stats: string;
    try {
      [memory, stats] = await Promise.all([
        this.#client.info('memory'),
        this.#client.info('stats'),
      ]);
    } catch (error) {
      throw new MemoryCheckError(
        `Redis INFO failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const info = parseRedisInfo(`${memory}\n${stats}`);
    const sample = this.#toSample(info);
    // A timer check that finishes after stop() is dropped: stop means silence.
    if (fromTimer && !this.#running) return sample;
    this.#last = sample;
    this.#emit('sample', sample);
    if (sample.aboveThreshold) this.#emit('warning', sample);
    if (sample.evictedDelta > 0) this.#emit('evictions', sample);
    return sample;
  }

  #toSample(info: Record<string, string>): RedisMemorySample {
    const used = infoNumber(info, 'used_memory');
    if (used === null) {
      throw new MemoryCheckError(
        'Redis INFO memory has no used_memory field (is this a Redis server?)',
      );
    }
    const max = infoNumber(info, 'maxmemory');
    const maxBytes = max === null || max <= 0 ? null : max;
    const usageRatio = maxBytes === null ? null : used / maxBytes;
    const evictedKeys = infoNumber(info, 'evicted_keys') ?? 0;
    const previous = this.#lastEvicted;
    const evictedDelta =
      previous === undefined ? 0 : evictedKeys >= previous ? evictedKeys - previous : evictedKeys;
    this.#lastEvicted = evictedKeys;
    return {
      time: this.#clock(),
      usedBytes: used,
      rssBytes: infoNumber(info, 'used_memory_rss'),
      peakBytes: infoNumber(info, 'used_memory_peak'),
      maxBytes,
      usageRatio,
      fragmentation: infoNumber(info, 'mem_fragmentation_ratio'),
      evictedKeys,
      evictedDelta,
      policy: info.maxmemory_policy ?? 'unknown',
      aboveThreshold: usageRatio !== null && usageRatio > this.threshold,
    };
  }

  #emit<E extends RedisMemoryMonitorEvent>(event: E, payload: RedisMemoryMonitorEvents[E]): void {
    for (const listener of this.#listeners[event]) {
      try {
        (listener as (payload: RedisMemoryMonitorEvents[E]) => void)(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
