import { setTimeout as delay } from 'node:timers/promises';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DistributedLock } from './distributed-lock.js';
import { LockLostError, LockNotAcquiredError } from './errors.js';
import type { DistributedLockOptions } from './options.js';
import { withLock } from './with-lock.js';

let server: RedisServer;
let client: Redis;
let raw: Redis;
let nextResource = 0;

function quietLogger() {
  return { warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
}

function locks(options: Partial<DistributedLockOptions> = {}): DistributedLock {
  return new DistributedLock({ client, logger: quietLogger(), ...options });
}

/** A resource no other test uses, so tests stay independent. */
const resource = (): string => `res-${++nextResource}`;

/** Resolves when `signal` aborts. */
const aborted = (signal: AbortSignal): Promise<unknown> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.options());
  raw = new Redis(server.options());
});

afterAll(async () => {
  client?.disconnect();
  raw?.disconnect();
  await server?.stop();
});

describe('acquire and release', () => {
  it('stores the token under the lock key with the ttl, and release deletes it', async () => {
    const lock = await locks({ ttl: 10_000 }).acquire('orders');

    expect(lock.key).toBe('lock:{orders}');
    expect(await raw.get(lock.key)).toBe(lock.token);
    expect(await raw.pttl(lock.key)).toBeGreaterThan(9_000);
    expect(await lock.release()).toBe(true);
    expect(await raw.exists(lock.key)).toBe(0);
  });

  it('gives every acquisition a different 128-bit token', async () => {
    const l = locks();
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const lock = await l.acquire('tokens');
      tokens.add(lock.token);
      await lock.release();
    }

    expect(tokens.size).toBe(20);
    for (const token of tokens) expect(Buffer.from(token, 'base64url')).toHaveLength(16);
  });

  it('keeps a second contender out until the holder releases', async () => {
    const name = resource();
    const l = locks();
    const held = await l.acquire(name);

    const rejected = l.acquire(name, { retry: { retries: 2, baseDelay: 10 } });
    await expect(rejected).rejects.toBeInstanceOf(LockNotAcquiredError);
    await expect(rejected).rejects.toMatchObject({ attempts: 3, resource: name });

    await held.release();
    const next = await l.acquire(name, { retry: { retries: 0 } });
    expect(next.resource).toBe(name);
    await next.release();
  });

  it('lets a waiting contender in as soon as the holder releases', async () => {
    const name = resource();
    const l = locks();
    const held = await l.acquire(name);
    const waiting = l.acquire(name, { retry: { baseDelay: 20, maxDelay: 20, retries: 100 } });
    setTimeout(() => void held.release(), 50);

    const next = await waiting;
    expect(await raw.get(next.key)).toBe(next.token);
    await next.release();
  });

  it('returns false when releasing a lock twice', async () => {
    const lock = await locks().acquire(resource());

    expect(await lock.release()).toBe(true);
    expect(await lock.release()).toBe(false);
  });

  it('releases the lock at the end of an `await using` block', async () => {
    const l = locks();
    const name = resource();
    let key = '';
    {
      await using lock = await l.acquire(name);
      key = lock.key;
      expect(await raw.exists(key)).toBe(1);
    }

    expect(await raw.exists(key)).toBe(0);
  });

  it('works again after the server forgets its scripts (NOSCRIPT → EVAL)', async () => {
    const l = locks();
    await (await l.acquire(resource())).release();
    await raw.script('FLUSH');

    const lock = await l.acquire(resource());
    expect(await lock.release()).toBe(true);
  });
});

describe('only the holder can release or extend', () => {
  it('does not delete a lock that another token now holds', async () => {
    const lock = await locks({ autoExtend: false }).acquire(resource());
    // The lock expired and someone else took it: the key now carries their token.
    await raw.set(lock.key, 'someone-else', 'PX', 10_000);

    expect(await lock.release()).toBe(false);
    expect(await raw.get(lock.key)).toBe('someone-else');
  });

  it('does not extend a lock that another token now holds, and reports it lost', async () => {
    const lock = await locks({ autoExtend: false }).acquire(resource());
    await raw.set(lock.key, 'someone-else', 'PX', 5_000);

    await expect(lock.extend(60_000)).rejects.toBeInstanceOf(LockLostError);
    expect(await raw.pttl(lock.key)).toBeLessThanOrEqual(5_000);
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
  });

  it('extends its own lock: the key gets the new ttl and expiresAt moves', async () => {
    const lock = await locks({ ttl: 2_000, autoExtend: false }).acquire(resource());
    const before = lock.expiresAt;

    const expiresAt = await lock.extend(60_000);

    expect(await raw.pttl(lock.key)).toBeGreaterThan(50_000);
    expect(expiresAt).toBe(lock.expiresAt);
    expect(lock.expiresAt).toBeGreaterThan(before + 50_000);
    await lock.release();
  });
});

