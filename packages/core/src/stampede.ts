import type { Loader, LoaderContext } from './cache-manager.js';
import type { Entry } from './entry.js';
import type { Emitter, StampedeFallbackEvent } from './events.js';
import type { Locker, LockerAcquireOptions, LockerLease } from './locker.js';
import type { GetOptions, StampedeOption, StampedeOptions } from './options.js';

/** Stampede settings of one miss, defaults applied. */
export interface StampedeSettings {
  readonly lockTtl: number;
  readonly waitTimeout: number;
  readonly pollInterval: number;
}

const DEFAULTS: StampedeSettings = { lockTtl: 10_000, waitTimeout: 5_000, pollInterval: 50 };

/** Each poll delay is this much longer than the previous one… */
const POLL_GROWTH = 1.5;
/** …up to this multiple of `pollInterval`. */
const MAX_POLL_FACTOR = 8;

/**
 * After a locker failure (its Redis is down), misses load without the lock for this long
 * instead of each paying the locker's timeout; the next miss after it tries the lock again.
 */
export const LOCKER_BYPASS_MS = 1_000;

/** The locker told us another holder has the lock. */
const BUSY = 0;
/** The locker failed; the error went to {@link Stampede.lockFailed}. */
const FAILED = 1;

const noop = (): void => {};

/**
 * What a protected load resolves to when its value is already in L2: stored by this process
 * as the lock holder (`durationMs`: the loader's duration), or loaded by another process and
 * read from L2 (`durationMs` undefined). The manager must not store it again.
 *
 * @internal
 */
export class StampedeResult {
  constructor(
    readonly value: unknown,
    readonly durationMs: number | undefined,
  ) {}
}

/**
 * The few manager internals the protocol needs.
 *
 * @internal
 */
export interface StampedeHost {
  readonly locker: Locker;
  readonly events: Emitter;
  clock(): number;
  /** The manager's shared L2 read: a usable entry (filling L1) or `undefined`. */
  readL2(key: string, options: GetOptions | undefined): Promise<Entry | undefined>;
  /**
   * Stores a value this process loaded, unless its load (identified by its `signal`) was
   * detached meanwhile (delete, set, clear, close). Resolves once the tiers are written, or
   * returns `undefined` when there is nothing to wait for.
   */
  store(
    key: string,
    signal: AbortSignal,
    value: unknown,
    options: GetOptions | undefined,
    durationMs: number,
  ): Promise<void> | undefined;
  /** Makes `close()` wait for a background promise (one that never rejects). */
  track(promise: Promise<unknown>): void;
  /** Logs a locker failure (throttled by the manager). */
  warn(message: string, key: string, error: unknown): void;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

/** `DistributedLock`'s "held by another holder"; with a `cause` it is a Redis failure. */
function isBusy(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'E_LOCK_NOT_ACQUIRED' &&
    (error as { cause?: unknown }).cause === undefined
  );
}

