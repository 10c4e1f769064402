import { z } from 'zod';
import { asError, type CacheWriter, checkedSet, withTtl } from './checked-set.js';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import type { CacheLogger, SetOptions } from './options.js';

/**
 * Where the scheduler gets its timers. Injectable (like TanStack Query's `timeoutManager`)
 * so tests drive it with fake timers; the default reads `globalThis.setTimeout` at call
 * time, so `vi.useFakeTimers()` works with it too.
 */
export interface TimerProvider {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The default {@link TimerProvider}. Its timers are `unref`'d: a scheduled refresh never
 * keeps a process alive on its own.
 */
export const defaultTimerProvider: TimerProvider = {
  setTimeout(callback, ms) {
    const handle = globalThis.setTimeout(callback, ms);
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
};

/** What a refresh job's `load` receives. */
export interface RefreshContext {
  /** The cache key being refreshed. */
  readonly key: string;
  /** Aborted by `stop({ abort: true })`. */
  readonly signal: AbortSignal;
}

/** One hot key refreshed periodically. */
export interface RefreshJob<T = unknown> {
  /** The cache key the value is stored under. One job per key. */
  readonly key: string;
  /**
   * Loads a fresh value from the source of truth. `undefined` means "nothing new" (the
   * cached value is left alone); `null` is stored as a negative entry.
   */
  readonly load: (ctx: RefreshContext) => T | Promise<T>;
  /**
   * Milliseconds between the end of one refresh and the start of the next (before jitter).
   * Keep the entry's TTL a few intervals long, so a failed refresh or two leave the old
   * value in place instead of a miss.
   */
  readonly interval: number;
  /**
   * Fresh TTL in milliseconds of the stored value (wins over `set.ttl`).
   * @default the manager's `ttl`
   */
  readonly ttl?: number;
  /**
   * Other `set` options (`maxStale`, `l1Ttl`…).
   * @default undefined
   */
  readonly set?: SetOptions;
  /**
   * Refresh soon after `start()` (within `jitter × interval`) instead of after a first
   * interval.
   * @default the scheduler's `runOnStart`
   */
  readonly runOnStart?: boolean;
}

/** Counters of one job (or, from `stats()` without a key, of all jobs summed). */
export interface RefreshStats {
  /** Refreshes finished (succeeded, failed or skipped). */
  readonly runs: number;
  /** Refreshes that stored a new value. */
  readonly successes: number;
  /** Refreshes whose load or store failed; the previous value was kept. */
  readonly failures: number;
  /** Refreshes whose load returned `undefined`. */
  readonly skipped: number;
  /** Failures since the last success (for a single job; the sum for all jobs). */
  readonly consecutiveFailures: number;
  /** The last failure's error, if the last run failed. */
  readonly lastError: Error | undefined;
  /** Clock time of the last success. */
  readonly lastSuccessAt: number | undefined;
  /** Duration of the last run in milliseconds. */
  readonly lastDurationMs: number | undefined;
}

/** How one refresh ended. */
export type RefreshOutcome =
  | { readonly status: 'stored'; readonly durationMs: number }
  | { readonly status: 'skipped'; readonly durationMs: number }
  | { readonly status: 'failed'; readonly error: Error; readonly durationMs: number };

/** Payload of the `refresh` event: a refresh stored (or skipped) a value. */
export interface RefreshSucceededEvent {
  readonly key: string;
  readonly status: 'stored' | 'skipped';
  readonly durationMs: number;
}

/** Payload of the `refresh:error` event: a refresh failed and the old value was kept. */
export interface RefreshFailedEvent {
  readonly key: string;
  readonly error: Error;
  readonly durationMs: number;
  readonly consecutiveFailures: number;
}

/** Events of {@link RefreshScheduler}. */
export interface RefreshSchedulerEvents {
  refresh: RefreshSucceededEvent;
  'refresh:error': RefreshFailedEvent;
}

/** Options of {@link RefreshScheduler}. */
export interface RefreshSchedulerOptions {
  /** The cache refreshed values are stored in (a `CacheManager`). */
  readonly cache: CacheWriter;
  /**
   * Jobs to schedule (more can be added with `add`).
   * @default []
   */
  readonly jobs?: readonly RefreshJob[];
  /**
   * Ratio in [0, 1]: each delay is shortened by a random fraction up to this, so jobs and
   * instances started together drift apart instead of hitting the database together.
   * @default 0.1
   */
  readonly jitter?: number;
  /**
   * Default of {@link RefreshJob.runOnStart}.
   * @default false
   */
  readonly runOnStart?: boolean;
  /**
   * Timer functions.
   * @default defaultTimerProvider (global timers, unref'd)
   */
  readonly timers?: TimerProvider;
  /**
   * Millisecond clock for durations and `lastSuccessAt`.
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * Random source in [0, 1) for jitter.
   * @default Math.random
   */
  readonly random?: () => number;
  /**
   * Where failed refreshes are logged (warn).
   * @default console
   */
  readonly logger?: CacheLogger;
}

/** Options of {@link RefreshScheduler.stop}. */
export interface RefreshStopOptions {
  /**
   * Abort the `signal` of refreshes in flight (they are still awaited).
   * @default false
   */
  readonly abort?: boolean;
}

interface JobState {
  readonly job: RefreshJob;
  readonly setOptions: SetOptions | undefined;
  timer: unknown;
  hasTimer: boolean;
  inFlight: Promise<RefreshOutcome> | undefined;
  controller: AbortController | undefined;
  removed: boolean;
  runs: number;
  successes: number;
  failures: number;
  skipped: number;
  consecutiveFailures: number;
  lastError: Error | undefined;
  lastSuccessAt: number | undefined;
  lastDurationMs: number | undefined;
}

const fnSchema = z.custom<(...args: never[]) => unknown>(
  (v) => typeof v === 'function',
  'expected a function',
);

const optionsSchema = z.strictObject({
  cache: z.custom<CacheWriter>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as CacheWriter).set === 'function' &&
      typeof (v as CacheWriter).on === 'function',
    'expected a CacheManager',
  ),
  jobs: z.array(z.unknown()).optional(),
  jitter: z.number().min(0).max(1).optional(),
  runOnStart: z.boolean().optional(),
  timers: z
    .custom<TimerProvider>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as TimerProvider).setTimeout === 'function' &&
        typeof (v as TimerProvider).clearTimeout === 'function',
      'expected { setTimeout, clearTimeout }',
    )
    .optional(),
  clock: fnSchema.optional(),
  random: fnSchema.optional(),
  logger: z
    .custom<CacheLogger>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as CacheLogger).warn === 'function' &&
        typeof (v as CacheLogger).error === 'function',
      'expected a logger with warn and error',
    )
    .optional(),
});

