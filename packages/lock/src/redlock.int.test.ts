import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DistributedLock } from './distributed-lock.js';
import { LockNotAcquiredError } from './errors.js';
import type { DistributedLockOptions } from './options.js';

const SERVERS = 5;

let servers: RedisServer[] = [];
let clients: Redis[] = [];

/** Fresh clients per test: a client of a killed server may still be reconnecting. */
function connect(): Redis[] {
  clients = servers.map((server) => {
    const client = new Redis({ ...server.options(), maxRetriesPerRequest: 1 });
    // Reconnection errors of killed servers are expected.
    client.on('error', () => {});
    return client;
  });
  return clients;
}

function redlock(options: Partial<DistributedLockOptions> = {}): DistributedLock {
  return new DistributedLock({
    client: connect(),
    commandTimeout: 200,
    logger: { warn: vi.fn(), error: vi.fn() },
    ...options,
  });
}

beforeAll(async () => {
  servers = await Promise.all(Array.from({ length: SERVERS }, () => startRedis()));
});

afterEach(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(servers.map((server) => (server.pid === undefined ? server.restart() : null)));
  const admins = servers.map((server) => new Redis(server.options()));
  await Promise.all(admins.map((admin) => admin.flushall()));
  for (const admin of admins) admin.disconnect();
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

/** The lock key's value on every server (`null` where absent or unreachable). */
function valuesOf(key: string): Promise<(string | null)[]> {
  return Promise.all(
    servers.map(async (server) => {
      if (server.pid === undefined) return null;
      const admin = new Redis(server.options());
      try {
        return await admin.get(key);
      } finally {
        admin.disconnect();
      }
    }),
  );
}

describe('Redlock over 5 independent servers', () => {
  it('holds the lock with the same token on every server and releases it everywhere', async () => {
    const lock = await redlock().acquire('report');

    expect(await valuesOf(lock.key)).toEqual(Array(SERVERS).fill(lock.token));
    expect(await lock.release()).toBe(true);
    expect(await valuesOf(lock.key)).toEqual(Array(SERVERS).fill(null));
  });

  it('keeps a second contender out', async () => {
    const locks = redlock();
    const held = await locks.acquire('report');

    await expect(locks.acquire('report', { retry: { retries: 1, baseDelay: 10 } })).rejects.toThrow(
      LockNotAcquiredError,
    );
    await held.release();
  });

  it('still acquires with 2 of 5 servers killed (quorum 3)', async () => {
    await Promise.all([servers[0]!.kill(), servers[3]!.kill()]);
    const locks = redlock();

    const started = performance.now();
    const lock = await locks.acquire('report');
    const elapsed = performance.now() - started;

    expect(elapsed).toBeLessThan(1_000);
    expect(await valuesOf(lock.key)).toEqual([null, lock.token, lock.token, null, lock.token]);
    expect(await lock.release()).toBe(true);
  });

  it('fails cleanly, in bounded time, with 3 of 5 servers killed', async () => {
    await Promise.all([servers[0]!.kill(), servers[2]!.kill(), servers[4]!.kill()]);
    const locks = redlock({ retry: { retries: 2, baseDelay: 50 } });

    const started = performance.now();
    const error = await locks.acquire('report').catch((e: unknown) => e);
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(LockNotAcquiredError);
    expect(error).toMatchObject({ code: 'E_LOCK_NOT_ACQUIRED', attempts: 3 });
    expect((error as Error).message).toContain('2 of 5 instances granted it (3 needed)');
    // 3 attempts bounded by commandTimeout (200 ms) plus 50 + 100 ms of backoff.
    expect(elapsed).toBeLessThan(2_000);
    // What the failed attempts took on the live servers is given back (without delaying
    // the rejection).
    await vi.waitFor(async () =>
      expect(await valuesOf('lock:{report}')).toEqual([null, null, null, null, null]),
    );
  });

  it('keeps fencing tokens increasing when the quorum changes', async () => {
    const locks = redlock();
    // One server has counted far ahead of the others (e.g. attempts that lost the quorum).
    const ahead = new Redis(servers[0]!.options());
    await ahead.set('lock:{report}:fence', '100');
    ahead.disconnect();

    const first = await locks.acquire('report');
    await first.release();
    await servers[0]!.kill();
    const second = await locks.acquire('report');

    expect(first.fencingToken).toBe(101);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });

  it('extends the lock on a quorum', async () => {
    const locks = redlock({ ttl: 2_000, autoExtend: false });
    const lock = await locks.acquire('report');
    await servers[1]!.kill();

    await lock.extend(60_000);

    const admin = new Redis(servers[2]!.options());
    expect(await admin.pttl(lock.key)).toBeGreaterThan(50_000);
    admin.disconnect();
    await lock.release();
  });
});
