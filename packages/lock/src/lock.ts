import { InvalidOptionsError, LockExtendError, LockLostError, LockReleaseError } from './errors.js';
import { Instances } from './instances.js';
import type { LockLogger, Sleep } from './options.js';
import { EXTEND, RELEASE } from './scripts.js';

/**
 * A lock held on one resource, returned by `DistributedLock.acquire`. Release it when done
 * (`await lock.release()`, or `await using lock = await locks.acquire('x')`): with
 * `autoExtend` on, it is extended until then.
 */
export interface Lock extends AsyncDisposable {
  /** The resource name passed to `acquire`. */
  readonly resource: string;
  /** The Redis key of the lock: `${prefix}{${resource}}`. */
  readonly key: string;
  /** This acquisition's random token (16 random bytes, base64url), the value of the key. */
  readonly token: string;
  /**
   * Strictly greater than the token of every earlier holder of this resource (a per-resource
   * counter incremented in the same script that took the lock). Pass it to the resource you
   * protect and have it reject writes that carry a lower token than the highest it has seen:
   * a holder that was paused past its expiry then cannot overwrite a newer holder's work.
   * A plain `number`: exact up to 2^53 − 1 acquisitions (285 years at a million per second).
   * `0` when `fencing` is off. With Redlock the guarantee is weaker: see the README.
   */
  readonly fencingToken: number;
  /**
   * Until when (in the lock's `clock`, epoch ms by default) the lock can be trusted: the
   * Redis expiry less the drift allowance, measured from before the acquiring (or last
   * extending) command was sent. Moves forward with every extension.
   */
  readonly expiresAt: number;
  /**
   * Aborts, with a {@link LockLostError} as its reason, when the lock is known to be lost:
   * an extension found it gone, Redis stayed unreachable until `expiresAt`, or (without
   * `autoExtend`) `expiresAt` passed. Does not abort on `release`.
   */
  readonly signal: AbortSignal;
  /**
   * Deletes the lock if this holder still has it (compare-and-delete in one script).
   * Resolves `true` when it was ours and is now released, `false` when it was not ours any
   * more (expired, taken over, or already released): nothing was deleted then.
   * @throws {LockReleaseError} Redis did not answer (on a majority, for Redlock); the lock
   * expires by itself. Calling `release` again retries.
   */
  release(): Promise<boolean>;
  /**
   * Resets the lock's remaining lifetime to `ttl` ms (default: its acquisition `ttl`) if this
   * holder still has it, and resolves the new {@link Lock.expiresAt}.
   * @throws {LockLostError} the lock is not ours any more (the signal aborts too).
   * @throws {LockExtendError} Redis did not answer; the lock may still be held until `expiresAt`.
   * @throws {InvalidOptionsError} `ttl` is not a positive integer.
   */
  extend(ttl?: number): Promise<number>;
  /** `release()`, for `await using`; a {@link LockReleaseError} is logged, not thrown. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What every lock of one `DistributedLock` shares. */
export interface LockRuntime {
  readonly instances: Instances;
  readonly clock: () => number;
  readonly sleep: Sleep;
  readonly logger: LockLogger;
  readonly driftFactor: number;
  readonly commandTimeout: number;
}

/** Everything a lock knows about its acquisition. */
export interface LockGrant {
  readonly resource: string;
  readonly key: string;
  readonly token: string;
  readonly fencingToken: number;
  readonly expiresAt: number;
  readonly ttl: number;
  readonly autoExtend: boolean;
  readonly extendInterval: number;
}

const MAX_TIMER_MS = 2_147_483_647;

/** The {@link Lock} implementation, with its watchdog. */
export class HeldLock implements Lock {
  readonly resource: string;
  readonly key: string;
  readonly token: string;
  readonly fencingToken: number;
  readonly #runtime: LockRuntime;
  readonly #ttl: number;
  #expiresAt: number;
  #released = false;
  readonly #lost = new AbortController();
  /** Aborted on release or loss: ends the watchdog and clears its timer. */
  readonly #stop = new AbortController();