const jobSchema = z.object({
  key: z.string().min(1),
  load: fnSchema,
  // setTimeout fires after 1 ms for longer delays, which would run the job continuously.
  interval: z.number().positive().max(2_147_483_647),
  ttl: z.number().positive().finite().optional(),
  set: z.record(z.string(), z.unknown()).optional(),
  runOnStart: z.boolean().optional(),
});

function zodMessage(prefix: string, error: z.ZodError): string {
  const issue = error.issues[0];
  let field = issue?.path.join('.') ?? '';
  if (issue?.code === 'unrecognized_keys') field = issue.keys.join(', ');
  return `${prefix} "${field}": ${issue?.message}`;
}

const consoleLogger: CacheLogger = {
  warn: (message, meta) => console.warn(message, meta ?? ''),
  error: (message, meta) => console.error(message, meta ?? ''),
};

type Listener<K extends keyof RefreshSchedulerEvents> = (event: RefreshSchedulerEvents[K]) => void;

/**
 * Refreshes hot keys on a schedule, e.g. the guide's leaderboards every 1 and 5 minutes and
 * recent activity every 2 minutes, so readers never wait for those loads.
 *
 * - **Never overlaps with itself.** A job's next run is scheduled when the current one ends
 *   (fixed delay, not `setInterval`), and `refresh(key)` joins a run in flight.
 * - **Jittered.** Every delay is shortened by up to `jitter` of the interval, at random.
 * - **Keeps the old value on failure.** Nothing is written when `load` fails; the failure is
 *   counted (`stats`), emitted (`refresh:error`) and logged, and the next run is scheduled as
 *   usual. A value a tier failed to store counts as a failure too.
 * - **Stops cleanly.** `stop()` clears every timer and waits for refreshes in flight.
 *
 * @example
 * ```ts
 * const scheduler = new RefreshScheduler({ cache, jobs: [
 *   { key: 'leaderboard:daily', load: () => db.leaderboard('daily'), interval: 60_000, ttl: 5 * 60_000 },
 *   { key: 'leaderboard:weekly', load: () => db.leaderboard('weekly'), interval: 300_000, ttl: 15 * 60_000 },
 * ] });
 * scheduler.start();
 * // on shutdown:
 * await scheduler.stop();
 * ```
 */
export class RefreshScheduler {
  private readonly cache: CacheWriter;
  private readonly jitter: number;
  private readonly runOnStart: boolean;
  private readonly timers: TimerProvider;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly logger: CacheLogger;
  private readonly jobs = new Map<string, JobState>();
  private readonly listeners: { [K in keyof RefreshSchedulerEvents]: Listener<K>[] } = {
    refresh: [],
    'refresh:error': [],
  };
  private started = false;

