import { retryDelay } from './backoff.js';
import {
  InvalidOptionsError,
  InvalidResourceError,
  LockLostError,
  LockNotAcquiredError,
} from './errors.js';
import { Instances, type Replies } from './instances.js';
import { HeldLock, type Lock, type LockRuntime } from './lock.js';
import {
  type AcquireOptions,
  type CallSettings,
  type DistributedLockOptions,
  defaultCallSettings,
  type ResolvedOptions,
  resolveCallSettings,
  resolveOptions,
} from './options.js';
import { ACQUIRE, RAISE_FENCE, RELEASE } from './scripts.js';

/** What `executeWithLock` passes to the function it runs under the lock. */
export interface LockContext {
  /**
   * Aborts, with a {@link LockLostError} as its reason, when the lock is lost while the
   * function runs. Pass it on (fetch, database drivers) or check it between steps.
   */
  readonly signal: AbortSignal;
  /** The lock's fencing token: send it with every write to the protected resource. */
  readonly fencingToken: number;
  /** The lock itself, e.g. to read `expiresAt` or extend it by hand. */
  readonly lock: Lock;
}

/** Options of one `executeWithLock` call. */
export type ExecuteOptions = AcquireOptions;

const TOKEN_BYTES = 16;
const CLOSE_BRACE = 125;

/** The outcome of one acquisition attempt. */
type Attempt = HeldLock | { reason: string; error: Error | undefined };

/**
 * Distributed locks on Redis: a random token per acquisition (only the holder can release or
 * extend), a fencing token per acquisition, automatic extension with a lock-lost signal,
 * retries with exponential backoff and jitter, and Redlock when given several independent
 * Redis servers.
 *
 * @example
 * const locks = new DistributedLock({ client: new Redis() });
 * await locks.executeWithLock('report:daily', async ({ signal, fencingToken }) => {
 *   await buildReport({ signal, fencingToken });
 * });
 */
export class DistributedLock {
  readonly #options: ResolvedOptions;
  readonly #defaults: CallSettings;
  readonly #instances: Instances;
  readonly #runtime: LockRuntime;

