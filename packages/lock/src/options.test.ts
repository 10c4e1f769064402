import { describe, expect, it, vi } from 'vitest';
import { DistributedLock } from './distributed-lock.js';
import { InvalidOptionsError, InvalidResourceError } from './errors.js';
import type { AcquireOptions, DistributedLockOptions } from './options.js';
import { scriptedClient } from './test-support/scripted-client.js';

const { client } = scriptedClient(() => 1);
const logger = { warn: vi.fn(), error: vi.fn() };

function construct(options: Record<string, unknown>): () => DistributedLock {
  return () => new DistributedLock({ client, logger, ...options } as DistributedLockOptions);
}

describe('DistributedLock options', () => {
  it('accepts a client alone and applies the defaults', () => {
    expect(new DistributedLock({ client })).toBeInstanceOf(DistributedLock);
  });

  it('accepts an array of clients (Redlock)', () => {
    expect(new DistributedLock({ client: [client, client, client] })).toBeInstanceOf(
      DistributedLock,
    );
  });

  it.each([
    ['client', { client: undefined }],
    ['client', { client: { get: () => {} } }],
    ['client', { client: [] }],
    ['prefix', { prefix: 42 }],
    ['prefix', { prefix: 'lock:{}' }],
    ['ttl', { ttl: 0 }],
    ['ttl', { ttl: 1.5 }],
    ['ttl', { ttl: Number.POSITIVE_INFINITY }],
    ['retry.retries', { retry: { retries: -1 } }],
    ['retry.retries', { retry: { retries: 2.5 } }],
    ['retry.baseDelay', { retry: { baseDelay: -1 } }],
    ['retry.maxDelay', { retry: { baseDelay: 100, maxDelay: 50 } }],
    ['retry.factor', { retry: { factor: 0.5 } }],
    ['retry.jitter', { retry: { jitter: 1.5 } }],
    ['retry.deadline', { retry: { deadline: 0 } }],
    ['retry', { retry: { tries: 3 } }],
    ['autoExtend', { autoExtend: 'yes' }],
    ['extendInterval', { ttl: 1_000, extendInterval: 1_000 }],
    ['driftFactor', { driftFactor: 0.9 }],
    ['commandTimeout', { commandTimeout: 0 }],
    ['fencing', { fencing: 1 }],
    ['clock', { clock: 5 }],
    ['random', { random: 0.5 }],
    ['randomBytes', { randomBytes: 'crypto' }],
    ['sleep', { sleep: 100 }],
    ['logger', { logger: { log: () => {} } }],
    ['timeout', { timeout: 5 }],
  ])('names %s in the InvalidOptionsError', (field, options) => {
    const create = construct(options);

    expect(create).toThrow(InvalidOptionsError);
    expect(create).toThrow(`Invalid DistributedLock options: ${field}`);
  });

  it('keeps the zod error as the cause, with the stable code', () => {
    try {
      construct({ ttl: -1 })();
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'E_INVALID_OPTIONS', name: 'InvalidOptionsError' });
      expect((error as Error).cause).toBeDefined();
    }
  });
});

describe('per-call options', () => {
  const locks = new DistributedLock({ client, logger, autoExtend: false });

  it.each([
    ['ttl', { ttl: 0 }],
    ['ttl', { ttl: '100' }],
    ['retry.retries', { retry: { retries: -2 } }],
    ['retry.factor', { retry: { factor: Number.NaN } }],
    ['retry.maxDelay', { retry: { maxDelay: 10 } }],
    ['retry.deadline', { retry: { deadline: -5 } }],
    ['autoExtend', { autoExtend: 1 }],
    ['extendInterval', { ttl: 1_000, extendInterval: 2_000 }],
    ['signal', { signal: {} }],
  ])('names %s in the InvalidOptionsError', async (field, options) => {
    const acquiring = locks.acquire('report', options as AcquireOptions);

    await expect(acquiring).rejects.toThrow(InvalidOptionsError);
    await expect(acquiring).rejects.toThrow(`Invalid acquire options: ${field}`);
  });

  it('rejects an extend ttl that is not a positive integer', async () => {
    const lock = await locks.acquire('report');

    await expect(lock.extend(-1)).rejects.toThrow(InvalidOptionsError);
  });

  it('rejects a lock that acquire() did not return', async () => {
    const fake = { resource: 'x', key: 'lock:{x}', token: 't' };

    await expect(locks.release(fake as never)).rejects.toThrow(InvalidOptionsError);
  });
});

describe('resources', () => {
  const locks = new DistributedLock({ client, logger, autoExtend: false });

  it.each([
    ['an empty string', ''],
    ['a non-string', 42],
    ['a name starting with "}" (empty Cluster hash tag)', '}x'],
  ])('rejects %s with InvalidResourceError', async (_, resource) => {
    await expect(locks.acquire(resource as string)).rejects.toMatchObject({
      code: 'E_INVALID_RESOURCE',
    });
    await expect(locks.acquire(resource as string)).rejects.toBeInstanceOf(InvalidResourceError);
  });

  it('accepts braces inside the name: the hash tag still covers both keys', async () => {
    const lock = await locks.acquire('user:{42}');

    expect(lock.key).toBe('lock:{user:{42}}');
  });
});