  /** @throws {InvalidOptionsError} naming the offending field. */
  constructor(options: RefreshSchedulerOptions) {
    const result = optionsSchema.safeParse(options);
    if (!result.success) {
      throw new InvalidOptionsError(zodMessage('Invalid RefreshScheduler option', result.error), {
        cause: result.error,
      });
    }
    this.cache = options.cache;
    this.jitter = options.jitter ?? 0.1;
    this.runOnStart = options.runOnStart ?? false;
    this.timers = options.timers ?? defaultTimerProvider;
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? consoleLogger;
    for (const job of options.jobs ?? []) this.add(job as RefreshJob);
  }

  /** Whether `start()` was called and `stop()` was not. */
  get running(): boolean {
    return this.started;
  }

  /** The keys of the scheduled jobs. */
  keys(): string[] {
    return [...this.jobs.keys()];
  }

  /**
   * Adds a job; scheduled at once when the scheduler is running. Returns a function that
   * removes it.
   * @throws {InvalidOptionsError} a bad job, or a job for a key that already has one.
   */
  add<T>(job: RefreshJob<T>): () => boolean {
    const result = jobSchema.safeParse(job);
    if (!result.success) {
      throw new InvalidOptionsError(zodMessage('Invalid refresh job field', result.error), {
        cause: result.error,
      });
    }
    if (this.jobs.has(job.key)) {
      throw new InvalidOptionsError(`Invalid refresh job: key "${job.key}" is already scheduled`);
    }
    const state: JobState = {
      job: job as RefreshJob,
      setOptions: withTtl(job.set, job.ttl),
      timer: undefined,
      hasTimer: false,
      inFlight: undefined,
      controller: undefined,
      removed: false,
      runs: 0,
      successes: 0,
      failures: 0,
      skipped: 0,
      consecutiveFailures: 0,
      lastError: undefined,
      lastSuccessAt: undefined,
      lastDurationMs: undefined,
    };
    this.jobs.set(job.key, state);
    if (this.started) this.scheduleFirst(state);
    return () => this.jobs.get(job.key) === state && this.remove(job.key);
  }

  /**
   * Removes the job of `key`: no further runs (a run in flight finishes and may still
   * store its value). Returns whether there was one.
   */
  remove(key: string): boolean {
    const state = this.jobs.get(key);
    if (state === undefined) return false;
    this.clearTimer(state);
    state.removed = true;
    this.jobs.delete(key);
    return true;
  }

  /** Schedules every job (see {@link RefreshJob.runOnStart}). Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const state of this.jobs.values()) this.scheduleFirst(state);
  }

  /**
   * Refreshes `key` now, or joins the refresh of `key` already in flight (never two at
   * once). When running, the next scheduled run is counted from the end of this one.
   * Resolves with the outcome; never rejects for a failed load.
   * @throws {InvalidKeyError} no job has this key.
   */
  refresh(key: string): Promise<RefreshOutcome> {
    const state = this.jobs.get(key);
    if (state === undefined) {
      return Promise.reject(new InvalidKeyError(`No refresh job for key "${key}"`));
    }
    this.clearTimer(state);
    return this.run(state);
  }

