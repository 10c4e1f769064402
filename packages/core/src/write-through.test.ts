import { describe, expect, it, vi } from 'vitest';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import { deferred, FakeTierError, MapTier, recordingLogger, setup } from './test-support/index.js';
import { type WriteThroughCacheError, writeThrough } from './write-through.js';

/** A map tier whose `set` fails (Redis refusing writes), while reads and deletes work. */
class ReadOnlyTier extends MapTier {
  override set(): void {
    throw new FakeTierError('OOM command not allowed');
  }
}

function cached(cache: ReturnType<typeof setup>['cache'], key: string): Promise<unknown> {
  return cache.get(key, () => undefined);
}

describe('writeThrough', () => {
  it('writes the source of truth first, then L1 and L2, and resolves to what write returned', async () => {
    const { cache, l1, l2 } = setup();
    const steps: string[] = [];
    cache.on('tier:error', () => steps.push('tier error'));

    const result = await writeThrough(
      cache,
      'user:1',
      { name: 'Ada' },
      {
        write: async (value) => {
          steps.push(`write ${value.name}`);
          expect(l2.peek('user:1')).toBeUndefined();
          return 1;
        },
      },
    );

    expect(result).toBe(1);
    expect(steps).toEqual(['write Ada']);
    expect(l1.peek('user:1')).toBeDefined();
    expect(await cached(cache, 'user:1')).toEqual({ name: 'Ada' });
  });

  it('passes the key to write and the ttl to the cache', async () => {
    const { cache, l2 } = setup();
    const write = vi.fn();

    await writeThrough(cache, 'k', 'v', { write, ttl: 30_000 });

    expect(write).toHaveBeenCalledWith('v', { key: 'k' });
    expect(l2.ttls.get('k')).toBe(30_000);
  });

  it('rejects with the source error and leaves the cache untouched when the write fails', async () => {
    const { cache } = setup();
    await cache.set('user:1', 'old');
    const boom = new Error('unique violation');

    await expect(
      writeThrough(cache, 'user:1', 'new', {
        write: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);

    expect(await cached(cache, 'user:1')).toBe('old');
  });

  it('invalidates the key instead of leaving the old value when the cache cannot take the new one', async () => {
    const l2 = new ReadOnlyTier('l2');
    const { cache } = setup({ l2 });
    l2.put('user:1', 'stale entry');
    const errors: WriteThroughCacheError[] = [];

    const result = await writeThrough(cache, 'user:1', 'new', {
      write: () => 'ok',
      onCacheError: (event) => errors.push(event),
    });

    expect(result).toBe('ok');
    expect(l2.peek('user:1')).toBeUndefined();
    expect(await cached(cache, 'user:1')).toBeUndefined();
    expect(errors).toEqual([
      { key: 'user:1', error: expect.any(FakeTierError), invalidated: true },
    ]);
  });

  it('logs a warning by default when the cache cannot take the value', async () => {
    const { cache } = setup({ l2: new ReadOnlyTier('l2') });
    const logger = recordingLogger();

    await writeThrough(cache, 'k', 'v', { write: () => {}, logger });

    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringMatching(/invalidated/) }),
    ]);
  });

  it('resolves, reporting the key as not invalidated, when the manager was closed', async () => {
    const { cache } = setup();
    await cache.close();
    const onCacheError = vi.fn();

    await writeThrough(cache, 'k', 'v', { write: () => {}, onCacheError });

    expect(onCacheError).toHaveBeenCalledWith({
      key: 'k',
      error: expect.objectContaining({ code: 'E_CACHE_CLOSED' }),
      invalidated: false,
    });
  });

  it('caches what write resolved to with cacheResult', async () => {
    const { cache } = setup();

    await writeThrough(
      cache,
      'user:1',
      { name: 'Ada' },
      {
        write: async (value) => ({ ...value, updatedAt: 42 }),
        cacheResult: true,
      },
    );

    expect(await cached(cache, 'user:1')).toEqual({ name: 'Ada', updatedAt: 42 });
  });

  it('runs write-throughs of one key in call order, so the cache ends with the last value', async () => {
    const { cache } = setup();
    const slow = deferred<void>();
    const source: string[] = [];
    const write = async (value: string): Promise<void> => {
      if (value === 'first') await slow.promise;
      source.push(value);
    };

    const first = writeThrough(cache, 'k', 'first', { write });
    const second = writeThrough(cache, 'k', 'second', { write });
    await Promise.resolve();
    expect(source).toEqual([]);
    slow.resolve();
    await Promise.all([first, second]);

    expect(source).toEqual(['first', 'second']);
    expect(await cached(cache, 'k')).toBe('second');
  });

  it('goes on with the next write of a key after one failed', async () => {
    const { cache } = setup();
    const failing = writeThrough(cache, 'k', 'a', {
      write: () => Promise.reject(new Error('no')),
    });
    const next = writeThrough(cache, 'k', 'b', { write: () => {} });

    await expect(failing).rejects.toThrow('no');
    await next;
    expect(await cached(cache, 'k')).toBe('b');
  });

  it('does not serialise writes of different keys', async () => {
    const { cache } = setup();
    const slow = deferred<void>();
    const started: string[] = [];
    const write = async (value: string): Promise<void> => {
      started.push(value);
      if (value === 'a') await slow.promise;
    };

    const a = writeThrough(cache, 'a', 'a', { write });
    const b = writeThrough(cache, 'b', 'b', { write });
    await b;

    expect(started).toEqual(['a', 'b']);
    slow.resolve();
    await a;
  });

  it('rejects an invalid key or a missing write function', async () => {
    const { cache } = setup();

    await expect(writeThrough(cache, '', 'v', { write: () => {} })).rejects.toBeInstanceOf(
      InvalidKeyError,
    );
    await expect(
      writeThrough(cache, 'k', 'v', {} as unknown as { write: () => void }),
    ).rejects.toBeInstanceOf(InvalidOptionsError);
  });
});
