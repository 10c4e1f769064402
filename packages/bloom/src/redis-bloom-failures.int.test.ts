import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bloomGuard } from './bloom-guard.js';
import { BloomUnavailableError } from './errors.js';
import { type RedisBloom, redisBloom } from './redis-bloom.js';

let server: RedisServer;
let client: Redis;
let filter: RedisBloom;

beforeEach(async () => {
  server = await startRedis();
  // Fail fast while disconnected instead of queueing commands for ioredis's reconnect.
  client = new Redis({
    ...server.options(),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: true,
  });
  client.on('error', () => {});
  await client.connect();
  filter = redisBloom({ client, key: 'bloom:users', expectedItems: 1000 });
  await filter.clear();
  await filter.addMany(['user:1', 'user:2']);
});

afterEach(async () => {
  client.disconnect();
  await server.stop();
});

describe('a shared filter when Redis fails', () => {
  it('rejects has with BloomUnavailableError keeping the cause', async () => {
    await server.kill();
    const error = await filter.has('user:1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BloomUnavailableError);
    expect((error as BloomUnavailableError).cause).toBeInstanceOf(Error);
  });

  it('guard fails open: a killed Redis never makes an existing key absent', async () => {
    const onError = vi.fn();
    const guard = bloomGuard({ filter, onError });
    await server.kill();
    expect(await guard.mightExist('user:1')).toBe(true);
    expect(await guard.mightExist('never-added')).toBe(true);
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(BloomUnavailableError);
    expect(guard.stats.failedOpen).toBe(2);
  });

  it('guard fails open after its timeout when Redis hangs', async () => {
    const onError = vi.fn();
    const guard = bloomGuard({ filter, timeout: 100, onError });
    server.pause();
    try {
      expect(await guard.mightExist('never-added')).toBe(true);
      expect(onError.mock.calls[0]?.[0].message).toMatch(/more than 100 ms/);
    } finally {
      server.resume();
    }
  });

  it('says every key might exist after a restart lost the filter', async () => {
    const onMissing = vi.fn();
    const shared = redisBloom({ client, key: 'bloom:users', expectedItems: 1000, onMissing });
    await server.restart(); // no persistence: the bitmap is gone
    await vi.waitFor(() => expect(client.status).toBe('ready'));
    await shared.add('user:3'); // must not resurrect a filter holding only user:3
    expect(await shared.hasMany(['user:1', 'user:2', 'user:3'])).toEqual([true, true, true]);
    expect(onMissing).toHaveBeenCalledWith('bloom:users');
  });

  it('answers again once Redis is back', async () => {
    await server.kill();
    await expect(filter.has('user:1')).rejects.toThrow(BloomUnavailableError);
    await server.restart();
    await vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 10_000 });
    await filter.rebuild(['user:1']);
    expect(await filter.hasMany(['user:1', 'user:2'])).toEqual([true, false]);
  });
});