  /**
   * Counters of the job of `key`, or of all jobs summed when `key` is omitted.
   * @throws {InvalidKeyError} no job has this key.
   */
  stats(key?: string): RefreshStats {
    if (key !== undefined) {
      const s = this.jobs.get(key);
      if (s === undefined) throw new InvalidKeyError(`No refresh job for key "${key}"`);
      return {
        runs: s.runs,
        successes: s.successes,
        failures: s.failures,
        skipped: s.skipped,
        consecutiveFailures: s.consecutiveFailures,
        lastError: s.lastError,
        lastSuccessAt: s.lastSuccessAt,
        lastDurationMs: s.lastDurationMs,
      };
    }
    let runs = 0;
    let successes = 0;
    let failures = 0;
    let skipped = 0;
    let consecutiveFailures = 0;
    for (const s of this.jobs.values()) {
      runs += s.runs;
      successes += s.successes;
      failures += s.failures;
      skipped += s.skipped;
      consecutiveFailures += s.consecutiveFailures;
    }
    return {
      runs,
      successes,
      failures,
      skipped,
      consecutiveFailures,
      lastError: undefined,
      lastSuccessAt: undefined,
      lastDurationMs: undefined,
    };
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof RefreshSchedulerEvents>(event: K, listener: Listener<K>): () => void {
    if (!Object.hasOwn(this.listeners, event)) {
      throw new InvalidOptionsError(`Unknown event "${String(event)}"`);
    }
    const list = this.listeners[event] as Listener<K>[];
    this.listeners[event] = [...list, listener] as (typeof this.listeners)[K];
    return () => {
      this.listeners[event] = (this.listeners[event] as Listener<K>[]).filter(
        (l) => l !== listener,
      ) as (typeof this.listeners)[K];
    };
  }

  /**
   * Clears every timer, then waits for the refreshes in flight (aborting their signals
   * with `{ abort: true }`). The scheduler can be started again afterwards.
   */
  stop(options: RefreshStopOptions = {}): Promise<void> {
    this.started = false;
    for (const state of this.jobs.values()) this.clearTimer(state);
    const inFlight: Promise<unknown>[] = [];
    for (const state of this.jobs.values()) {
      if (state.inFlight === undefined) continue;
      if (options.abort === true) state.controller?.abort(new Error('RefreshScheduler stopped'));
      inFlight.push(state.inFlight);
    }
    // A run ending after this point sees `started === false` and schedules nothing.
    return Promise.all(inFlight).then(() => undefined);
  }

  /** Same as `stop()`, for `await using scheduler = new RefreshScheduler(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private scheduleFirst(state: JobState): void {
    const { interval } = state.job;
    const runOnStart = state.job.runOnStart ?? this.runOnStart;
    this.schedule(
      state,
      runOnStart ? interval * this.jitter * this.random() : this.jittered(interval),
    );
  }

  private jittered(interval: number): number {
    return interval * (1 - this.jitter * this.random());
  }

  private schedule(state: JobState, delay: number): void {
    this.clearTimer(state);
    state.hasTimer = true;
    state.timer = this.timers.setTimeout(
      () => {
        state.hasTimer = false;
        state.timer = undefined;
        void this.run(state);
      },
      Math.max(0, Math.round(delay)),
    );
  }

  private clearTimer(state: JobState): void {
    if (!state.hasTimer) return;
    this.timers.clearTimeout(state.timer);
    state.hasTimer = false;
    state.timer = undefined;
  }

  private run(state: JobState): Promise<RefreshOutcome> {
    if (state.inFlight !== undefined) return state.inFlight;
    const controller = new AbortController();
    state.controller = controller;
    const promise = this.execute(state, controller.signal).then((outcome) => {
      state.inFlight = undefined;
      state.controller = undefined;
      if (this.started && !state.removed && !state.hasTimer) {
        this.schedule(state, this.jittered(state.job.interval));
      }
      return outcome;
    });
    state.inFlight = promise;
    return promise;
  }

  private async execute(state: JobState, signal: AbortSignal): Promise<RefreshOutcome> {
    const { key } = state.job;
    const started = this.clock();
    let outcome: RefreshOutcome;
    try {
      const value = await state.job.load({ key, signal });
      if (value === undefined) {
        outcome = { status: 'skipped', durationMs: this.clock() - started };
      } else {
        const failure = await checkedSet(this.cache, key, value, state.setOptions);
        if (failure !== undefined) throw failure;
        outcome = { status: 'stored', durationMs: this.clock() - started };
      }
    } catch (error) {
      outcome = { status: 'failed', error: asError(error), durationMs: this.clock() - started };
    }
    state.runs++;
    state.lastDurationMs = outcome.durationMs;
    if (outcome.status === 'failed') {
      state.failures++;
      state.consecutiveFailures++;
      state.lastError = outcome.error;
      this.logger.warn(`tiercache: refresh of "${key}" failed; the cached value is kept`, {
        key,
        error: outcome.error,
        consecutiveFailures: state.consecutiveFailures,
      });
      this.emit('refresh:error', {
        key,
        error: outcome.error,
        durationMs: outcome.durationMs,
        consecutiveFailures: state.consecutiveFailures,
      });
    } else {
      if (outcome.status === 'stored') {
        state.successes++;
        state.lastSuccessAt = this.clock();
      } else {
        state.skipped++;
      }
      state.consecutiveFailures = 0;
      state.lastError = undefined;
      this.emit('refresh', { key, status: outcome.status, durationMs: outcome.durationMs });
    }
    return outcome;
  }

  private emit<K extends keyof RefreshSchedulerEvents>(
    event: K,
    payload: RefreshSchedulerEvents[K],
  ): void {
    for (const listener of this.listeners[event] as Listener<K>[]) {
      try {
        listener(payload);
      } catch (error) {
        this.logger.error(`tiercache: a "${event}" listener threw`, { error });
      }
    }
  }
}
