import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DistributedLock } from './distributed-lock.js';
import { LockExtendError, LockLostError, LockReleaseError } from './errors.js';
import type { DistributedLockOptions } from './options.js';
import { type ScriptName, scriptedClient } from './test-support/scripted-client.js';

/** What the stand-in server answers, per script; change it mid-test to break things. */
type Answers = Record<ScriptName, () => number | Promise<number>>;

function setup(options: Partial<DistributedLockOptions> = {}) {
  const answers: Answers = {
    acquire: () => 1,
    extend: () => 1,
    release: () => 1,
    'raise-fence': () => 1,
  };
  const redis = scriptedClient(({ script }) => answers[script]());
  const logger = { warn: vi.fn(), error: vi.fn() };
  const locks = new DistributedLock({
    client: redis.client,
    clock: () => Date.now(),
    ttl: 3_000,
    logger,
    ...options,
  });
  return { answers, redis, logger, locks };
}

const redisDown = () => Promise.reject(new Error('connect ECONNREFUSED'));

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('auto-extension', () => {
  it('extends the lock with its ttl every ttl / 3 while it is held', async () => {
    const { redis, locks } = setup();
    const lock = await locks.acquire('report');

    await vi.advanceTimersByTimeAsync(999);
    expect(redis.count('extend')).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(redis.count('extend')).toBe(1);
    await vi.advanceTimersByTimeAsync(9_000); // three times the ttl
    expect(redis.count('extend')).toBe(10);
    expect(redis.calls.at(-1)).toMatchObject({ script: 'extend', args: [lock.token, 3_000] });
    expect(lock.signal.aborted).toBe(false);
    expect(lock.expiresAt).toBe(Date.now() + 3_000 - 32);
  });

  it('extends every extendInterval when it is set', async () => {
    const { redis, locks } = setup({ extendInterval: 250 });
    await locks.acquire('report');

    await vi.advanceTimersByTimeAsync(1_000);

    expect(redis.count('extend')).toBe(4);
  });

  it('aborts the signal with LockLostError when an extension finds the lock gone', async () => {
    const { answers, redis, locks } = setup();
    const lock = await locks.acquire('report');
    answers.extend = () => 0; // the key expired or another holder took it

    await vi.advanceTimersByTimeAsync(1_000);

    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(lock.signal.reason).toMatchObject({ code: 'E_LOCK_LOST', resource: 'report' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(redis.count('extend')).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('retries failed extensions sooner and declares the lock lost when it expires', async () => {
    const { answers, logger, locks } = setup();
    const lock = await locks.acquire('report');
    const expiresAt = lock.expiresAt;
    answers.extend = redisDown;

    await vi.advanceTimersByTimeAsync(expiresAt - Date.now() - 1);
    expect(lock.signal.aborted).toBe(false);
    expect(logger.warn).toHaveBeenCalledWith(
      'Could not extend lock "report"; retrying',
      expect.objectContaining({ error: expect.any(Error) }),
    );
    await vi.advanceTimersByTimeAsync(1);

    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    const cause = (lock.signal.reason as Error).cause;
    expect(cause).toBeInstanceOf(LockExtendError);
    expect((cause as Error).cause).toMatchObject({ message: 'connect ECONNREFUSED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the lock when an extension fails once and the retry succeeds', async () => {
    const { answers, locks } = setup();
    const lock = await locks.acquire('report');
    answers.extend = redisDown;
    await vi.advanceTimersByTimeAsync(1_000);
    answers.extend = () => 1;

    await vi.advanceTimersByTimeAsync(10_000);

    expect(lock.signal.aborted).toBe(false);
  });

  it('stops on release: no more extensions and no timer left behind', async () => {
    const { redis, locks } = setup();
    const lock = await locks.acquire('report');
    await vi.advanceTimersByTimeAsync(1_500);

    expect(await lock.release()).toBe(true);

    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(redis.count('extend')).toBe(1);
    expect(lock.signal.aborted).toBe(false);
  });

  it('does not report a loss when the lock is released while an extension is in flight', async () => {
    const { answers, locks } = setup();
    const lock = await locks.acquire('report');
    let answerExtend: (reply: number) => void = () => {};
    answers.extend = () => new Promise((resolve) => (answerExtend = resolve));
    await vi.advanceTimersByTimeAsync(1_000);

    await lock.release();
    answerExtend(0); // the release deleted the key before the extension ran
    await vi.advanceTimersByTimeAsync(0);

    expect(lock.signal.aborted).toBe(false);
  });
});

describe('without auto-extension', () => {
  it('never extends, and aborts the signal when the lock expires', async () => {
    const { redis, locks } = setup({ autoExtend: false });
    const lock = await locks.acquire('report');

    await vi.advanceTimersByTimeAsync(lock.expiresAt - Date.now() - 1);
    expect(lock.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(redis.count('extend')).toBe(0);
  });

  it('moves the expiry when extended by hand', async () => {
    const { locks } = setup({ autoExtend: false });
    const lock = await locks.acquire('report');
    await vi.advanceTimersByTimeAsync(2_000);

    const expiresAt = await locks.extend(lock, 10_000);
    await vi.advanceTimersByTimeAsync(8_000);

    expect(expiresAt).toBe(lock.expiresAt);
    expect(lock.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(expiresAt - Date.now());
    expect(lock.signal.aborted).toBe(true);
  });
});

describe('release and extend outcomes', () => {
  it('release resolves false when the lock was not ours any more', async () => {
    const { answers, locks } = setup();
    const lock = await locks.acquire('report');
    answers.release = () => 0;

    expect(await locks.release(lock)).toBe(false);
  });

  it('release rejects with LockReleaseError when Redis fails, and can be retried', async () => {
    const { answers, locks } = setup();
    const lock = await locks.acquire('report');
    answers.release = redisDown;

    await expect(lock.release()).rejects.toBeInstanceOf(LockReleaseError);
    answers.release = () => 1;
    expect(await lock.release()).toBe(true);
  });

  it('extend rejects with LockExtendError when Redis fails, without declaring a loss', async () => {
    const { answers, locks } = setup({ autoExtend: false });
    const lock = await locks.acquire('report');
    answers.extend = redisDown;

    await expect(lock.extend()).rejects.toMatchObject({
      code: 'E_LOCK_EXTEND',
      cause: expect.objectContaining({ message: 'connect ECONNREFUSED' }),
    });
    expect(lock.signal.aborted).toBe(false);
  });

  it('extend rejects with LockLostError after release', async () => {
    const { locks } = setup();
    const lock = await locks.acquire('report');
    await lock.release();

    await expect(lock.extend()).rejects.toBeInstanceOf(LockLostError);
  });

  it('`await using` logs a failed release instead of throwing', async () => {
    const { answers, logger, locks } = setup();
    answers.release = redisDown;
    {
      await using lock = await locks.acquire('report');
      expect(lock.resource).toBe('report');
    }

    expect(logger.warn).toHaveBeenCalledWith(
      'Could not release lock "report"; it will expire',
      expect.objectContaining({ error: expect.any(LockReleaseError) }),
    );
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('executeWithLock', () => {
  it('resolves what fn returns, releases once and leaves no timer behind', async () => {
    const { redis, locks } = setup();

    const result = await locks.executeWithLock('report', async ({ fencingToken }) => fencingToken);

    expect(result).toBe(1);
    expect(redis.count('release')).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the error fn threw, after releasing', async () => {
    const { redis, locks } = setup();

    await expect(
      locks.executeWithLock('report', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(redis.count('release')).toBe(1);
  });

  it('aborts fn’s signal on loss, waits for fn to settle, then rejects with LockLostError', async () => {
    const { answers, locks } = setup();
    let settled = false;
    const run = locks
      .executeWithLock('report', async ({ signal }) => {
        answers.extend = () => 0;
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        await new Promise((resolve) => setTimeout(resolve, 500)); // cleaning up
        return 'cleaned up';
      })
      .finally(() => {
        settled = true;
      });
    const outcome = run.catch((e: unknown) => e);

    await vi.advanceTimersByTimeAsync(1_000); // the extension finds the lock gone
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(500);

    expect(await outcome).toBeInstanceOf(LockLostError);
  });

  it('rejects with LockLostError when the final release finds the lock not ours', async () => {
    const { answers, locks } = setup();
    answers.release = () => 0; // expired while fn ran (a paused process)

    await expect(locks.executeWithLock('report', async () => 'done')).rejects.toMatchObject({
      code: 'E_LOCK_LOST',
      message: expect.stringContaining('no longer held when released'),
    });
  });

  it('resolves, and logs, when only the final release fails', async () => {
    const { answers, logger, locks } = setup();
    answers.release = redisDown;

    expect(await locks.executeWithLock('report', async () => 'done')).toBe('done');
    expect(logger.warn).toHaveBeenCalledWith(
      'Could not release lock "report"; it will expire',
      expect.objectContaining({ error: expect.any(LockReleaseError) }),
    );
  });

  it('prefers LockLostError over another error of fn after a loss, and logs that error', async () => {
    const { answers, logger, locks } = setup();
    const run = locks
      .executeWithLock('report', async ({ signal }) => {
        answers.extend = () => 0;
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        throw new Error('write failed');
      })
      .catch((e: unknown) => e);

    await vi.advanceTimersByTimeAsync(1_000);

    expect(await run).toBeInstanceOf(LockLostError);
    expect(logger.warn).toHaveBeenCalledWith(
      'Function under lost lock "report" also failed',
      expect.objectContaining({ error: expect.objectContaining({ message: 'write failed' }) }),
    );
  });
});