describe('fencing tokens', () => {
  it('strictly increase with every acquisition of a resource', async () => {
    const l = locks();
    const name = resource();
    const tokens: number[] = [];
    for (let i = 0; i < 10; i++) {
      const lock = await l.acquire(name);
      tokens.push(lock.fencingToken);
      await lock.release();
    }

    expect(tokens).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('are counted per resource, in a counter key beside the lock key', async () => {
    const l = locks();
    const a = await l.acquire('fence-a');
    const b = await l.acquire('fence-b');

    expect([a.fencingToken, b.fencingToken]).toEqual([1, 1]);
    expect(await raw.get('lock:{fence-a}:fence')).toBe('1');
    await Promise.all([a.release(), b.release()]);
  });

  it('let the protected storage reject the write of a holder whose lock expired', async () => {
    /** The protected resource: remembers the highest token it has seen (Kleppmann). */
    class FencedStorage {
      value: string | undefined;
      private highest = 0;
      write(value: string, fencingToken: number): boolean {
        if (fencingToken < this.highest) return false;
        this.highest = fencingToken;
        this.value = value;
        return true;
      }
    }
    const storage = new FencedStorage();
    const l = locks({ autoExtend: false });
    const name = resource();

    const stale = await l.acquire(name);
    // The first holder stalls (GC pause, SIGSTOP): its lock expires...
    await raw.del(stale.key);
    // ...and a second holder acquires the lock and writes.
    const fresh = await l.acquire(name);
    expect(storage.write('fresh', fresh.fencingToken)).toBe(true);
    // The first holder wakes up, still believing it holds the lock, and writes.
    const accepted = storage.write('stale', stale.fencingToken);

    expect(fresh.fencingToken).toBeGreaterThan(stale.fencingToken);
    expect(accepted).toBe(false);
    expect(storage.value).toBe('fresh');
    await fresh.release();
  });

  it('are 0 and leave no counter key when fencing is off', async () => {
    const lock = await locks({ fencing: false }).acquire('unfenced');

    expect(lock.fencingToken).toBe(0);
    expect(await raw.exists('lock:{unfenced}:fence')).toBe(0);
    await lock.release();
  });
});

describe('executeWithLock', () => {
  it('runs fn under the lock, passes the fencing token, and releases', async () => {
    const l = locks();
    const name = resource();

    const result = await l.executeWithLock(name, async ({ fencingToken, lock }) => {
      expect(await raw.get(lock.key)).toBe(lock.token);
      return fencingToken;
    });

    expect(result).toBe(1);
    expect(await raw.exists(`lock:{${name}}`)).toBe(0);
  });

  it('keeps the lock alive past its ttl while fn runs (auto-extension)', async () => {
    const l = locks({ ttl: 300 });
    let stillHeld = false;

    await l.executeWithLock(resource(), async ({ lock, signal }) => {
      await delay(1_000); // more than three ttls
      stillHeld = (await raw.get(lock.key)) === lock.token && !signal.aborted;
    });

    expect(stillHeld).toBe(true);
  });

  it('aborts fn and rejects with LockLostError when the key is deleted behind its back', async () => {
    const l = locks({ ttl: 600 });
    let sawAbort: unknown;

    const run = l.executeWithLock(resource(), async ({ lock, signal }) => {
      await raw.del(lock.key);
      // The next extension (ttl / 3 later) finds the key gone.
      sawAbort = await aborted(signal);
      return 'finished';
    });

    await expect(run).rejects.toBeInstanceOf(LockLostError);
    expect(sawAbort).toBeInstanceOf(LockLostError);
  });

  it('declares the lock lost by its expiry when Redis stops answering', async () => {
    const own = await startRedis();
    const ownClient = new Redis({ ...own.options(), maxRetriesPerRequest: 1 });
    ownClient.on('error', () => {});
    const l = new DistributedLock({
      client: ownClient,
      ttl: 600,
      commandTimeout: 100,
      logger: quietLogger(),
    });
    try {
      const lock = await l.acquire('hung');
      own.pause(); // SIGSTOP: extensions time out
      const reason = await aborted(lock.signal);

      expect(reason).toBeInstanceOf(LockLostError);
      expect((reason as LockLostError).cause).toBeInstanceOf(Error);
      // Not before the lock could have expired in Redis, less the drift allowance.
      expect(performance.timeOrigin + performance.now()).toBeGreaterThanOrEqual(lock.expiresAt);
    } finally {
      own.resume();
      ownClient.disconnect();
      await own.stop();
    }
  });

  it('rethrows the error of fn and releases the lock', async () => {
    const l = locks();
    const name = resource();

    await expect(
      l.executeWithLock(name, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await raw.exists(`lock:{${name}}`)).toBe(0);
  });

  it('rejects with LockLostError when the lock expired while fn ran without extension', async () => {
    const l = locks({ ttl: 200, autoExtend: false });

    const run = l.executeWithLock(resource(), async ({ signal }) => {
      await aborted(signal);
      await delay(50);
      return 'late';
    });

    await expect(run).rejects.toBeInstanceOf(LockLostError);
  });
});

describe('withLock', () => {
  it('runs fn under the lock of a client', async () => {
    const name = resource();

    const seen = await withLock(client, name, async ({ lock }) => raw.get(lock.key));

    expect(seen).toMatch(/^[\w-]{22}$/);
    expect(await raw.exists(`lock:{${name}}`)).toBe(0);
  });

  it('applies the options it is given', async () => {
    const name = resource();

    const key = await withLock(client, name, ({ lock }) => lock.key, { prefix: 'jobs:' });

    expect(key).toBe(`jobs:{${name}}`);
  });
});