/** Field by field, so that `{ waitTimeout: undefined }` keeps the default. */
function merge(base: StampedeSettings, over: StampedeOptions): StampedeSettings {
  return {
    lockTtl: over.lockTtl ?? base.lockTtl,
    waitTimeout: over.waitTimeout ?? base.waitTimeout,
    pollInterval: over.pollInterval ?? base.pollInterval,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Stampede protection across processes. A miss (after the manager's in-process single flight,
 * so one process asks for at most one lock per key at a time) runs {@link Stampede.load}:
 *
 * - lock acquired: re-read L2 (a holder that just released may have filled it), else load,
 *   store, and release the lock only once L2 has the value, so that whoever takes the lock
 *   next finds it;
 * - lock taken: poll L2 (re-trying the lock after each empty poll) until the value appears,
 *   the lock is ours, or `waitTimeout` passes, then load without the lock (`timeout`);
 * - locker failure: load without the lock at once (`lock-error`), and skip the locker for
 *   {@link LOCKER_BYPASS_MS}.
 *
 * A dead holder therefore delays the others by at most `waitTimeout` (less when its lock
 * expires first), never forever.
 *
 * @internal
 */
export class Stampede {
  private readonly defaults: StampedeSettings;
  private readonly onByDefault: boolean;
  private bypassUntil = Number.NEGATIVE_INFINITY;
  private lastError: Error | undefined;

  constructor(
    private readonly host: StampedeHost,
    option: StampedeOption | undefined,
  ) {
    this.onByDefault = option !== false;
    this.defaults = typeof option === 'object' ? merge(DEFAULTS, option) : DEFAULTS;
  }

  /**
   * `loader` wrapped in the protocol, or `undefined` when this miss is not protected (the
   * call's or the manager's `stampede` is off). The wrapper may resolve a
   * {@link StampedeResult}, which the manager unwraps with {@link settleStampede}.
   */
  protect<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
  ): Loader<T> | undefined {
    const option = options?.stampede;
    let settings: StampedeSettings;
    if (option === undefined) {
      if (!this.onByDefault) return undefined;
      settings = this.defaults;
    } else if (option === false) {
      return undefined;
    } else {
      settings = option === true ? this.defaults : merge(this.defaults, option);
    }
    // The manager unwraps the StampedeResult before any caller sees it.
    return ((ctx: LoaderContext<T>) => this.load(key, loader, ctx, settings, options)) as Loader<T>;
  }

  private async load<T>(
    key: string,
    loader: Loader<T>,
    ctx: LoaderContext<T>,
    settings: StampedeSettings,
    options: GetOptions | undefined,
  ): Promise<unknown> {
    const host = this.host;
    const started = host.clock();
    if (started < this.bypassUntil) return this.fallback(key, loader, ctx, 'lock-error', 0);
    let lease = await this.tryLock(key, settings);
    if (lease === FAILED) return this.fallback(key, loader, ctx, 'lock-error', 0);
    if (lease === BUSY) {
      if (host.events.lists['stampede:wait'].length !== 0) {
        host.events.emit('stampede:wait', { key });
      }
      const deadline = started + settings.waitTimeout;
      const maxDelay = settings.pollInterval * MAX_POLL_FACTOR;
      let delay = settings.pollInterval;
      for (;;) {
        const remaining = deadline - host.clock();
        if (remaining <= 0) {
          return this.fallback(key, loader, ctx, 'timeout', host.clock() - started);
        }
        // Rejects when the load is aborted (hardTimeout, close): the wait counts towards it.
        await sleep(Math.min(delay, remaining), ctx.signal);
        delay = Math.min(delay * POLL_GROWTH, maxDelay);
        const entry = await host.readL2(key, options);
        if (entry !== undefined && host.clock() < entry.f) {
          return new StampedeResult(entry.v, undefined);
        }
        lease = await this.tryLock(key, settings);
        if (lease === FAILED) {
          return this.fallback(key, loader, ctx, 'lock-error', host.clock() - started);
        }
        if (lease !== BUSY) break;
      }
    }
    return this.loadHolding(key, loader, ctx, lease, options);
  }

  private async loadHolding<T>(
    key: string,
    loader: Loader<T>,
    ctx: LoaderContext<T>,
    lease: LockerLease,
    options: GetOptions | undefined,
  ): Promise<unknown> {
    const host = this.host;
    let releaseLater = false;
    try {
      const found = await host.readL2(key, options);
      if (found !== undefined && host.clock() < found.f) {
        return new StampedeResult(found.v, undefined);
      }
      const started = host.clock();
      const value = await loader(ctx);
      const durationMs = host.clock() - started;
      const written = host.store(key, ctx.signal, value, options, durationMs);
      if (written !== undefined) {
        releaseLater = true;
        // The callers get the value now; the lock goes once L2 has it (a write failure is
        // caught by the manager, so this always releases).
        host.track(written.then(() => this.release(key, lease)));
      }
      return new StampedeResult(value, durationMs);
    } finally {
      if (!releaseLater) host.track(this.release(key, lease));
    }
  }

  /** One attempt: the lease, {@link BUSY}, or {@link FAILED}. */
  private async tryLock(
    key: string,
    settings: StampedeSettings,
  ): Promise<LockerLease | typeof BUSY | typeof FAILED> {
    // Whole milliseconds: DistributedLock (like Redis PX) takes integers only.
    const ttl = Math.ceil(settings.lockTtl);
    const options: LockerAcquireOptions = { ttl, retry: { retries: 0 } };
    try {
      return (await this.host.locker.acquire(key, options)) ?? BUSY;
    } catch (error) {
      if (isBusy(error)) return BUSY;
      this.lockFailed(key, error);
      return FAILED;
    }
  }

  private lockFailed(key: string, error: unknown): void {
    this.lastError = toError(error);
    this.bypassUntil = this.host.clock() + LOCKER_BYPASS_MS;
    this.host.warn(
      `tiercache: stampede lock on "${key}" failed; loading without it (and without the lock for ${LOCKER_BYPASS_MS} ms)`,
      key,
      error,
    );
  }

  private fallback<T>(
    key: string,
    loader: Loader<T>,
    ctx: LoaderContext<T>,
    reason: StampedeFallbackEvent['reason'],
    waitedMs: number,
  ): T | Promise<T> {
    const events = this.host.events;
    if (events.lists['stampede:fallback'].length !== 0) {
      const error = this.lastError;
      events.emit(
        'stampede:fallback',
        reason === 'lock-error' && error !== undefined
          ? { key, reason, waitedMs, error }
          : { key, reason, waitedMs },
      );
    }
    // A plain value: the manager stores it as after any load.
    return loader(ctx);
  }

  private release(key: string, lease: LockerLease): Promise<void> {
    let released: Promise<unknown>;
    try {
      released = lease.release();
    } catch (error) {
      released = Promise.reject(error);
    }
    return Promise.resolve(released).then(noop, (error: unknown) =>
      this.host.warn(
        `tiercache: could not release the stampede lock on "${key}"; it expires by itself`,
        key,
        error,
      ),
    );
  }
}

/**
 * The value of a protected load for the manager's waiters. Emits `load` only when this
 * process ran the loader.
 *
 * @internal
 */
export function settleStampede(events: Emitter, key: string, result: StampedeResult): unknown {
  if (result.durationMs !== undefined && events.lists.load.length !== 0) {
    events.emit('load', { key, durationMs: result.durationMs });
  }
  return result.value;
}
