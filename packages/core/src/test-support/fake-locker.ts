import type { Locker, LockerAcquireOptions, LockerLease } from '../locker.js';

/** What `@tiercache/lock` rejects with when another holder has the lock (no `cause`). */
export class FakeLockBusyError extends Error {
  readonly code = 'E_LOCK_NOT_ACQUIRED';
  override readonly name = 'FakeLockBusyError';
}

/** A locker failure, like `E_LOCK_NOT_ACQUIRED` with a Redis error as `cause`. */
export class FakeLockerError extends Error {
  readonly code = 'E_FAKE_LOCKER';
  override readonly name = 'FakeLockerError';
}

/**
 * An in-memory {@link Locker} shared by several managers (each standing for a process), with
 * lock expiry read from an injected clock, so fake timers drive it. Test-only.
 */
export class FakeLocker implements Locker {
  /** Every `acquire` call, in order. */
  readonly calls: Array<{ resource: string; options: LockerAcquireOptions }> = [];
  /** Resources released by their holder, in order. */
  readonly released: string[] = [];
  /** How a busy lock is reported: rejected like `DistributedLock`, or resolved `undefined`. */
  busyAs: 'reject' | 'undefined' = 'reject';
  /** While set, every `acquire` rejects with a {@link FakeLockerError}. */
  failing = false;
  /** Milliseconds each `acquire` takes to answer (a `setTimeout`). */
  latencyMs = 0;
  /** Called when a holder releases, before the lock is freed. */
  onRelease: ((resource: string) => void) | undefined;
  private readonly held = new Map<string, { token: number; expiresAt: number }>();
  private nextToken = 0;

  constructor(private readonly clock: () => number = () => Date.now()) {}

  acquire(resource: string, options: LockerAcquireOptions): Promise<LockerLease | undefined> {
    this.calls.push({ resource, options });
    if (this.latencyMs === 0) return Promise.resolve().then(() => this.attempt(resource, options));
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        this.attempt(resource, options).then(resolve, reject);
      }, this.latencyMs);
    });
  }

  /** Whether `resource` is locked now. */
  isHeld(resource: string): boolean {
    const lock = this.held.get(resource);
    return lock !== undefined && this.clock() < lock.expiresAt;
  }

  /** Locks `resource` for `ttl` ms as a process that then dies: it is never released. */
  holdAsDeadProcess(resource: string, ttl: number): void {
    this.held.set(resource, { token: ++this.nextToken, expiresAt: this.clock() + ttl });
  }

  private attempt(
    resource: string,
    { ttl }: LockerAcquireOptions,
  ): Promise<LockerLease | undefined> {
    if (this.failing) return Promise.reject(new FakeLockerError('locker down'));
    if (this.isHeld(resource)) {
      if (this.busyAs === 'undefined') return Promise.resolve(undefined);
      return Promise.reject(new FakeLockBusyError(`"${resource}" is held by another holder`));
    }
    const token = ++this.nextToken;
    this.held.set(resource, { token, expiresAt: this.clock() + ttl });
    return Promise.resolve({
      release: async () => {
        if (this.held.get(resource)?.token !== token) return false;
        this.onRelease?.(resource);
        this.held.delete(resource);
        this.released.push(resource);
        return true;
      },
    });
  }
}