  constructor(runtime: LockRuntime, grant: LockGrant) {
    this.#runtime = runtime;
    this.resource = grant.resource;
    this.key = grant.key;
    this.token = grant.token;
    this.fencingToken = grant.fencingToken;
    this.#ttl = grant.ttl;
    this.#expiresAt = grant.expiresAt;
    this.#watch(grant.autoExtend, grant.extendInterval).catch((error: unknown) => {
      runtime.logger.error(`Lock watchdog of "${this.resource}" failed`, { error });
    });
  }

  get expiresAt(): number {
    return this.#expiresAt;
  }

  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  async release(): Promise<boolean> {
    if (this.#released) return false;
    // Before the command: an extension that now finds the key gone must not report a loss.
    this.#released = true;
    this.#stop.abort();
    const { instances } = this.#runtime;
    const tally = Instances.tally(await instances.run(RELEASE, [this.key], [this.token]));
    if (tally.done >= instances.quorum) return true;
    if (tally.refused > instances.size - instances.quorum) return false;
    this.#released = false;
    throw new LockReleaseError(
      `Could not release lock "${this.resource}": ${describe(tally, instances)}`,
      { cause: tally.error },
    );
  }

  async extend(ttl: number = this.#ttl): Promise<number> {
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TIMER_MS) {
      throw new InvalidOptionsError(
        `Invalid extend options: ttl: expected a positive integer number of ms, got ${ttl}`,
      );
    }
    return this.#extend(ttl, this.#runtime.commandTimeout);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.release();
    } catch (error) {
      this.#runtime.logger.warn(`Could not release lock "${this.resource}"; it will expire`, {
        error,
      });
    }
  }

  async #extend(ttl: number, timeout: number): Promise<number> {
    if (this.#released) {
      throw new LockLostError(`Lock "${this.resource}" was released`, { resource: this.resource });
    }
    // Once declared lost, always lost: the signal cannot be un-aborted.
    if (this.#lost.signal.aborted) throw this.#lost.signal.reason;
    const { instances, clock, driftFactor } = this.#runtime;
    const start = clock();
    const replies = await instances.run(EXTEND, [this.key], [this.token, ttl], timeout);
    const tally = Instances.tally(replies);
    const expiresAt = start + ttl - (ttl * driftFactor + 2);
    if (tally.done >= instances.quorum && clock() < expiresAt) {
      // Unconditional: a shorter ttl really does bring the Redis expiry forward.
      this.#expiresAt = expiresAt;
      return expiresAt;
    }
    if (tally.refused > instances.size - instances.quorum || tally.done >= instances.quorum) {
      const error = new LockLostError(
        tally.done >= instances.quorum
          ? `Lock "${this.resource}" was extended too late to be trusted`
          : `Lock "${this.resource}" is no longer held: it expired or was taken over`,
        { resource: this.resource },
      );
      this.#markLost(error);
      throw error;
    }
    throw new LockExtendError(
      `Could not extend lock "${this.resource}": ${describe(tally, instances)}`,
      { cause: tally.error },
    );
  }

  /** Declares the loss at expiry; `failure` is why the last extension failed, if it did. */
  #expired(failure: unknown): void {
    const message =
      failure === undefined
        ? `Lock "${this.resource}" expired before it could be extended`
        : `Lock "${this.resource}" could not be extended before it expired`;
    const options = failure === undefined ? undefined : { cause: failure };
    this.#markLost(new LockLostError(message, { resource: this.resource }, options));
  }

  #markLost(error: LockLostError): void {
    if (this.#released || this.#lost.signal.aborted) return;
    this.#stop.abort();
    this.#lost.abort(error);
  }

  /**
   * Extends the lock every `interval` ms; after a failed extension, retries sooner (half the
   * remaining validity) and declares the lock lost once `expiresAt` passes. Without
   * `autoExtend` it only declares the loss at `expiresAt`.
   */
  async #watch(autoExtend: boolean, interval: number): Promise<void> {
    const { clock, sleep, logger, commandTimeout } = this.#runtime;
    const stop = this.#stop.signal;
    let delay = autoExtend ? interval : this.#expiresAt - clock();
    /** Why the last extension failed, if it did: the cause of a loss at expiry. */
    let failure: unknown;
    for (;;) {
      try {
        await sleep(Math.max(delay, 0), stop);
      } catch {
        // A sleep may reject when aborted; the check below handles both.
      }
      if (stop.aborted) return;
      const remaining = this.#expiresAt - clock();
      if (remaining <= 0) {
        this.#expired(failure);
        return;
      }
      if (!autoExtend) {
        // Woken early, or extended by hand meanwhile: wait for the (new) expiry.
        delay = remaining;
        continue;
      }
      try {
        // Bounded by the remaining validity, so a hung Redis is declared lost at expiry.
        await this.#extend(this.#ttl, Math.max(1, Math.min(commandTimeout, Math.ceil(remaining))));
        delay = interval;
        failure = undefined;
      } catch (error) {
        if (stop.aborted) return;
        failure = error;
        const left = this.#expiresAt - clock();
        if (left <= 0) {
          this.#expired(error);
          return;
        }
        logger.warn(`Could not extend lock "${this.resource}"; retrying`, {
          error,
          remainingMs: left,
        });
        delay = Math.min(interval, left / 2);
      }
    }
  }
}

function describe(
  tally: { done: number; refused: number; failed: number; error: Error | undefined },
  instances: Instances,
): string {
  if (instances.size === 1) return tally.error?.message ?? 'no answer';
  return (
    `${tally.done} of ${instances.size} instances agreed (${instances.quorum} needed), ` +
    `${tally.refused} refused, ${tally.failed} failed` +
    (tally.error === undefined ? '' : ` (last error: ${tally.error.message})`)
  );
}