  /** @throws {InvalidOptionsError} an option is invalid; the message names it. */
  constructor(options: DistributedLockOptions) {
    const o = resolveOptions(options);
    this.#options = o;
    this.#defaults = defaultCallSettings(o);
    this.#instances = new Instances(o.clients, o.commandTimeout);
    this.#runtime = {
      instances: this.#instances,
      clock: o.clock,
      sleep: o.watchdogSleep,
      logger: o.logger,
      driftFactor: o.driftFactor,
      commandTimeout: o.commandTimeout,
    };
  }

  /**
   * Acquires the lock on `resource`, retrying with backoff while another holder has it.
   * With `autoExtend` (the default) the lock is extended until released: release it, ideally
   * with `await using lock = await locks.acquire(resource)`.
   *
   * @throws {LockNotAcquiredError} every attempt failed (`attempts` says how many).
   * @throws {InvalidResourceError} `resource` is empty or not a string.
   * @throws {InvalidOptionsError} a per-call option is invalid.
   * Rejects with `options.signal`'s reason when it aborts while waiting.
   */
  async acquire(resource: string, options?: AcquireOptions): Promise<Lock> {
    const settings =
      options === undefined
        ? this.#defaults
        : resolveCallSettings(this.#options, this.#defaults, options);
    const key = this.#keyOf(resource);
    const { clock, random, sleep } = this.#options;
    const { retry, signal } = settings;
    const deadlineAt =
      retry.deadline === undefined ? Number.POSITIVE_INFINITY : clock() + retry.deadline;
    let attempts = 0;
    for (;;) {
      signal?.throwIfAborted();
      attempts++;
      const attempt = await this.#attempt(resource, key, settings);
      if (attempt instanceof HeldLock) return attempt;
      const remaining = deadlineAt - clock();
      if (attempts > retry.retries || remaining <= 0) {
        throw new LockNotAcquiredError(
          `Could not acquire lock "${resource}" after ${attempts} ` +
            `${attempts === 1 ? 'attempt' : 'attempts'}: ${attempt.reason}`,
          { resource, attempts },
          attempt.error === undefined ? undefined : { cause: attempt.error },
        );
      }
      const delay = retryDelay(attempts - 1, retry, random);
      await sleep(Math.min(delay, remaining), signal);
    }
  }

  /**
   * Same as `lock.release()`: `true` when the lock was still ours and is now released,
   * `false` when it was not ours any more (nothing deleted).
   * @throws {LockReleaseError} Redis did not answer; the lock will expire by itself.
   */
  async release(lock: Lock): Promise<boolean> {
    return asHeld(lock).release();
  }

  /**
   * Same as `lock.extend(ttl)`: resets the lock's remaining lifetime to `ttl` ms (default:
   * its acquisition ttl) and resolves the new `expiresAt`.
   * @throws {LockLostError} the lock is not ours any more.
   * @throws {LockExtendError} Redis did not answer; the lock may still be held until `expiresAt`.
   */
  async extend(lock: Lock, ttl?: number): Promise<number> {
    return asHeld(lock).extend(ttl);
  }

  /**
   * Runs `fn` while holding the lock on `resource`, extending the lock as `fn` runs
   * (`autoExtend`) and releasing it when `fn` settles.
   *
   * When the lock is lost while `fn` runs, `ctx.signal` aborts at once; `executeWithLock`
   * still waits for `fn` to settle (so nothing it started outlives the call), then rejects
   * with the {@link LockLostError}, whatever `fn` returned or threw. It also rejects with a
   * `LockLostError` when the final release finds the lock no longer ours (it expired while
   * `fn` ran, e.g. the process was paused): `fn`'s work was then not exclusive.
   *
   * @throws {LockNotAcquiredError} the lock could not be acquired; `fn` did not run.
   * @throws {LockLostError} the lock was lost before `fn` settled.
   */
  async executeWithLock<T>(
    resource: string,
    fn: (ctx: LockContext) => Promise<T> | T,
    options?: ExecuteOptions,
  ): Promise<T> {
    const lock = (await this.acquire(resource, options)) as HeldLock;
    let result: T | undefined;
    let failure: { error: unknown } | undefined;
    try {
      result = await fn({ signal: lock.signal, fencingToken: lock.fencingToken, lock });
    } catch (error) {
      failure = { error };
    }
    let released: boolean | undefined;
    try {
      released = await lock.release();
    } catch (error) {
      // Never lost as far as we know; the lock expires by itself.
      this.#options.logger.warn(`Could not release lock "${resource}"; it will expire`, { error });
    }
    const lost = lock.signal.aborted
      ? (lock.signal.reason as LockLostError)
      : released === false
        ? new LockLostError(
            `Lock "${resource}" was no longer held when released: it expired or was taken ` +
              'over while the function ran',
            { resource },
          )
        : undefined;
    if (lost !== undefined) {
      if (failure !== undefined && failure.error !== lost) {
        this.#options.logger.warn(`Function under lost lock "${resource}" also failed`, {
          error: failure.error,
        });
      }
      throw lost;
    }
    if (failure !== undefined) throw failure.error;
    return result as T;
  }

  #keyOf(resource: string): string {
    if (typeof resource !== 'string' || resource.length === 0) {
      throw new InvalidResourceError(
        `Invalid lock resource ${JSON.stringify(resource)}: expected a non-empty string`,
      );
    }
    const key = `${this.#options.prefix}{${resource}}`;
    // Cluster hashes the text between the first `{` and the next `}`; an empty tag hashes the
    // whole key, which would put the lock and its fencing counter in different slots.
    if (key.charCodeAt(key.indexOf('{') + 1) === CLOSE_BRACE) {
      throw new InvalidResourceError(
        `Invalid lock resource ${JSON.stringify(resource)}: it must not start with "}"`,
      );
    }
    return key;
  }

  #newToken(): string {
    const bytes = this.#options.randomBytes(TOKEN_BYTES);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  }

  /** One acquisition attempt on every instance; cleans up after itself when it fails. */
  async #attempt(resource: string, key: string, settings: CallSettings): Promise<Attempt> {
    const instances = this.#instances;
    const { clock, fencing } = this.#options;
    const { ttl, drift } = settings;
    const token = this.#newToken();
    const fenceKey = `${key}:fence`;
    const start = clock();
    const replies = await instances.run(
      ACQUIRE,
      [key, fenceKey],
      [token, ttl, fencing ? '1' : '0'],
    );
    let acquired = 0;
    let failed = 0;
    let fence = 0;
    let error: Error | undefined;
    for (const reply of replies) {
      if (typeof reply !== 'number') {
        failed++;
        error = reply;
      } else if (reply > 0) {
        acquired++;
        if (reply > fence) fence = reply;
      }
    }
    const expiresAt = start + ttl - drift;
    if (acquired >= instances.quorum && clock() < expiresAt) {
      if (fencing && instances.size > 1) await this.#raiseFences(replies, fence, fenceKey);
      if (clock() < expiresAt) {
        return new HeldLock(this.#runtime, {
          resource,
          key,
          token,
          fencingToken: fencing ? fence : 0,
          expiresAt,
          ttl,
          autoExtend: settings.autoExtend,
          extendInterval: settings.extendInterval,
        });
      }
    }
    // Undo what this attempt may hold: instances that granted it, and instances that failed
    // (a SET that timed out may still have landed). Not awaited: it deletes only this
    // attempt's token, so it cannot interfere with the next attempt, and a hung server would
    // otherwise cost every retry a second timeout.
    if (acquired > 0 || failed > 0) void instances.run(RELEASE, [key], [token]);
    return { reason: this.#whyNot(acquired, failed, error), error };
  }

  /**
   * Redlock: each instance counts separately, so the token handed out is the quorum's
   * maximum. Raising the lower counters of the quorum to it makes the next quorum (which
   * shares at least one of these instances) count past it.
   */
  async #raiseFences(replies: Replies, fence: number, fenceKey: string): Promise<void> {
    const behind: number[] = [];
    replies.forEach((reply, index) => {
      if (typeof reply === 'number' && reply > 0 && reply < fence) behind.push(index);
    });
    if (behind.length > 0) await this.#instances.runOn(behind, RAISE_FENCE, [fenceKey], [fence]);
  }

  #whyNot(acquired: number, failed: number, error: Error | undefined): string {
    const instances = this.#instances;
    if (instances.size === 1) {
      if (failed > 0) return `Redis failed: ${error?.message}`;
      return acquired > 0 ? 'acquired too late to be trusted' : 'held by another holder';
    }
    return (
      `${acquired} of ${instances.size} instances granted it (${instances.quorum} needed), ` +
      `${failed} failed${error === undefined ? '' : ` (last error: ${error.message})`}`
    );
  }
}

function asHeld(lock: Lock): HeldLock {
  if (!(lock instanceof HeldLock)) {
    throw new InvalidOptionsError('Invalid lock: expected a Lock returned by acquire()');
  }
  return lock;
}
