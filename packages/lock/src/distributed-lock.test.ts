import { afterEach, describe, expect, it, vi } from 'vitest';
import { DistributedLock } from './distributed-lock.js';
import { LockNotAcquiredError } from './errors.js';
import type { DistributedLockOptions } from './options.js';
import { scriptedClient } from './test-support/scripted-client.js';

const quietLogger = () => ({ warn: vi.fn(), error: vi.fn() });

/** Every attempt finds the lock held by someone else. */
const alwaysHeld = () => scriptedClient(() => 0);

/**
 * A fake clock advanced only by the injected sleep, which records every retry wait. Waits
 * that come with a signal (the watchdog's) are parked until the signal aborts: these tests
 * are about acquisition, `lock.test.ts` is about the watchdog.
 */
function virtualTime() {
  let now = 0;
  const waits: number[] = [];
  const clock = () => now;
  return {
    waits,
    clock,
    /** The lock options that plug this clock and sleep in. */
    options: {
      clock,
      sleep: async (ms: number, signal?: AbortSignal) => {
        if (signal !== undefined) {
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          return;
        }
        waits.push(ms);
        now += ms;
      },
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function locks(options: Partial<DistributedLockOptions> & Pick<DistributedLockOptions, 'client'>) {
  return new DistributedLock({ logger: quietLogger(), ...options });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('acquire retries', () => {
  it('waits the guide’s schedule (100 ms doubling, capped at 5 s), then fails after 11 attempts', async () => {
    const time = virtualTime();
    const redis = alwaysHeld();
    const l = locks({ client: redis.client, ...time.options, retry: { jitter: 0 } });

    const error = await l.acquire('report').catch((e: unknown) => e);

    expect(time.waits).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
    expect(redis.count('acquire')).toBe(11);
    expect(error).toBeInstanceOf(LockNotAcquiredError);
    expect(error).toMatchObject({
      code: 'E_LOCK_NOT_ACQUIRED',
      attempts: 11,
      resource: 'report',
      message: 'Could not acquire lock "report" after 11 attempts: held by another holder',
    });
  });

  it('caps every wait at maxDelay', async () => {
    const time = virtualTime();
    const l = locks({
      client: alwaysHeld().client,
      ...time.options,
      retry: { retries: 6, baseDelay: 10, factor: 10, maxDelay: 2_500, jitter: 0 },
    });

    await expect(l.acquire('report')).rejects.toThrow(LockNotAcquiredError);

    expect(time.waits).toEqual([10, 100, 1000, 2500, 2500, 2500]);
  });

  it('shortens each wait by a random fraction of up to `jitter`', async () => {
    const time = virtualTime();
    const l = locks({
      client: alwaysHeld().client,
      ...time.options,
      random: () => 0.5,
      retry: { retries: 3, jitter: 0.2 },
    });

    await expect(l.acquire('report')).rejects.toThrow(LockNotAcquiredError);

    expect(time.waits).toEqual([90, 180, 360]);
  });

  it('cuts the last wait short at the deadline, makes one last attempt there, then fails', async () => {
    const time = virtualTime();
    const redis = alwaysHeld();
    const l = locks({
      client: redis.client,
      ...time.options,
      retry: { jitter: 0, deadline: 1_000 },
    });

    const error = await l.acquire('report').catch((e: unknown) => e);

    expect(time.waits).toEqual([100, 200, 400, 300]);
    expect(time.clock()).toBe(1_000);
    expect(error).toMatchObject({ code: 'E_LOCK_NOT_ACQUIRED', attempts: 5 });
  });

  it('counts the time attempts take against the deadline', async () => {
    const time = virtualTime();
    const redis = scriptedClient(() => {
      time.advance(400); // a slow server
      return 0;
    });
    const l = locks({
      client: redis.client,
      ...time.options,
      retry: { jitter: 0, deadline: 1_000 },
    });

    await expect(l.acquire('report')).rejects.toMatchObject({ attempts: 3 });
    expect(time.waits).toEqual([100, 100]);
  });

  it('tries once and does not wait with retries: 0', async () => {
    const time = virtualTime();
    const l = locks({ client: alwaysHeld().client, ...time.options });

    await expect(l.acquire('report', { retry: { retries: 0 } })).rejects.toMatchObject({
      attempts: 1,
      message: 'Could not acquire lock "report" after 1 attempt: held by another holder',
    });
    expect(time.waits).toEqual([]);
  });

  it('retries through Redis errors and keeps the last one as the cause', async () => {
    const time = virtualTime();
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    const redis = scriptedClient(() => Promise.reject(refused));
    const l = locks({ client: redis.client, ...time.options, retry: { retries: 2 } });

    const error = await l.acquire('report').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LockNotAcquiredError);
    expect((error as Error).cause).toBe(refused);
    expect((error as Error).message).toContain('Redis failed: connect ECONNREFUSED');
  });

  it('acquires on a later attempt once the holder is gone', async () => {
    const time = virtualTime();
    let attempts = 0;
    const redis = scriptedClient(({ script }) => (script === 'acquire' && ++attempts < 3 ? 0 : 7));
    const l = locks({ client: redis.client, ...time.options, autoExtend: false });

    const lock = await l.acquire('report');

    expect(lock.fencingToken).toBe(7);
    expect(time.waits).toHaveLength(2);
  });

  it('waits on real (fake) timers by default: no second attempt before 100 ms', async () => {
    vi.useFakeTimers();
    const redis = alwaysHeld();
    const l = locks({ client: redis.client, clock: () => Date.now(), retry: { jitter: 0 } });
    const pending = l.acquire('report').catch((e: unknown) => e);

    await vi.advanceTimersByTimeAsync(99);
    expect(redis.count('acquire')).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(redis.count('acquire')).toBe(2);
    await vi.runAllTimersAsync();
    expect(await pending).toBeInstanceOf(LockNotAcquiredError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops waiting when the signal aborts, with the signal’s reason', async () => {
    vi.useFakeTimers();
    const redis = alwaysHeld();
    const l = locks({ client: redis.client, clock: () => Date.now() });
    const controller = new AbortController();
    const pending = l.acquire('report', { signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(50);

    controller.abort(new Error('shutting down'));

    expect(await pending).toMatchObject({ message: 'shutting down' });
    expect(redis.count('acquire')).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('acquire validity', () => {
  it('trusts the lock until ttl less the drift allowance, from before the command was sent', async () => {
    const time = virtualTime();
    time.advance(1_000);
    const redis = scriptedClient(() => {
      time.advance(5); // round trip
      return 1;
    });
    const l = locks({ client: redis.client, ...time.options, ttl: 30_000, autoExtend: false });

    const lock = await l.acquire('report');

    // 30_000 × 0.01 + 2 = 302 ms of drift allowance.
    expect(lock.expiresAt).toBe(1_000 + 30_000 - 302);
  });

  it('gives back a lock that took longer than its validity to acquire, and retries', async () => {
    const time = virtualTime();
    let slow = true;
    const redis = scriptedClient(({ script }) => {
      if (script === 'acquire' && slow) {
        slow = false;
        time.advance(1_000); // the lock (ttl 1000) is already expired when the reply arrives
      }
      return 1;
    });
    const l = locks({ client: redis.client, ...time.options, ttl: 1_000, autoExtend: false });

    const lock = await l.acquire('report');

    expect(redis.calls.map((c) => c.script)).toEqual(['acquire', 'release', 'acquire']);
    expect(redis.calls[1]!.args[0]).toBe(redis.calls[0]!.args[0]); // its own token
    expect(lock.token).toBe(redis.calls[2]!.args[0]);
  });

  it('sends a fresh 16-byte token from randomBytes with every attempt', async () => {
    const time = virtualTime();
    const redis = scriptedClient(({ script }) => (script === 'acquire' ? 0 : 1));
    let fill = 0;
    const l = locks({
      client: redis.client,
      ...time.options,
      retry: { retries: 1 },
      randomBytes: (size) => new Uint8Array(size).fill(++fill),
    });

    await expect(l.acquire('report')).rejects.toThrow(LockNotAcquiredError);

    const tokens = redis.calls.map((c) => c.args[0] as string);
    expect(tokens.map((t) => [...Buffer.from(t, 'base64url')])).toEqual([
      Array(16).fill(1),
      Array(16).fill(2),
    ]);
  });
});

describe('Redlock quorum', () => {
  it('holds the lock with a majority and returns the highest fencing counter', async () => {
    const time = virtualTime();
    const servers = [scriptedClient(() => 4), scriptedClient(() => 0), scriptedClient(() => 9)];
    const l = locks({ client: servers.map((s) => s.client), ...time.options, autoExtend: false });

    const lock = await l.acquire('report');

    expect(lock.fencingToken).toBe(9);
    // The counter that was behind is raised, so the next quorum counts past 9.
    expect(servers[0]!.calls.at(-1)).toMatchObject({ script: 'raise-fence', args: [9] });
    expect(servers[2]!.count('raise-fence')).toBe(0);
  });

  it('gives back a minority and retries', async () => {
    const time = virtualTime();
    const servers = [
      scriptedClient(({ script }) => (script === 'acquire' ? 1 : 1)),
      scriptedClient(() => 0),
      scriptedClient(() => Promise.reject(new Error('ECONNREFUSED'))),
    ];
    const l = locks({
      client: servers.map((s) => s.client),
      ...time.options,
      retry: { retries: 1 },
    });

    const error = await l.acquire('report').catch((e: unknown) => e);

    expect(error).toMatchObject({
      attempts: 2,
      message: expect.stringContaining('1 of 3 instances granted it (2 needed), 1 failed'),
    });
    expect(servers[0]!.calls.map((c) => c.script)).toEqual([
      'acquire',
      'release',
      'acquire',
      'release',
    ]);
  });
});
